using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmObservability.Payload;

/// <summary>
/// Source-generated System.Text.Json metadata for the payload: snake_case, ISO-8601 UTC timestamps with milliseconds.
/// Use <see cref="LlmPayloadJson"/> to serialize.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    UseStringEnumConverter = true,
    Converters = [typeof(UtcMillisecondsDateTimeOffsetConverter)])]
[JsonSerializable(typeof(StandardLoggingPayload))]
[JsonSerializable(typeof(IReadOnlyList<StandardLoggingPayload>))]
[JsonSerializable(typeof(StandardLoggingPayload[]))]
[JsonSerializable(typeof(IReadOnlyList<LlmToolCall>))] // written by LlmMessageJsonConverter
public sealed partial class LlmPayloadJsonContext : JsonSerializerContext;

/// <summary>Serializes payloads in the schema's JSON form.</summary>
/// <remarks>
/// Text is written as readable UTF-8: only what JSON requires is escaped (<c>"</c>, <c>\</c> and control characters,
/// so a record stays on one line), plus the characters <see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/>
/// always escapes (characters outside the Basic Multilingual Plane such as emoji, some invisible ones such as U+00A0,
/// U+2028 and U+FEFF, unassigned and private-use code points). Apostrophes, <c>&lt;</c>, <c>&amp;</c>, accented letters and CJK text are written as they
/// are, not as <c>\u0027</c> or <c>\u00E9</c>: a log is read by people and by JSON parsers, not embedded in HTML.
/// </remarks>
public static class LlmPayloadJson
{
    /// <summary>The escaping of every JSON the library writes for people to read: payloads, JSON lines, span attributes.</summary>
    internal static JavaScriptEncoder Encoder => JavaScriptEncoder.UnsafeRelaxedJsonEscaping;

    /// <summary>The writer options for a writer that payloads are serialized into (<see cref="Serialize(Utf8JsonWriter, StandardLoggingPayload)"/>).</summary>
    internal static JsonWriterOptions WriterOptions => new() { Encoder = Encoder, SkipValidation = true };

    private static readonly LlmPayloadJsonContext Context = new(new JsonSerializerOptions(LlmPayloadJsonContext.Default.Options) { Encoder = Encoder });

    /// <summary>Serializes one payload to UTF-8 JSON on one line.</summary>
    public static byte[] SerializeToUtf8Bytes(StandardLoggingPayload payload) =>
        JsonSerializer.SerializeToUtf8Bytes(payload, Context.StandardLoggingPayload);

    /// <summary>Serializes one payload to a JSON string on one line.</summary>
    public static string Serialize(StandardLoggingPayload payload) =>
        JsonSerializer.Serialize(payload, Context.StandardLoggingPayload);

    /// <summary>Writes one payload to a UTF-8 JSON writer; the writer's own <see cref="JsonWriterOptions.Encoder"/> decides the escaping.</summary>
    public static void Serialize(Utf8JsonWriter writer, StandardLoggingPayload payload) =>
        JsonSerializer.Serialize(writer, payload, Context.StandardLoggingPayload);

    /// <summary>Reads a payload back from its JSON form.</summary>
    public static StandardLoggingPayload? Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, Context.StandardLoggingPayload);

    /// <summary>Reads a payload back from its JSON form.</summary>
    public static StandardLoggingPayload? Deserialize(string json) =>
        JsonSerializer.Deserialize(json, Context.StandardLoggingPayload);
}

/// <summary>Writes timestamps as ISO-8601 UTC with exactly three fractional digits, e.g. <c>2026-11-22T10:15:30.123Z</c>.</summary>
internal sealed class UtcMillisecondsDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        Span<byte> buffer = stackalloc byte[24];
        var utc = value.UtcDateTime;
        utc.TryFormat(buffer, out var written, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        writer.WriteStringValue(buffer[..written]);
    }
}
