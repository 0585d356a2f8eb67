using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Providers;

/// <summary>Tolerant readers for provider JSON: a missing or differently typed field yields null, never an exception.</summary>
internal static class Json
{
    public static JsonElement? Get(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public static string? String(JsonElement obj, string name) =>
        Get(obj, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>A string that is not empty: some servers send <c>""</c> for "not known yet" (Azure's first stream chunk).</summary>
    public static string? NonEmpty(JsonElement obj, string name) => String(obj, name) is { Length: > 0 } value ? value : null;

    /// <summary>A string, or a number/bool written as text (error codes come as either).</summary>
    public static string? Scalar(JsonElement obj, string name) => Get(obj, name) switch
    {
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { ValueKind: JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False } v => v.GetRawText(),
        _ => null,
    };

    public static long? Long(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { } value) return null;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt64(out var l)) return l;
            if (value.TryGetDouble(out var d) && d >= long.MinValue && d <= long.MaxValue) return (long)d;
        }
        if (value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)) return parsed;
        return null;
    }

    public static bool? Bool(JsonElement obj, string name) => Get(obj, name) switch
    {
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => null,
    };

    public static JsonElement? Object(JsonElement obj, string name) =>
        Get(obj, name) is { ValueKind: JsonValueKind.Object } value ? value : null;

    public static JsonElement? Array(JsonElement obj, string name) =>
        Get(obj, name) is { ValueKind: JsonValueKind.Array } value ? value : null;

    /// <summary>
    /// A copy of <paramref name="value"/> that outlives its document. Short numbers and booleans are shared: model
    /// parameters repeat from call to call (<c>0.2</c>, <c>1024</c>, <c>true</c>), so each distinct one is copied once
    /// (up to <see cref="MaxSharedScalars"/> of them) instead of once a call. Strings are always copied (they can be PII).
    /// </summary>
    public static JsonElement Keep(JsonElement value) =>
        value.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
            ? KeepScalar(JsonMarshal.GetRawUtf8Value(value), value)
            : KeepText(JsonMarshal.GetRawUtf8Value(value), value);

    /// <summary><see cref="Keep(JsonElement)"/> for a value given as its JSON text (valid JSON) and its first token.</summary>
    public static JsonElement Keep(ReadOnlySpan<byte> raw, JsonTokenType kind) =>
        kind is JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False ? KeepScalar(raw, null) : KeepText(raw, null);

    /// <summary>
    /// A string, object or array, with any text that is not valid Unicode replaced (<see cref="Utf8Text.CleanJsonText"/>):
    /// a document holds such text, but writing it throws, and a payload that cannot be written would be lost.
    /// </summary>
    private static JsonElement KeepText(ReadOnlySpan<byte> raw, JsonElement? value) =>
        Utf8Text.CleanJsonText(raw) is { } clean ? Parse(clean) : value?.Clone() ?? Parse(raw);

    private static JsonElement KeepScalar(ReadOnlySpan<byte> raw, JsonElement? value)
    {
        if (raw.Length > MaxSharedScalarLength) return value?.Clone() ?? Parse(raw);
        Span<char> text = stackalloc char[MaxSharedScalarLength];
        text = text[..Encoding.UTF8.GetChars(raw, text)]; // numbers and literals are ASCII
        if (SharedScalars.TryGet(text, out var shared)) return shared;
        var copy = value?.Clone() ?? Parse(raw);
        SharedScalars.TryAdd(text.ToString(), copy);
        return copy;
    }

    private static JsonElement Parse(ReadOnlySpan<byte> raw)
    {
        var reader = new Utf8JsonReader(raw);
        reader.Read();
        return JsonElement.ParseValue(ref reader);
    }

    private const int MaxSharedScalarLength = 24;
    internal const int MaxSharedScalars = 256;
    private static readonly SharedValues<JsonElement> SharedScalars = new(MaxSharedScalars);

    /// <summary>
    /// A short string that names something (a role, a model, a finish reason, a service tier): these repeat call after
    /// call, so each distinct one is made once and shared (up to <see cref="MaxNames"/> of them; longer or escaped values,
    /// and any beyond the limit, are made as usual). Never for text a person wrote.
    /// </summary>
    public static string? Name(JsonElement obj, string name)
    {
        if (Get(obj, name) is not { ValueKind: JsonValueKind.String } value) return null;
        var raw = JsonMarshal.GetRawUtf8Value(value)[1..^1];
        if (raw.Length > MaxNameLength || raw.Contains((byte)'\\')) return value.GetString();
        Span<char> text = stackalloc char[MaxNameLength];
        if (System.Text.Unicode.Utf8.ToUtf16(raw, text, out _, out var written, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done) return value.GetString();
        return Name(text[..written]);
    }

    /// <inheritdoc cref="Name(JsonElement, string)"/>
    public static string Name(ReadOnlySpan<char> text)
    {
        if (text.Length > MaxNameLength) return text.ToString();
        if (Names.TryGet(text, out var shared)) return shared;
        var made = text.ToString();
        Names.TryAdd(made, made);
        return made;
    }

    private const int MaxNameLength = 64;
    internal const int MaxNames = 1024;
    private static readonly SharedValues<string> Names = new(MaxNames);

    /// <summary>
    /// Values made once and shared by every call, looked up by their text without making a string; at most
    /// <paramref name="capacity"/> are kept (the count stops at the bound, so it never wraps), the rest are made as usual.
    /// </summary>
    private sealed class SharedValues<T>(int capacity)
    {
        private readonly ConcurrentDictionary<string, T> _values = new(StringComparer.Ordinal);
        private int _count;

        public bool TryGet(ReadOnlySpan<char> key, out T value) => _values.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(key, out value!);

        public void TryAdd(string key, T value)
        {
            if (Volatile.Read(ref _count) < capacity && Interlocked.Increment(ref _count) <= capacity) _values.TryAdd(key, value);
        }
    }

    /// <summary>Adds long values, treating null as "not reported" unless either side has a value.</summary>
    public static long? Add(long? a, long? b) => a is null && b is null ? null : (a ?? 0) + (b ?? 0);
}
