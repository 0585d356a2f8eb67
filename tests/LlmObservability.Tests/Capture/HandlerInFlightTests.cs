using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>
/// When the request body is bytes in memory (what SDKs send) and no span listens, the handler lets the request leave
/// first and makes the record and copies the body while the request is on its way. What the record says must not
/// change: the start is taken before the send, the headers are those the caller sent, the body is the caller's, and a
/// send that fails at once is still recorded.
/// </summary>
public class HandlerInFlightTests
{
    /// <summary>An inner handler that is not an async method: what it throws, it throws synchronously.</summary>
    private sealed class InlineHandler(Func<HttpRequestMessage, Task<HttpResponseMessage>> send) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => send(request);

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) => send(request).GetAwaiter().GetResult();
    }

    private static HttpResponseMessage ChatResponse()
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Fixture.Bytes("openai/chat-response.json")) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return response;
    }

    [TestCase("""{"model":"gpt-4o","stream":true,"messages":[]}""", true)]
    [TestCase("{\"model\":\"gpt-4o\",\"stream\" :\n\ttrue}", true)]
    [TestCase("""{"messages":[{"role":"user","content":"the \"stream\" word"}],"stream":true}""", true)]
    [TestCase("""{"model":"gpt-4o","stream":false}""", false)]
    [TestCase("""{"model":"gpt-4o","stream_options":{"include_usage":true}}""", false)]
    [TestCase("""{"model":"gpt-4o","streaming":true}""", false)]
    [TestCase("""{"stream":"true"}""", false)]
    [TestCase("", false)]
    public void A_request_that_asks_for_a_stream_is_recognised_from_its_body(string body, bool asks) =>
        Assert.That(LlmObservabilityHandler.AsksForStream(Encoding.UTF8.GetBytes(body)), Is.EqualTo(asks));

    [Test]
    public async Task The_start_is_taken_before_the_request_leaves()
    {
        Harness? harness = null;
        await using var h = harness = new Harness(new InlineHandler(_ =>
        {
            harness!.Time.Advance(TimeSpan.FromMilliseconds(40)); // the send itself takes time
            return Task.FromResult(ChatResponse());
        }));
        var before = h.Time.GetUtcNow();

        using var response = await h.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await h.SinglePayloadAsync();

        Assert.That(payload.StartTime, Is.EqualTo(before));
        Assert.That(payload.LatencyMs, Is.EqualTo(40).Within(0.001));
        Assert.That(Guid.Parse(payload.Id).Version, Is.EqualTo(7));
        Assert.That(payload.Messages!.Single().Content, Is.EqualTo("Say hello"));
    }

    [Test]
    public async Task The_body_is_the_callers_and_the_headers_the_ones_sent_when_an_inner_handler_changes_them_as_it_sends()
    {
        var sentBody = Encoding.UTF8.GetBytes("""{"model":"gpt-4o","messages":[{"role":"user","content":"rewritten"}]}""");
        await using var harness = new Harness(new InlineHandler(request =>
        {
            // An inner handler (auth, compression, a proxy) rewrites the request on its way out.
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-proj-inner-handler-key-0000000000");
            request.Headers.Remove("x-stainless-retry-count");
            request.Content = new ByteArrayContent(sentBody);
            return Task.FromResult(ChatResponse());
        }));
        var request = Harness.ChatRequest(Harness.SimpleChatBody());
        request.Headers.TryAddWithoutValidation("x-stainless-retry-count", "1");

        using var response = await harness.Client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        // The body as the caller wrote it; the headers as they went out (read when the payload is built).
        Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o-mini"));
        Assert.That(payload.Messages!.Single().Content, Is.EqualTo("Say hello"));
        Assert.That(payload.ApiKey!.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("sk-proj-inner-handler-key-0000000000"u8))));
        Assert.That(payload.Attempt, Is.EqualTo(1));
    }

    [Test]
    public async Task The_key_an_inner_token_handler_sets_after_waiting_for_its_token_is_recorded()
    {
        // A token handler inside ours (services.AddHttpClient(...).AddLlmObservability().AddHttpMessageHandler<TokenHandler>()):
        // it sets Authorization only after an await, so the caller's request has no key when our handler sees it.
        await using var harness = new Harness(new InlineHandler(async request =>
        {
            await Task.Delay(1);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-proj-from-the-token-handler-000000");
            return ChatResponse();
        }));
        var request = Harness.ChatRequest(Harness.SimpleChatBody());
        request.Headers.Authorization = null;

        using var response = await harness.Client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ApiKey, Is.Not.Null);
        Assert.That(payload.ApiKey!.Prefix, Is.EqualTo("sk-proj-"));
        Assert.That(payload.ApiKey.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("sk-proj-from-the-token-handler-000000"u8))));
    }

    [Test]
    public async Task A_send_that_throws_at_once_reaches_the_caller_unchanged_and_is_recorded_with_the_request()
    {
        var thrown = new HttpRequestException(HttpRequestError.NameResolutionError, "No such host is known (api.openai.com:443)");
        await using var harness = new Harness(new InlineHandler(_ => throw thrown));

        var caught = Assert.ThrowsAsync<HttpRequestException>(() => harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody())));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(caught, Is.SameAs(thrown));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Code, Is.EqualTo("NameResolutionError"));
        Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o-mini"));
        Assert.That(payload.Messages!.Single().Content, Is.EqualTo("Say hello"));
    }

    [Test]
    public async Task A_body_the_inner_handler_disposed_as_it_sent_it_leaves_a_note_and_the_call_is_untouched()
    {
        await using var harness = new Harness(new InlineHandler(request =>
        {
            request.Content!.Dispose(); // sent and let go before the record is made
            return Task.FromResult(ChatResponse());
        }));

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var body = await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(body, Is.EqualTo(Fixture.Bytes("openai/chat-response.json")));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.PromptTokens, Is.GreaterThan(0), "the response is recorded");
        Assert.That(payload.Error!.Message, Does.Contain("request body could not be read: ObjectDisposedException"));
    }

    [Test]
    public async Task A_response_that_arrives_while_the_record_is_made_is_recorded_whole()
    {
        // The inner handler answers on another thread as soon as it is called, racing the in-flight bookkeeping.
        await using var harness = new Harness(new InlineHandler(_ => Task.Run(ChatResponse)));

        for (var i = 0; i < 50; i++)
        {
            using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
            await response.Content.ReadAsByteArrayAsync();
        }
        await harness.Dispatcher.FlushAsync();

        Assert.That(harness.Sink.Payloads, Has.Count.EqualTo(50));
        Assert.That(harness.Sink.Payloads.Select(p => p.Id).Distinct().Count(), Is.EqualTo(50));
        Assert.That(harness.Sink.Payloads, Has.All.Matches<StandardLoggingPayload>(p =>
            p.Status == LlmCallStatus.Success && p.PromptTokens is > 0 && p.Messages!.Single().Content == "Say hello"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_body_over_the_cap_is_noted_and_not_read(bool synchronous)
    {
        await using var harness = new Harness(new InlineHandler(_ => Task.FromResult(ChatResponse())), new LlmObservabilityOptions { MaxRequestCaptureBytes = 64 });

        using var response = synchronous
            ? harness.Client.Send(Harness.ChatRequest(Harness.SimpleChatBody()))
            : await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Messages, Is.Null.Or.Empty);
        Assert.That(payload.Error!.Type, Is.EqualTo("capture_note"));
        Assert.That(payload.Error.Message, Does.Contain("over the capture cap of 64; not read").And.Not.Contain("not kept"));
    }
}
