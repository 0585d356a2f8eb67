using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Telemetry;

/// <summary>
/// Builds the opt-in content attributes of a span (<c>gen_ai.system_instructions</c>, <c>gen_ai.input.messages</c>,
/// <c>gen_ai.output.messages</c>) in the shapes the GenAI conventions' JSON schemas require. Everything comes from the
/// built payload, which is already redacted, never from the raw bodies.
/// </summary>
internal static class SpanContent
{
    // Escaped as the payload's JSON is (LlmPayloadJson.Encoder): readable UTF-8.
    private static readonly TelemetryJsonContext Json = new(new JsonSerializerOptions(TelemetryJsonContext.Default.Options) { Encoder = LlmPayloadJson.Encoder });

    /// <summary>
    /// The system instructions the API took apart from the chat history, as an array of text parts; null when there
    /// were none. A system message inside the history is left to <see cref="InputMessages"/>, as the conventions ask.
    /// </summary>
    public static string? SystemInstructions(IReadOnlyList<LlmMessage> messages)
    {
        List<GenAiPart>? parts = null;
        foreach (var message in messages)
        {
            if (message.IsSystemInstruction && message.Content is { } content) (parts ??= []).Add(new GenAiTextPart(content));
        }
        return parts is null ? null : JsonSerializer.Serialize<IReadOnlyList<GenAiPart>>(parts, Json.IReadOnlyListGenAiPart);
    }

    /// <summary>The chat history in the order it was sent, without the separate system instructions; null when nothing is left.</summary>
    public static string? InputMessages(IReadOnlyList<LlmMessage> messages)
    {
        var input = new List<GenAiMessage>(messages.Count);
        foreach (var message in messages)
        {
            if (message.IsSystemInstruction) continue;
            var parts = new List<GenAiPart>(1 + (message.ToolCalls?.Count ?? 0));
            // A message answering a tool call carries the tool's result; any other content is text.
            if (message.ToolCallId is { } callId) parts.Add(new GenAiToolCallResponsePart { Id = callId, Response = message.Content });
            else if (message.Content is { Length: > 0 } text) parts.Add(new GenAiTextPart(text));
            AddToolCalls(parts, message.ToolCalls);
            // Every adapter names the role; a message without one can only be input the caller gave.
            input.Add(new GenAiMessage { Role = message.Role ?? "user", Parts = parts, Name = message.Name });
        }
        return input.Count == 0 ? null : JsonSerializer.Serialize<IReadOnlyList<GenAiMessage>>(input, Json.IReadOnlyListGenAiMessage);
    }

    /// <summary>
    /// The output as one assistant message (the payload keeps the first choice only) with its reasoning, text, refusal
    /// and tool calls as parts; null when the payload has no output.
    /// </summary>
    public static string? OutputMessages(StandardLoggingPayload payload)
    {
        var response = payload.Response;
        if (response is null && payload.ToolCalls is null) return null;
        var parts = new List<GenAiPart>(3 + (payload.ToolCalls?.Count ?? 0));
        if (response?.Reasoning is { Length: > 0 } reasoning) parts.Add(new GenAiReasoningPart(reasoning));
        if (response?.Text is { Length: > 0 } text) parts.Add(new GenAiTextPart(text));
        if (response?.Refusal is { Length: > 0 } refusal) parts.Add(new GenAiRefusalPart(refusal));
        AddToolCalls(parts, payload.ToolCalls);
        // finish_reason is required: the provider's own value, as gen_ai.response.finish_reasons has it; "error" for a
        // call that failed before one arrived, and "unknown" when the provider gave none.
        var finishReason = payload.FinishReasons is { Count: > 0 } reasons ? reasons[0]
            : payload.Status == LlmCallStatus.Failure ? "error" : "unknown";
        GenAiMessage[] output = [new GenAiMessage { Role = "assistant", Parts = parts, FinishReason = finishReason }];
        return JsonSerializer.Serialize<IReadOnlyList<GenAiMessage>>(output, Json.IReadOnlyListGenAiMessage);
    }

    private static void AddToolCalls(List<GenAiPart> parts, IReadOnlyList<LlmToolCall>? calls)
    {
        if (calls is null) return;
        foreach (var call in calls) parts.Add(new GenAiToolCallPart { Id = call.Id, Name = call.Name ?? "", Arguments = Arguments(call.Arguments) });
    }

    /// <summary>
    /// The arguments as the JSON the model wrote (the conventions show them as an object, not as the JSON-encoded string
    /// providers send); a string when they are not a whole JSON object or array, e.g. cut short by the content cap.
    /// </summary>
    private static JsonElement? Arguments(string? arguments)
    {
        if (arguments is null) return null;
        if (arguments.AsSpan().TrimStart() is [ '{' or '[', .. ])
        {
            try
            {
                using var document = JsonDocument.Parse(arguments);
                return document.RootElement.Clone();
            }
            catch (JsonException)
            {
                // Not JSON after all: kept as the text it is.
            }
        }
        return JsonSerializer.SerializeToElement(arguments, Json.String);
    }
}
