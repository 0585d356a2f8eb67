using System.Text;
using System.Text.Json.Nodes;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Providers;
using LlmObservability.Telemetry;

namespace LlmObservability.Tests.Telemetry;

/// <summary>
/// Which input messages are system instructions the API took apart from the chat history (recorded on spans as
/// <c>gen_ai.system_instructions</c>) and which are part of the history (left in <c>gen_ai.input.messages</c>), on both
/// the fast readers and the document path.
/// </summary>
public class SystemInstructionTests
{
    private static readonly Dictionary<string, (ProviderRoute Route, string Request)> Calls = new()
    {
        ["anthropic"] = (new(AnthropicMessagesAdapter.Instance, "anthropic", "https://api.anthropic.com", "/v1/messages"), Fixture.Text("anthropic/messages-request.json")),
        ["gemini"] = (new(GeminiGenerateContentAdapter.Instance, "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash:generateContent"), Fixture.Text("gemini/generate-content-request.json")),
        ["gemini-string"] = (new(GeminiGenerateContentAdapter.Instance, "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash:generateContent"),
            """{"systemInstruction": "Be brief.", "contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}"""),
        ["responses"] = (new(OpenAiResponsesAdapter.Instance, "openai", "https://api.openai.com", "/v1/responses"), Fixture.Text("openai/responses-request.json")),
        ["bedrock"] = (new(BedrockConverseAdapter.Instance, "bedrock", "https://bedrock-runtime.us-east-1.amazonaws.com", "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse"), Fixture.Text("bedrock/converse-request.json")),
        ["ollama-generate"] = (new(OllamaAdapter.Generate, "ollama", "http://localhost:11434", "/api/generate"), Fixture.Text("ollama/generate-request.json")),
        // System messages inside the history stay there.
        ["openai-chat"] = (new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com", "/v1/chat/completions"),
            """{"model": "gpt-4o-mini", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"""),
        ["responses-system-message"] = (new(OpenAiResponsesAdapter.Instance, "openai", "https://api.openai.com", "/v1/responses"),
            """{"model": "gpt-4.1", "input": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"""),
        ["ollama-chat"] = (new(OllamaAdapter.Instance, "ollama", "http://localhost:11434", "/api/chat"),
            """{"model": "llama3.2", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"""),
    };

    [TestCase("anthropic", true), TestCase("anthropic", false)]
    [TestCase("gemini", true), TestCase("gemini", false)]
    [TestCase("gemini-string", true), TestCase("gemini-string", false)]
    [TestCase("responses", true), TestCase("responses", false)]
    [TestCase("bedrock", true), TestCase("bedrock", false)]
    [TestCase("ollama-generate", true), TestCase("ollama-generate", false)]
    public void A_system_prompt_given_apart_from_the_messages_is_a_system_instruction(string call, bool fastPaths)
    {
        var messages = Build(call, fastPaths);

        Assert.That(messages.Select(m => m.IsSystemInstruction), Is.EqualTo(messages.Select((_, i) => i == 0)), "only the leading system prompt");
        var instructions = JsonNode.Parse(SpanContent.SystemInstructions(messages)!)!.AsArray();
        Assert.That(instructions, Has.Count.EqualTo(1));
        Assert.That(instructions[0]!["type"]!.GetValue<string>(), Is.EqualTo("text"));
        Assert.That(instructions[0]!["content"]!.GetValue<string>(), Is.EqualTo(messages[0].Content).And.Not.Empty);
        var input = JsonNode.Parse(SpanContent.InputMessages(messages)!)!.AsArray();
        Assert.That(input, Has.Count.EqualTo(messages.Count - 1), "the instructions are not repeated as input messages");
    }

    [TestCase("openai-chat", true), TestCase("openai-chat", false)]
    [TestCase("responses-system-message", true), TestCase("responses-system-message", false)]
    [TestCase("ollama-chat", true), TestCase("ollama-chat", false)]
    public void A_system_message_in_the_history_stays_an_input_message(string call, bool fastPaths)
    {
        var messages = Build(call, fastPaths);

        Assert.That(messages.Any(m => m.IsSystemInstruction), Is.False);
        Assert.That(SpanContent.SystemInstructions(messages), Is.Null);
        var input = JsonNode.Parse(SpanContent.InputMessages(messages)!)!.AsArray();
        Assert.That(input[0]!["role"]!.GetValue<string>(), Is.EqualTo("system"));
        Assert.That(input[0]!["parts"]![0]!["content"]!.GetValue<string>(), Is.EqualTo("Be brief."));
    }

    private static IReadOnlyList<LlmMessage> Build(string call, bool fastPaths)
    {
        var (route, request) = Calls[call];
        var record = new CallRecord(route) { Id = "id", RequestBody = Encoding.UTF8.GetBytes(request), HttpStatus = 200, End = CallEnd.Completed };
        var builder = new PayloadBuilder(new LlmObservabilityOptions(), TimeProvider.System, PriceCatalog.CreateDefault(), estimator: null) { FastPaths = fastPaths };
        try
        {
            return record.Build(builder).Messages!;
        }
        finally
        {
            record.Release();
        }
    }
}

/// <summary>The output message's parts and finish reason, from payloads made by hand.</summary>
public class SpanOutputMessageTests
{
    [Test]
    public void Reasoning_text_refusal_and_tool_calls_are_parts_of_one_assistant_message()
    {
        var payload = PayloadFactory.Create() with
        {
            Response = new LlmResponseOutput { Text = "No.", Reasoning = "The user asks for a secret.", Refusal = "I can't share that." },
            ToolCalls = [new LlmToolCall { Id = "call_1", Type = "function", Name = "log", Arguments = "{\"level\":\"warn\"" }],
            FinishReasons = ["stop", "length"],
        };

        var output = JsonNode.Parse(SpanContent.OutputMessages(payload)!)!;

        // One message: the payload keeps the first choice only, so its finish reason is the first.
        Assert.That(JsonNode.DeepEquals(output, JsonNode.Parse("""
            [{"role": "assistant", "parts": [
              {"type": "reasoning", "content": "The user asks for a secret."},
              {"type": "text", "content": "No."},
              {"type": "refusal", "content": "I can't share that."},
              {"type": "tool_call", "id": "call_1", "name": "log", "arguments": "{\"level\":\"warn\""}
             ], "finish_reason": "stop"}]
            """)), Is.True, output.ToJsonString());
    }

    [TestCase(LlmCallStatus.Failure, "error")]
    [TestCase(LlmCallStatus.Success, "unknown")]
    public void The_required_finish_reason_is_there_when_the_provider_gave_none(LlmCallStatus status, string expected)
    {
        var payload = PayloadFactory.Create(status) with { Response = new LlmResponseOutput { Text = "Hel" }, FinishReasons = null };

        var output = JsonNode.Parse(SpanContent.OutputMessages(payload)!)!;

        Assert.That(output[0]!["finish_reason"]!.GetValue<string>(), Is.EqualTo(expected));
    }

    [Test]
    public void No_output_means_no_output_messages()
    {
        Assert.That(SpanContent.OutputMessages(PayloadFactory.Create() with { Response = null, ToolCalls = null }), Is.Null);
    }
}
