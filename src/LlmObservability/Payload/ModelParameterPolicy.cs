using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using LlmObservability.Providers;
using LlmObservability.Redaction;

namespace LlmObservability.Payload;

/// <summary>
/// What of the request's model parameters a payload keeps. Adapters keep every request member that is not the input,
/// so that a vendor's new setting is seen; but members such as <c>prediction</c> (the text the answer is expected to
/// repeat), <c>web_search_options.user_location</c> or a vendor's extra document are content, not settings.
/// <list type="bullet">
/// <item>With message content: every string, at any depth, is capped at <c>MaxContentChars</c> like a message
/// (<c>…[truncated]</c>).</item>
/// <item>Without message content (the options, a scope, or a sink that must not get it): only settings are kept:
/// numbers, booleans, strings of up to <see cref="MaxSettingChars"/> characters, and flat arrays or objects of up to
/// <see cref="MaxSettingItems"/> of those (<c>stop</c>, <c>logit_bias</c>, <c>thinking</c>). Anything else (a longer
/// string, a nested object, a longer list) is replaced by a note of its kind and JSON size, e.g.
/// <c>[object, 300.1 KB]</c>, so the key still shows what was asked for.</item>
/// </list>
/// Counts made by the adapters (<c>tools_count</c>, <c>input_count</c>) are numbers and stay.
/// </summary>
internal static class ModelParameterPolicy
{
    /// <summary>The longest string kept without message content: enough for an enum (<c>service_tier</c>,
    /// <c>reasoning_effort</c>, <c>tool_choice</c>), an ID or a hash, too short for a passage of text.</summary>
    public const int MaxSettingChars = 64;

    /// <summary>The most items an array or object may hold to be kept without message content.</summary>
    public const int MaxSettingItems = 32;

    /// <summary>
    /// The parameters with every string longer than <paramref name="maxChars"/> cut to it; the same instance when none
    /// is (the usual case, checked without making strings).
    /// </summary>
    public static Dictionary<string, JsonElement>? Capped(Dictionary<string, JsonElement>? parameters, int maxChars) =>
        Replace(parameters, maxChars, static (value, max) =>
        {
            try
            {
                return HasLongString(value, max) ? CapStrings(value, max) : null;
            }
            catch (InvalidOperationException)
            {
                // A long string that is not valid UTF-8 (an adapter that keeps values as the document has them) cannot be
                // cut as text: it becomes a note, as it would without content.
                return Note(value);
            }
        }) ?? parameters;

    /// <summary>The parameters without content (see the class); the same instance when they hold settings only.</summary>
    public static IReadOnlyDictionary<string, JsonElement>? SettingsOnly(IReadOnlyDictionary<string, JsonElement>? parameters) =>
        WithNotes(parameters, ContentNotes(parameters));

    /// <summary>
    /// The notes that replace the parameters that are not settings, by key; null when every parameter is a setting (the
    /// usual case, found without allocating). Made from the parameters as the request sent them, so that a payload
    /// that keeps content (capped) can give a sink that must not get it the same notes, with the sizes as sent.
    /// </summary>
    public static Dictionary<string, JsonElement>? ContentNotes(IReadOnlyDictionary<string, JsonElement>? parameters)
    {
        if (parameters is null) return null;
        Dictionary<string, JsonElement>? notes = null;
        foreach (var (key, value) in parameters)
        {
            if (!IsSetting(value)) (notes ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))[key] = Note(value);
        }
        return notes;
    }

    /// <summary>The parameters with the values of <paramref name="notes"/> in place of theirs; the same instance when there are none.</summary>
    public static Dictionary<string, JsonElement>? WithNotes(Dictionary<string, JsonElement>? parameters, IReadOnlyDictionary<string, JsonElement>? notes) =>
        parameters is null || notes is null ? parameters : Merge(parameters, notes);

    /// <inheritdoc cref="WithNotes(Dictionary{string, JsonElement}?, IReadOnlyDictionary{string, JsonElement}?)"/>
    public static IReadOnlyDictionary<string, JsonElement>? WithNotes(IReadOnlyDictionary<string, JsonElement>? parameters, IReadOnlyDictionary<string, JsonElement>? notes) =>
        parameters is null || notes is null ? parameters : Merge(parameters, notes);

    private static Dictionary<string, JsonElement> Merge(IReadOnlyDictionary<string, JsonElement> parameters, IReadOnlyDictionary<string, JsonElement> notes)
    {
        var result = new Dictionary<string, JsonElement>(parameters, StringComparer.Ordinal);
        foreach (var (key, note) in notes)
        {
            if (result.ContainsKey(key)) result[key] = note;
        }
        return result;
    }

    /// <summary>A copy with the values <paramref name="replace"/> gives (null: keep) replaced, or null when none is.</summary>
    private static Dictionary<string, JsonElement>? Replace(Dictionary<string, JsonElement>? parameters, int max, Func<JsonElement, int, JsonElement?> replace)
    {
        if (parameters is null) return null;
        Dictionary<string, JsonElement>? result = null;
        foreach (var (key, value) in parameters)
        {
            if (replace(value, max) is not { } replacement) continue;
            result ??= new Dictionary<string, JsonElement>(parameters, StringComparer.Ordinal);
            result[key] = replacement;
        }
        return result;
    }

    private static bool IsSetting(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => CountUpTo(value.EnumerateObject(), MaxSettingItems + 1) <= MaxSettingItems
            && value.EnumerateObject().All(static property => IsScalarSetting(property.Value)),
        JsonValueKind.Array => value.GetArrayLength() <= MaxSettingItems && value.EnumerateArray().All(IsScalarSetting),
        _ => IsScalarSetting(value),
    };

    /// <summary>A number, a boolean, null, a short string, or an empty array or object (Bedrock's <c>{"auto":{}}</c>).</summary>
    private static bool IsScalarSetting(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => true,
        JsonValueKind.String => FitsReadable(value, MaxSettingChars),
        JsonValueKind.Array => value.GetArrayLength() == 0,
        JsonValueKind.Object => CountUpTo(value.EnumerateObject(), 1) == 0,
        _ => false,
    };

    private static int CountUpTo(JsonElement.ObjectEnumerator properties, int limit)
    {
        var count = 0;
        foreach (var _ in properties)
        {
            if (++count >= limit) break;
        }
        return count;
    }

    /// <summary>
    /// Whether a string value has at most <paramref name="max"/> characters. Its JSON text (quotes included) has at
    /// least as many bytes as the string has characters, so a short one is known without making the string.
    /// </summary>
    /// <exception cref="InvalidOperationException">The string is longer in JSON than <paramref name="max"/> and not valid UTF-8.</exception>
    private static bool Fits(JsonElement text, int max) =>
        JsonMarshal.GetRawUtf8Value(text).Length - 2 <= max || text.GetString()!.Length <= max;

    /// <summary><see cref="Fits"/>, with a string that cannot be read (not valid UTF-8) judged not to: it is no setting.</summary>
    private static bool FitsReadable(JsonElement text, int max)
    {
        try
        {
            return Fits(text, max);
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool HasLongString(JsonElement value, int max) => value.ValueKind switch
    {
        JsonValueKind.String => !Fits(value, max),
        JsonValueKind.Object => value.EnumerateObject().Any(property => HasLongString(property.Value, max)),
        JsonValueKind.Array => value.EnumerateArray().Any(item => HasLongString(item, max)),
        _ => false,
    };

    private static JsonElement CapStrings(JsonElement value, int max)
    {
        if (value.ValueKind == JsonValueKind.String) return TextElement(Cap(value.GetString()!, max));
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) WriteCapped(value, writer, max);
        return JsonElement.Parse(buffer.WrittenSpan);
    }

    private static void WriteCapped(JsonElement value, Utf8JsonWriter writer, int max)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    WriteCapped(property.Value, writer, max);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray()) WriteCapped(item, writer, max);
                writer.WriteEndArray();
                break;
            case JsonValueKind.String when !Fits(value, max):
                writer.WriteStringValue(Cap(value.GetString()!, max));
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }

    /// <summary><see cref="CaptureLimits.Cap"/> of a string longer than <paramref name="max"/>, without cutting a surrogate pair in two (a lone half cannot be written as JSON).</summary>
    private static string Cap(string text, int max) =>
        CaptureLimits.Cap(text, max > 0 && char.IsHighSurrogate(text[max - 1]) ? max - 1 : max)!;

    /// <summary>A value that is not a setting, as a note of its kind and size in the style of the inline-data notes: <c>[object, 2.5 KB]</c>.</summary>
    private static JsonElement Note(JsonElement value)
    {
        var kind = value.ValueKind switch
        {
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            _ => "string",
        };
        return TextElement($"[{kind}, {PayloadRedaction.SizeText(JsonMarshal.GetRawUtf8Value(value).Length)}]");
    }

    private static JsonElement TextElement(string text) => JsonSerializer.SerializeToElement(text, ProviderJsonContext.Default.String);
}
