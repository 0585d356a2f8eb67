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
public static class LlmPayloadJson
{
    /// <summary>Serializes one payload to UTF-8 JSON on one line.</summary>
    public static byte[] SerializeToUtf8Bytes(StandardLoggingPayload payload) =>
        JsonSerializer.SerializeToUtf8Bytes(payload, LlmPayloadJsonContext.Default.StandardLoggingPayload);

    /// <summary>Serializes one payload to a JSON string on one line.</summary>
    public static string Serialize(StandardLoggingPayload payload) =>
        JsonSerializer.Serialize(payload, LlmPayloadJsonContext.Default.StandardLoggingPayload);

    /// <summary>Writes one payload to a UTF-8 JSON writer.</summary>
    public static void Serialize(Utf8JsonWriter writer, StandardLoggingPayload payload) =>
        JsonSerializer.Serialize(writer, payload, LlmPayloadJsonContext.Default.StandardLoggingPayload);

    /// <summary>Reads a payload back from its JSON form.</summary>
    public static StandardLoggingPayload? Deserialize(ReadOnlySpan<byte> utf8Json) =>
        JsonSerializer.Deserialize(utf8Json, LlmPayloadJsonContext.Default.StandardLoggingPayload);

    /// <summary>Reads a payload back from its JSON form.</summary>
    public static StandardLoggingPayload? Deserialize(string json) =>
        JsonSerializer.Deserialize(json, LlmPayloadJsonContext.Default.StandardLoggingPayload);
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
