using LlmObservability.Payload;
using LlmObservability.Sinks.Http;

namespace LlmObservability.Tests.Sinks;

/// <summary>Names that differ between this library and LiteLLM (the whole shape is checked against a receiver in LlmObservability.Sinks.Tests).</summary>
public class LiteLlmPayloadTests
{
    [TestCase("chat_completion", false, "acompletion")]
    [TestCase("embedding", false, "aembedding")]
    [TestCase("responses", false, "aresponses")]
    [TestCase("messages", true, "aanthropic_messages")]
    [TestCase("generate_content", false, "agenerate_content")]
    [TestCase("generate_content", true, "agenerate_content_stream")]
    [TestCase("rerank", false, "rerank")]
    public void Call_types_map_to_LiteLLMs_names(string callType, bool stream, string expected) =>
        Assert.That(LiteLlmPayload.Map(PayloadFactory.Create() with { CallType = callType, Stream = stream }).CallType, Is.EqualTo(expected));

    [TestCase("azure_openai", "azure")]
    [TestCase("openai_compatible", "openai")]
    [TestCase("anthropic", "anthropic")]
    [TestCase("groq", "groq")]
    public void Providers_map_to_LiteLLMs_names(string provider, string expected) =>
        Assert.That(LiteLlmPayload.Map(PayloadFactory.Create() with { Provider = provider }).CustomLlmProvider, Is.EqualTo(expected));

    [Test]
    public void Times_are_epoch_seconds_and_a_non_streamed_response_time_is_the_whole_call()
    {
        var payload = PayloadFactory.Create() with { CompletionStartTime = new DateTimeOffset(2026, 11, 22, 10, 0, 0, 250, TimeSpan.Zero) };
        var mapped = LiteLlmPayload.Map(payload);

        Assert.That(mapped.StartTime, Is.EqualTo(payload.StartTime.ToUnixTimeSeconds()));
        Assert.That(mapped.CompletionStartTime, Is.EqualTo(payload.StartTime.ToUnixTimeSeconds() + 0.25).Within(1e-6));
        Assert.That(mapped.ResponseTime, Is.EqualTo(1.0).Within(1e-9));
    }

    [TestCase("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "req_123", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")]
    [TestCase(null, "req_123", "req_123")]
    public void The_logged_response_object_has_the_providers_response_id_else_its_request_id(string? responseId, string? requestId, string expected)
    {
        var payload = PayloadFactory.Create() with { ResponseId = responseId, RequestId = requestId, Response = new LlmResponseOutput { Text = "hello" } };
        Assert.That(LiteLlmPayload.Map(payload).Response!.Id, Is.EqualTo(expected));
    }

    [Test]
    public void Message_logging_off_sends_null_messages_and_response()
    {
        var mapped = LiteLlmPayload.Map(PayloadFactory.Create());
        Assert.That(mapped.Messages, Is.Null);
        Assert.That(mapped.Response, Is.Null);
    }
}
