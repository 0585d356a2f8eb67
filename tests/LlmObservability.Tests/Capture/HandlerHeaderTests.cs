using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using LlmObservability.Capture;

namespace LlmObservability.Tests.Capture;

/// <summary>The headers the handler reads raw (API key and attempt when the payload is built; media type on the caller's path) and the ones it passes on.</summary>
public class HandlerHeaderTests
{
    private static string Sha256(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    [TestCase("Authorization", "Bearer sk-proj-first0123456789abcdef", "sk-proj-first0123456789abcdef")]
    [TestCase("Authorization", "  bearer    sk-proj-spaced0123456789abc  ", "sk-proj-spaced0123456789abc")]
    [TestCase("Authorization", "BEARER\tsk-tab-0123456789abcdefgh", "sk-tab-0123456789abcdefgh")]
    [TestCase("api-key", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")]
    [TestCase("x-api-key", "sk-ant-api03-abcdefghijklmnop", "sk-ant-api03-abcdefghijklmnop")]
    public async Task The_key_is_read_from_the_raw_header_and_described_by_prefix_and_hash(string header, string value, string key)
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        var request = new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl) { Content = new StringContent(Harness.SimpleChatBody(), Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation(header, value);

        using var response = await harness.Client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ApiKey!.Prefix, Is.EqualTo(key[..Math.Min(8, key.Length / 4)]));
        Assert.That(payload.ApiKey.Sha256, Is.EqualTo(Sha256(key)));
    }

    [Test]
    public async Task Calls_with_different_keys_in_turn_are_each_described_by_their_own_key()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        string[] keys = ["sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa", "sk-proj-bbbbbbbbbbbbbbbbbbbbbbbb", "sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa", "sk-svcacct-cccccccccccccccccccccc"];
        foreach (var key in keys)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl) { Content = new StringContent(Harness.SimpleChatBody(), Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await harness.Client.SendAsync(request);
            await response.Content.ReadAsByteArrayAsync();
        }
        await harness.Dispatcher.FlushAsync();

        Assert.That(harness.Sink.Payloads.Select(p => p.ApiKey!.Sha256), Is.EqualTo(keys.Select(Sha256)));
        Assert.That(harness.Sink.Payloads.Select(p => p.ApiKey!.Prefix), Is.EqualTo(new[] { "sk-proj-", "sk-proj-", "sk-proj-", "sk-svcac" }));
    }

    [TestCase(new[] { "request-id:r1", "x-amzn-RequestId:a1", "X-Request-ID:x1" }, "x1")]
    [TestCase(new[] { "x-amzn-requestid:a1", "Request-Id:r1" }, "r1")]
    [TestCase(new[] { "x-amzn-RequestId:a1" }, "a1")]
    [TestCase(new[] { "x-request-idx:no", "x-requestid:no" }, null)]
    public async Task The_request_id_is_the_first_known_name_in_order_of_preference_whatever_the_header_order(string[] headers, string? expected)
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json", configure: r =>
        {
            foreach (var header in headers) r.Headers.TryAddWithoutValidation(header[..header.IndexOf(':')], header[(header.IndexOf(':') + 1)..]);
            r.Headers.TryAddWithoutValidation("X-RateLimit-Remaining-Requests", "59");
            r.Headers.TryAddWithoutValidation("anthropic-ratelimit-tokens-limit", "1000");
            r.Headers.TryAddWithoutValidation("Retry-After-Ms", "250");
            r.Headers.TryAddWithoutValidation("x-ratelimitless", "no");
        }));
        var request = new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl) { Content = new StringContent(Harness.SimpleChatBody(), Encoding.UTF8, "application/json") };

        using var response = await harness.Client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.RequestId, Is.EqualTo(expected));
        Assert.That(payload.RateLimit, Is.EquivalentTo(new Dictionary<string, string>
        {
            ["x-ratelimit-remaining-requests"] = "59",
            ["anthropic-ratelimit-tokens-limit"] = "1000",
            ["retry-after-ms"] = "250",
        }));
    }

    [TestCase(new[] { "x-api-key:xk", "api-key:ak", "Authorization:Bearer bk" }, "bk", 1)]
    [TestCase(new[] { "x-goog-api-key:gk", "X-Api-Key:xk", "x-stainless-retry-count:2" }, "xk", 3)]
    [TestCase(new[] { "x-goog-api-key:gk", "x-api-key:xk", "API-KEY:ak" }, "ak", 1)]
    [TestCase(new[] { "Authorization:Basic dXNlcjpwYXNzd29yZA==", "x-goog-api-key:gk" }, "gk", 1)]
    [TestCase(new[] { "Authorization:Bearer   ", "x-stainless-retry-count:-1" }, "", 1)]
    [TestCase(new[] { "X-Stainless-Retry-Count:0", "x-stainless-retry-countx:7", "Authorization:Bearer bk" }, "bk", 1)]
    [TestCase(new[] { "x-stainless-retry-count:one" }, "", 1)]
    public void The_key_and_attempt_come_from_one_pass_whatever_the_header_order(string[] headers, string key, int attempt)
    {
        // Typed and raw values alike: one pass over the raw headers gives the same answer as a lookup per name did.
        using var request = new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl);
        foreach (var header in headers) request.Headers.TryAddWithoutValidation(header[..header.IndexOf(':')], header[(header.IndexOf(':') + 1)..]);

        var (apiKey, attempts) = CallHeaders.ReadRequest(request.Headers);

        Assert.That(apiKey.ToString(), Is.EqualTo(key));
        Assert.That(attempts, Is.EqualTo(attempt));
    }

    [Test]
    public void A_typed_bearer_header_is_read_through_its_raw_form()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-proj-typed0123456789");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));

        Assert.That(CallHeaders.ReadRequest(request.Headers).ApiKey.ToString(), Is.EqualTo("sk-proj-typed0123456789"));
    }

    [Test]
    public async Task Basic_credentials_are_not_a_key_and_a_key_header_beside_them_is()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        var request = new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl) { Content = new StringContent(Harness.SimpleChatBody(), Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNzd29yZA==");
        using var response = await harness.Client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        Assert.That((await harness.SinglePayloadAsync()).ApiKey, Is.Null);
    }

    [Test]
    public async Task A_stream_with_media_type_parameters_is_parsed_and_the_caller_sees_the_content_headers_as_sent()
    {
        var events = StubHandler.SseEvents("openai/chat-stream.sse");
        var inner = new StubHandler((_, _) =>
        {
            var response = StubHandler.SseResponse(new ChunkedStream(events));
            response.Content.Headers.Remove("Content-Type");
            response.Content.Headers.TryAddWithoutValidation("Content-Type", "Text/Event-Stream; charset=utf-8");
            response.Content.Headers.TryAddWithoutValidation("Content-Language", ["en", "fr"]);
            return Task.FromResult(response);
        });
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Stream, Is.True);
        Assert.That(payload.Response!.Text, Is.Not.Empty, "the events were parsed as a stream");
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("Text/Event-Stream"));
        Assert.That(response.Content.Headers.ContentType.CharSet, Is.EqualTo("utf-8"));
        Assert.That(response.Content.Headers.ContentLanguage, Is.EqualTo(new[] { "en", "fr" }));
    }

    [TestCase(new[] { "gzip" }, "gzip")]
    [TestCase(new[] { "gzip", "br" }, "gzip,br")]
    [TestCase(new[] { "gzip, br" }, "gzip,br")]
    [TestCase(new string[0], null)]
    public void The_content_headers_are_read_raw_in_the_one_pass_that_copies_them(string[] encodings, string? expected)
    {
        var inner = new ByteArrayContent(new byte[2136]);
        inner.Headers.TryAddWithoutValidation("Content-Type", "text/event-stream; charset=utf-8");
        foreach (var encoding in encodings) inner.Headers.TryAddWithoutValidation("Content-Encoding", encoding);
        var copy = new ByteArrayContent([]);

        var facts = LlmObservability.Capture.ObservedContent.CopyHeaders(inner.Headers, copy.Headers);

        Assert.That(facts.MediaType.ToString(), Is.EqualTo("text/event-stream"));
        Assert.That(facts.ContentEncoding(inner.Headers), Is.EqualTo(expected));
        Assert.That(facts.ContentLength, Is.Null, "no Content-Length header was sent");
        Assert.That(facts.Length(inner.Headers), Is.EqualTo(2136), "an in-memory content is asked for its length");
        Assert.That(copy.Headers.ContentType!.ToString(), Is.EqualTo("text/event-stream; charset=utf-8"));
        Assert.That(copy.Headers.ContentEncoding, Is.EqualTo(inner.Headers.ContentEncoding));

        var sent = new ByteArrayContent([]);
        sent.Headers.TryAddWithoutValidation("Content-Length", "512");
        Assert.That(LlmObservability.Capture.ObservedContent.CopyHeaders(sent.Headers, new ByteArrayContent([]).Headers).Length(sent.Headers), Is.EqualTo(512), "a received length is read as sent");
    }
}
