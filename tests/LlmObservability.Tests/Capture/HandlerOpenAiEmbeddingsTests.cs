using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>OpenAI Embeddings through the handler: counts and usage recorded, vectors never kept, however large the body.</summary>
public class HandlerOpenAiEmbeddingsTests
{
    private const string Url = "https://api.openai.com/v1/embeddings";

    private static HttpResponseMessage JsonResponse(byte[] body, int chunkSize = int.MaxValue)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new ChunkedStream(StubHandler.Split(body, Math.Min(chunkSize, Math.Max(body.Length, 1))))) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return response;
    }

    [TestCase(int.MaxValue)]
    [TestCase(7)]
    [TestCase(1)]
    public async Task An_embedding_call_records_model_counts_and_usage_but_no_vector(int chunkSize)
    {
        var inner = new StubHandler((_, _) => Task.FromResult(JsonResponse(Fixture.Bytes("openai/embeddings-response.json"), chunkSize)));
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("openai/embeddings-response.json")), "the caller gets every byte");
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("embedding"));
            Assert.That(payload.Provider, Is.EqualTo("openai"));
            Assert.That(payload.Endpoint, Is.EqualTo("/embeddings"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("text-embedding-3-small"));
            Assert.That(payload.ResponseModel, Is.EqualTo("text-embedding-3-small"));
            Assert.That(payload.PromptTokens, Is.EqualTo(18));
            Assert.That(payload.TotalTokens, Is.EqualTo(18));
            Assert.That(payload.CompletionTokens, Is.EqualTo(0), "embeddings have no output tokens");
            Assert.That(payload.ModelParameters!["input_count"].GetInt32(), Is.EqualTo(2));
            Assert.That(payload.ModelParameters["dimensions"].GetInt32(), Is.EqualTo(8));
            Assert.That(payload.ModelParameters["encoding_format"].GetString(), Is.EqualTo("float"));
            Assert.That(payload.ModelParameters["user"].GetString(), Is.EqualTo("user-1234"));
            Assert.That(payload.ModelParameters.ContainsKey("input"), Is.False);
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[]
            {
                ("user", "The food was delicious and the waiter was friendly."),
                ("user", "Le repas était délicieux."),
            }));
            Assert.That(payload.Response!.Text, Is.EqualTo("[2 embeddings]"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.TtftMs, Is.Not.Null, "a whole body's first byte");
        });
        var json = LlmPayloadJson.Serialize(payload);
        Assert.That(json, Does.Not.Contain("0.0023064255").And.Not.Contain("-0.011935396").And.Not.Contain("embedding\":["));
    }

    private static byte[] LargeResponse(int count, int dimensions, bool base64)
    {
        var random = new Random(42);
        var body = new StringBuilder("{\n  \"object\": \"list\",\n  \"data\": [\n");
        for (var i = 0; i < count; i++)
        {
            if (i > 0) body.Append(",\n");
            body.Append("    {\"object\": \"embedding\", \"index\": ").Append(i).Append(", \"embedding\": ");
            if (base64)
            {
                var floats = new float[dimensions];
                for (var d = 0; d < dimensions; d++) floats[d] = (float)(random.NextDouble() - 0.5);
                body.Append('"').Append(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(floats.AsSpan()))).Append('"');
            }
            else
            {
                body.Append('[');
                for (var d = 0; d < dimensions; d++) body.Append(d == 0 ? "" : ", ").Append((random.NextDouble() - 0.5).ToString("R", CultureInfo.InvariantCulture));
                body.Append(']');
            }
            body.Append('}');
        }
        body.Append("\n  ],\n  \"model\": \"text-embedding-3-large\",\n  \"usage\": {\"prompt_tokens\": 4321, \"total_tokens\": 4321}\n}\n");
        return Encoding.UTF8.GetBytes(body.ToString());
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_batch_far_larger_than_the_capture_cap_still_yields_its_usage(bool base64)
    {
        var body = LargeResponse(count: 300, dimensions: 1024, base64);
        Assert.That(body.Length, Is.GreaterThan(1024 * 1024), "over the default 1 MiB capture cap");
        var inner = new StubHandler((_, _) => Task.FromResult(JsonResponse(body, chunkSize: 16 * 1024)));
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.Post(Url, "{\"model\":\"text-embedding-3-large\",\"input\":[\"a\",\"b\"]}"));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.PromptTokens, Is.EqualTo(4321));
            Assert.That(payload.ResponseModel, Is.EqualTo("text-embedding-3-large"));
            Assert.That(payload.Response!.Text, Is.EqualTo("[300 embeddings]"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null, "nothing was over any cap: the vectors were never kept");
        });
    }

    [Test]
    public async Task A_caller_that_stops_after_the_last_byte_without_the_final_read_is_complete()
    {
        var body = Fixture.Bytes("openai/embeddings-response.json");
        var inner = new StubHandler((_, _) => Task.FromResult(JsonResponse(body)));
        await using var harness = new Harness(inner);
        using (var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.That(await stream.ReadAsync(new byte[100_000]), Is.EqualTo(body.Length));
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.PromptTokens, Is.EqualTo(18));
    }

    [Test]
    public async Task A_gzip_body_is_kept_and_decoded_instead_of_skimmed_and_still_keeps_no_vector()
    {
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(Fixture.Bytes("openai/embeddings-response.json"));
        var inner = new StubHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(compressed.ToArray()) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            response.Content.Headers.ContentEncoding.Add("gzip");
            return Task.FromResult(response);
        });
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.PromptTokens, Is.EqualTo(18));
        Assert.That(payload.Response!.Text, Is.EqualTo("[2 embeddings]"));
        Assert.That(payload.Error, Is.Null, "no 'stream is gzip-encoded' note for a whole body");
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain("0.0023064255"));
    }

    [TestCase("[[1,2,3],[4,5]]", new[] { "[3 tokens]", "[2 tokens]" })]
    [TestCase("[1,2,3,4]", new[] { "[4 tokens]" })]
    [TestCase("\"one text\"", new[] { "one text" })]
    public async Task Token_arrays_are_counted_never_listed(string input, string[] expected)
    {
        await using var harness = new Harness(StubHandler.Json("openai/embeddings-response.json"));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, "{\"model\":\"text-embedding-3-small\",\"input\":" + input + "}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Messages!.Select(m => m.Content), Is.EqualTo(expected));
        Assert.That(payload.ModelParameters!["input_count"].GetInt32(), Is.EqualTo(expected.Length));
    }

    [Test]
    public async Task Without_message_logging_neither_inputs_nor_the_count_note_are_kept()
    {
        await using var harness = new Harness(StubHandler.Json("openai/embeddings-response.json"), new LlmObservabilityOptions { LogMessages = false });
        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Messages, Is.Null);
        Assert.That(payload.Response, Is.Null);
        Assert.That(payload.PromptTokens, Is.EqualTo(18));
        Assert.That(payload.ModelParameters!["input_count"].GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public async Task An_error_body_is_kept_and_parsed_as_usual()
    {
        await using var harness = new Harness(StubHandler.Json("openai/error-401.json", HttpStatusCode.Unauthorized));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Code, Is.EqualTo("invalid_api_key"));
        Assert.That(payload.Error.Body, Does.Contain("invalid_api_key"));
    }

    /// <summary>A gateway's 200 error body is skimmed like any 2xx JSON body; it is still read as an error body.</summary>
    [TestCase(int.MaxValue)]
    [TestCase(5)]
    public async Task An_error_body_with_status_200_is_a_failure(int chunkSize)
    {
        const string body = """{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Example"}}}""";
        var inner = new StubHandler((_, _) => Task.FromResult(JsonResponse(Encoding.UTF8.GetBytes(body), chunkSize)));
        await using var harness = new Harness(inner);
        using (var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json"))))
        {
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(body));
        }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
        Assert.That(payload.Error!.Type, Is.EqualTo("response_error"));
        Assert.That(payload.Error.Code, Is.EqualTo("502"));
        Assert.That(payload.Error.Message, Is.EqualTo("Provider returned error"));
        Assert.That(payload.Error.Body, Is.EqualTo(body));
    }

    [Test]
    public async Task A_body_cut_short_is_a_success_with_a_note_and_no_usage()
    {
        var whole = Fixture.Bytes("openai/embeddings-response.json");
        var cut = whole[..(whole.Length / 2)];
        var inner = new StubHandler((_, _) => Task.FromResult(JsonResponse(cut, chunkSize: 64)));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(cut));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success), "the caller got a 200 and no error");
        Assert.That(payload.Error!.Message, Does.Contain("response body ended before its JSON did"));
        Assert.That(payload.PromptTokens, Is.Null);
    }

    [TestCase("<html>ok</html>")]
    [TestCase("[1,2,3]")]
    [TestCase("{\"data\":\"x\",\"usage\":7}")]
    [TestCase("{\"data\":[{\"embedding\":[1,2]}],\"usage\":{\"prompt_tokens\":\"many\"}}")]
    public async Task A_success_body_of_an_unexpected_shape_does_not_throw(string body)
    {
        var inner = new StubHandler((_, _) => Task.FromResult(JsonResponse(Encoding.UTF8.GetBytes(body), chunkSize: 3)));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/embeddings-request.json")));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.PromptTokens, Is.Null);
    }
}
