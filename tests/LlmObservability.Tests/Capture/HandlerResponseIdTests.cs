using System.Diagnostics;
using LlmObservability.Payload;
using LlmObservability.Telemetry;

namespace LlmObservability.Tests.Capture;

/// <summary>
/// The provider's ID of its response (what the SDK shows the caller as <c>completion.Id</c>) reaches the payload's
/// <c>response_id</c> and the span's <c>gen_ai.response.id</c>, whole and streamed, for every provider that sends one.
/// </summary>
public class HandlerResponseIdTests
{
    private const string Gemini = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash";
    private const string Azure = "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21";

    private static IEnumerable<TestCaseData> WholeBodies()
    {
        yield return new TestCaseData(Harness.ChatUrl, "openai/chat-request.json", "openai/chat-response.json", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT").SetName("OpenAI chat");
        yield return new TestCaseData("https://api.openai.com/v1/responses", "openai/responses-request.json", "openai/responses-response.json", "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b").SetName("OpenAI Responses");
        yield return new TestCaseData("https://api.openai.com/v1/completions", "openai/completions-request.json", "openai/completions-response.json", "cmpl-uqkvlQyYK7bGYrRHQ0eXlWi7").SetName("OpenAI completions");
        yield return new TestCaseData(Azure, "openai/chat-request.json", "azure_openai/chat-response.json", "chatcmpl-AR8bC1xYzQwErTyUiOpAsDfGhJkLz").SetName("Azure OpenAI chat");
        yield return new TestCaseData("https://api.anthropic.com/v1/messages", "anthropic/messages-request.json", "anthropic/messages-response.json", "msg_01XFDUDYJgAACzvnptvVoYEL").SetName("Anthropic Messages");
        yield return new TestCaseData(Gemini + ":generateContent", "gemini/generate-content-request.json", "gemini/generate-content-response.json", "mAitaLmkHPPlz7IPvtfUqQ4").SetName("Gemini");
        yield return new TestCaseData("https://api.openai.com/v1/embeddings", "openai/embeddings-request.json", "openai/embeddings-response.json", null).SetName("OpenAI embeddings: none sent");
        yield return new TestCaseData("http://localhost:11434/api/chat", "ollama/chat-request.json", "ollama/chat-response.json", null).SetName("Ollama: none sent");
    }

    private static IEnumerable<TestCaseData> Streams()
    {
        yield return new TestCaseData(Harness.ChatUrl, Harness.SimpleChatBody(stream: true), "openai/chat-stream.sse", "chatcmpl-123").SetName("OpenAI chat stream");
        yield return new TestCaseData("https://api.openai.com/v1/responses", """{"model":"gpt-4.1","input":"hi","stream":true}""", "openai/responses-stream.sse", "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654").SetName("OpenAI Responses stream");
        yield return new TestCaseData("https://api.openai.com/v1/completions", """{"model":"gpt-3.5-turbo-instruct","prompt":"hi","stream":true}""", "openai/completions-stream.sse", "cmpl-8FNxRq2Kl9kJ2VvTzW5iK3Ypm1aQ").SetName("OpenAI completions stream");
        // Azure's first chunk (prompt filter results) has an empty id: the first chunk with one counts.
        yield return new TestCaseData(Azure, Harness.SimpleChatBody(stream: true), "azure_openai/chat-stream.sse", "chatcmpl-AR8bD2yZaRxFsUtVjPqBtEgHiKlMn").SetName("Azure OpenAI chat stream, after a chunk with an empty id");
        yield return new TestCaseData("https://api.anthropic.com/v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", "anthropic/messages-stream.sse", "msg_01HCDu5LRGeP2o7s2xGmxyx8").SetName("Anthropic Messages stream");
        yield return new TestCaseData(Gemini + ":streamGenerateContent?alt=sse", """{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}""", "gemini/stream-generate-content.sse", "WEXbaMnpF7iPjMcP27mckQE").SetName("Gemini stream");
    }

    [TestCaseSource(nameof(WholeBodies))]
    public async Task A_whole_bodys_id_is_the_payloads_response_id(string url, string requestFixture, string responseFixture, string? expected)
    {
        await using var harness = new Harness(StubHandler.Json(responseFixture));
        using (var response = await harness.Client.SendAsync(Harness.Post(url, Fixture.Text(requestFixture))))
        {
            await response.Content.ReadAsByteArrayAsync();
        }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.ResponseId, Is.EqualTo(expected));
        using var json = System.Text.Json.JsonDocument.Parse(LlmPayloadJson.Serialize(payload));
        var written = json.RootElement.GetProperty("response_id");
        Assert.That(expected is null ? written.ValueKind == System.Text.Json.JsonValueKind.Null : written.GetString() == expected, Is.True, written.ToString());
    }

    [TestCaseSource(nameof(Streams))]
    public async Task A_streams_id_is_the_payloads_response_id(string url, string body, string streamFixture, string expected)
    {
        var payload = await SseCall.RecordAsync(Fixture.Bytes(streamFixture), Harness.Post(url, body));

        Assert.That(payload.Stream, Is.True);
        Assert.That(payload.ResponseId, Is.EqualTo(expected));
    }

    [Test]
    public async Task The_span_carries_the_response_id_as_gen_ai_response_id()
    {
        var spans = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == LlmTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);

        var payload = await SseCall.RecordAsync(Fixture.Bytes("anthropic/messages-stream.sse"),
            Harness.Post("https://api.anthropic.com/v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));

        var span = spans.Single(s => s.GetTagItem("llm_observability.call_id") as string == payload.Id);
        Assert.That(span.GetTagItem("gen_ai.response.id"), Is.EqualTo("msg_01HCDu5LRGeP2o7s2xGmxyx8"));
    }
}
