using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmObservability.Telemetry;

/// <summary>
/// Source-generated JSON for message content on spans, in the shapes of the GenAI conventions' JSON schemas
/// (gen-ai-input-messages.json, gen-ai-output-messages.json, gen-ai-system-instructions.json): snake_case names, nulls
/// left out unless the schema requires the member.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<GenAiMessage>))]
[JsonSerializable(typeof(IReadOnlyList<GenAiPart>))]
[JsonSerializable(typeof(string))] // tool-call arguments that are not JSON are recorded as a JSON string
internal sealed partial class TelemetryJsonContext : JsonSerializerContext;

/// <summary>A ChatMessage (input) or OutputMessage (output) of the conventions' schemas.</summary>
internal sealed record GenAiMessage
{
    /// <summary>system, user, assistant, tool, or the provider's own role name.</summary>
    public required string Role { get; init; }

    /// <summary>The message's content, part by part.</summary>
    public required IReadOnlyList<GenAiPart> Parts { get; init; }

    /// <summary>The participant's name, when the message gave one.</summary>
    public string? Name { get; init; }

    /// <summary>Output messages only (the schema requires it there).</summary>
    public string? FinishReason { get; init; }
}

/// <summary>One part of a message; <c>type</c> says which.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(GenAiTextPart), "text")]
[JsonDerivedType(typeof(GenAiReasoningPart), "reasoning")]
[JsonDerivedType(typeof(GenAiRefusalPart), "refusal")]
[JsonDerivedType(typeof(GenAiToolCallPart), "tool_call")]
[JsonDerivedType(typeof(GenAiToolCallResponsePart), "tool_call_response")]
internal abstract record GenAiPart;

/// <summary>The schemas' TextPart.</summary>
internal sealed record GenAiTextPart(string Content) : GenAiPart;

/// <summary>The output schema's ReasoningPart.</summary>
internal sealed record GenAiReasoningPart(string Content) : GenAiPart;

/// <summary>A refusal: the schemas have no part of its own for it, so it is a GenericPart of type <c>refusal</c>.</summary>
internal sealed record GenAiRefusalPart(string Content) : GenAiPart;

/// <summary>The schemas' ToolCallRequestPart.</summary>
internal sealed record GenAiToolCallPart : GenAiPart
{
    /// <summary>The provider's tool-call ID.</summary>
    public string? Id { get; init; }

    /// <summary>The tool's name (required by the schemas).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required string Name { get; init; }

    /// <summary>The arguments: the JSON the model wrote, or a string when it is not a JSON object or array.</summary>
    public JsonElement? Arguments { get; init; }
}

/// <summary>The schemas' ToolCallResponsePart.</summary>
internal sealed record GenAiToolCallResponsePart : GenAiPart
{
    /// <summary>The tool call this answers.</summary>
    public string? Id { get; init; }

    /// <summary>The tool's result as the caller sent it (required by the schemas, so written even when null).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Response { get; init; }
}
