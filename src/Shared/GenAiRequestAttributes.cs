// Compiled into the core (its spans) and into LlmObservability.Langfuse (the spans it sends), so that both turn a call's
// model parameters into the same gen_ai.request.* attributes, whatever the provider calls them.
using System.Text.Json;

namespace LlmObservability.Telemetry;

/// <summary>
/// The OpenTelemetry GenAI request attributes a call's model parameters hold. Providers name the same setting in their
/// own way (<c>max_tokens</c>, <c>max_completion_tokens</c>, <c>max_output_tokens</c>, Gemini's <c>maxOutputTokens</c>,
/// Bedrock's <c>maxTokens</c>, Ollama's <c>num_predict</c>); the payload keeps each as sent, and this reads them all.
/// Gemini takes its generation config in either spelling (<c>maxOutputTokens</c> or <c>max_output_tokens</c>,
/// <c>candidateCount</c> or <c>candidate_count</c>), so both are here.
/// </summary>
internal static class GenAiRequestAttributes
{
    private enum Kind { Double, Count, ChoiceCount, Strings }

    // In the order the attributes are set; for each, the first of its names with a value of the right type wins.
    private static readonly (string Attribute, Kind Kind, string[] Names)[] Map =
    [
        ("gen_ai.request.temperature", Kind.Double, ["temperature"]),
        ("gen_ai.request.top_p", Kind.Double, ["top_p", "topP"]),
        ("gen_ai.request.top_k", Kind.Double, ["top_k", "topK"]),
        ("gen_ai.request.max_tokens", Kind.Count, ["max_tokens", "max_completion_tokens", "max_output_tokens", "maxOutputTokens", "maxTokens", "num_predict"]),
        ("gen_ai.request.frequency_penalty", Kind.Double, ["frequency_penalty", "frequencyPenalty"]),
        ("gen_ai.request.presence_penalty", Kind.Double, ["presence_penalty", "presencePenalty"]),
        ("gen_ai.request.seed", Kind.Count, ["seed"]),
        ("gen_ai.request.choice.count", Kind.ChoiceCount, ["n", "candidateCount", "candidate_count"]),
        ("gen_ai.request.stop_sequences", Kind.Strings, ["stop", "stop_sequences", "stopSequences"]),
    ];

    /// <summary>
    /// Calls <paramref name="add"/> once for each attribute the parameters hold: a <see cref="double"/> for sampling
    /// settings, a <see cref="long"/> for token counts, the seed and the choice count (only when not 1, as the conventions
    /// ask), a <see cref="string"/> array for stop sequences (one string or an array of strings). A value of another type
    /// is not an attribute; neither is a negative token count (Ollama's -1, "no limit").
    /// </summary>
    public static void Read<TState>(IReadOnlyDictionary<string, JsonElement>? parameters, TState state, Action<TState, string, object> add)
    {
        if (parameters is null || parameters.Count == 0) return;
        foreach (var (attribute, kind, names) in Map)
        {
            foreach (var name in names)
            {
                if (!parameters.TryGetValue(name, out var value)) continue;
                if (Value(kind, value) is { } read)
                {
                    add(state, attribute, read);
                    break;
                }
            }
        }
    }

    private static object? Value(Kind kind, JsonElement value) => kind switch
    {
        Kind.Double => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number) ? number : null,
        Kind.Count => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) && count >= 0 ? count : null,
        Kind.ChoiceCount => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var choices) && choices is > 0 and not 1 ? choices : null,
        Kind.Strings => Strings(value),
        _ => null,
    };

    private static string[]? Strings(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.String) return [value.GetString()!];
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0) return null;
        var strings = new string[value.GetArrayLength()];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) return null;
            strings[i++] = item.GetString()!;
        }
        return strings;
    }
}
