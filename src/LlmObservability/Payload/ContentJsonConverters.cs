using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace LlmObservability.Payload;

// The two content records hold their text either as a string or as UTF-8 (see Utf8Text). These converters write the
// UTF-8 as it is, so serializing a payload makes no string of its content. Names are the schema's (snake_case); a null
// member is written unless the options skip nulls, and the optional members are left out when null, as before.

/// <summary>Writes and reads <see cref="LlmMessage"/> in the schema's JSON form.</summary>
internal sealed class LlmMessageJsonConverter : JsonConverter<LlmMessage>
{
    public override void Write(Utf8JsonWriter writer, LlmMessage value, JsonSerializerOptions options)
    {
        var skipNulls = options.DefaultIgnoreCondition == JsonIgnoreCondition.WhenWritingNull;
        writer.WriteStartObject();
        ContentJson.WriteString(writer, "role"u8, value.Role, skipNulls);
        ContentJson.WriteText(writer, "content"u8, value.ContentUtf8, value.ContentUtf8 is null ? value.Content : null, skipNulls);
        ContentJson.WriteString(writer, "name"u8, value.Name, skipNulls: true);
        ContentJson.WriteString(writer, "tool_call_id"u8, value.ToolCallId, skipNulls: true);
        if (value.ToolCalls is { } calls)
        {
            writer.WritePropertyName("tool_calls"u8);
            JsonSerializer.Serialize(writer, calls, ContentJson.ToolCallsInfo(options));
        }
        writer.WriteEndObject();
    }

    public override LlmMessage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        ContentJson.ExpectObject(ref reader);
        string? role = null, content = null, name = null, toolCallId = null;
        IReadOnlyList<LlmToolCall>? calls = null;
        while (ContentJson.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("role"u8)) role = ContentJson.ReadString(ref reader);
            else if (reader.ValueTextEquals("content"u8)) content = ContentJson.ReadString(ref reader);
            else if (reader.ValueTextEquals("name"u8)) name = ContentJson.ReadString(ref reader);
            else if (reader.ValueTextEquals("tool_call_id"u8)) toolCallId = ContentJson.ReadString(ref reader);
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                calls = JsonSerializer.Deserialize(ref reader, ContentJson.ToolCallsInfo(options));
            }
            else ContentJson.SkipValue(ref reader);
        }
        return new LlmMessage { Role = role, Content = content, Name = name, ToolCallId = toolCallId, ToolCalls = calls };
    }
}

/// <summary>Writes and reads <see cref="LlmResponseOutput"/> in the schema's JSON form.</summary>
internal sealed class LlmResponseOutputJsonConverter : JsonConverter<LlmResponseOutput>
{
    public override void Write(Utf8JsonWriter writer, LlmResponseOutput value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        ContentJson.WriteText(writer, "text"u8, value.TextUtf8, value.TextUtf8 is null ? value.Text : null, options.DefaultIgnoreCondition == JsonIgnoreCondition.WhenWritingNull);
        ContentJson.WriteString(writer, "reasoning"u8, value.Reasoning, skipNulls: true);
        ContentJson.WriteString(writer, "refusal"u8, value.Refusal, skipNulls: true);
        writer.WriteEndObject();
    }

    public override LlmResponseOutput Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        ContentJson.ExpectObject(ref reader);
        string? text = null, reasoning = null, refusal = null;
        while (ContentJson.NextProperty(ref reader))
        {
            if (reader.ValueTextEquals("text"u8)) text = ContentJson.ReadString(ref reader);
            else if (reader.ValueTextEquals("reasoning"u8)) reasoning = ContentJson.ReadString(ref reader);
            else if (reader.ValueTextEquals("refusal"u8)) refusal = ContentJson.ReadString(ref reader);
            else ContentJson.SkipValue(ref reader);
        }
        return new LlmResponseOutput { Text = text, Reasoning = reasoning, Refusal = refusal };
    }
}

/// <summary>The pieces the two converters share.</summary>
internal static class ContentJson
{
    public static void WriteString(Utf8JsonWriter writer, ReadOnlySpan<byte> name, string? value, bool skipNulls)
    {
        if (value is not null) writer.WriteString(name, value);
        else if (!skipNulls) writer.WriteNull(name);
    }

    public static void WriteText(Utf8JsonWriter writer, ReadOnlySpan<byte> name, byte[]? utf8, string? text, bool skipNulls)
    {
        if (utf8 is not null) writer.WriteString(name, utf8);
        else WriteString(writer, name, text, skipNulls);
    }

    public static JsonTypeInfo<IReadOnlyList<LlmToolCall>> ToolCallsInfo(JsonSerializerOptions options) =>
        (JsonTypeInfo<IReadOnlyList<LlmToolCall>>)options.GetTypeInfo(typeof(IReadOnlyList<LlmToolCall>));

    public static void ExpectObject(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"Expected a JSON object, found {reader.TokenType}.");
    }

    /// <summary>Moves to the next property name; false at the end of the object.</summary>
    public static bool NextProperty(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.PropertyName;
    }

    public static string? ReadString(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => reader.GetString(),
            _ => throw new JsonException($"Expected a string or null, found {reader.TokenType}."),
        };
    }

    public static void SkipValue(ref Utf8JsonReader reader)
    {
        reader.Read();
        reader.Skip();
    }
}
