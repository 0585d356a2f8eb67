using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;
using static LlmObservability.Providers.FastJsonFields;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for a whole Gemini <c>generateContent</c> request: one pass of <see cref="FastJsonReader"/>, no
/// <see cref="JsonDocument"/>, as <see cref="AnthropicBodyReader"/> does for Anthropic. A request is mostly the
/// conversation's text in <c>contents</c> and the system instruction, with the generation config and tools beside.
/// </summary>
/// <remarks>
/// It reads everything first and changes the record only when the whole body was understood, with the adapter's own
/// helpers (part notes, function calls, the config members left out). Whatever it does not handle exactly as
/// <see cref="GeminiGenerateContentAdapter.ParseRequest"/> does makes it return false with the record untouched, and
/// the builder takes the document path: JSON it does not accept (see <see cref="FastJsonReader"/>), a root that is not
/// an object, any escaped member name, a member it reads given twice (at the root: <c>contents</c>,
/// <c>systemInstruction</c>, <c>generationConfig</c>, <c>tools</c>, <c>toolConfig</c>, <c>cachedContent</c>; in a
/// content, a part, a function call or response), also when given once under each spelling (<c>systemInstruction</c>
/// and <c>system_instruction</c>: the API takes either, see <see cref="Members"/>), a string it reads that is not valid
/// Unicode once unescaped.
/// </remarks>
internal static class GeminiRequestReader
{
    /// <summary>Reads a request into the record as <see cref="GeminiGenerateContentAdapter.ParseRequest"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        List<LlmMessage>? contents = null;
        LlmMessage? system = null;
        List<(string Name, JsonElement Value)>? config = null;
        int? toolsCount = null;
        JsonElement? toolConfig = null, cachedContent = null;
        string? toolConfigName = null, cachedContentName = null;
        var seen = 0;
        while (NextMember(ref reader, RootNames.Names, RootNames.Fields, ref seen, out var field, out var name))
        {
            var kind = reader.TokenType;
            // The parameters keep the name as the request spelled it, as the document path does.
            if (field == 16) toolConfigName = Members.Spelling(name, "toolConfig", "tool_config");
            else if (field == 32) cachedContentName = Members.Spelling(name, "cachedContent", "cached_content");
            var read = field switch
            {
                1 when kind == JsonTokenType.StartArray => ReadContents(ref reader, limits, out contents),
                // The REST reference takes a Content; a bare string is tolerated the way the SDKs accept one.
                2 when kind == JsonTokenType.String => ReadSystemText(ref reader, limits, out system),
                2 when kind != JsonTokenType.Null => ReadContent(ref reader, "system", limits, out system),
                4 when kind == JsonTokenType.StartObject => ReadConfig(ref reader, out config),
                8 when kind == JsonTokenType.StartArray => CountTools(ref reader, out toolsCount),
                16 when kind == JsonTokenType.StartObject => ReadClone(ref reader, out toolConfig),
                32 when kind == JsonTokenType.String => ReadString(ref reader, out _) && ReadClone(ref reader, out cachedContent),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (!AtEnd(ref reader)) return false;

        // The whole body was understood: apply it in the document path's order.
        record.RequestedModel = GeminiGenerateContentAdapter.ModelFromEndpoint(record.Route.Endpoint);
        record.Stream = GeminiGenerateContentAdapter.IsStreamEndpoint(record.Route.Endpoint);
        Dictionary<string, JsonElement>? parameters = null;
        foreach (var (name, value) in config ?? []) (parameters ??= new(StringComparer.Ordinal))[name] = value;
        if (toolsCount is { } count) (parameters ??= new(StringComparer.Ordinal))["tools_count"] = JsonSerializer.SerializeToElement(count, ProviderJsonContext.Default.Int32);
        if (toolConfig is { } tools) (parameters ??= new(StringComparer.Ordinal))[toolConfigName!] = tools;
        if (cachedContent is { } cached) (parameters ??= new(StringComparer.Ordinal))[cachedContentName!] = cached;
        record.ModelParameters = parameters;
        if (system is null && contents is not { Count: > 0 }) return true;
        var messages = contents ?? [];
        if (system is not null) messages.Insert(0, system with { IsSystemInstruction = true });
        record.Messages = messages;
        return true;
    }

    // The members each object's reader takes, by position: a member's field is 1 << its index here, under either spelling.
    private static readonly Members RootNames = Members.Of("contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "cachedContent");
    private static readonly byte[][] ContentNames = Names("role", "parts");
    private static readonly Members PartNames = Members.Of("text", "thought", "functionCall", "functionResponse", "inlineData", "fileData", "executableCode", "codeExecutionResult");
    private static readonly byte[][] CallNames = Names("id", "name", "args");
    private static readonly byte[][] ResponseNames = Names("name", "id", "response");
    private static readonly byte[][] NoNames = [];

    /// <summary>
    /// Member names in both spellings the API takes: protobuf's JSON parser reads a field under its lowerCamelCase
    /// name and under the proto's own snake_case one (<c>systemInstruction</c>, <c>system_instruction</c>). The names
    /// are those given to <see cref="Of"/>, then the snake_case spelling of each that has capitals; both spellings of a
    /// name have the field 1 &lt;&lt; its index in the list given.
    /// </summary>
    private sealed record Members(byte[][] Names, int[] Fields)
    {
        public static Members Of(params string[] camelCase)
        {
            var names = new List<string>(camelCase);
            var fields = new List<int>(camelCase.Select((_, i) => 1 << i));
            for (var i = 0; i < camelCase.Length; i++)
            {
                var snake = SnakeCase(camelCase[i]);
                if (snake == camelCase[i]) continue;
                names.Add(snake);
                fields.Add(1 << i);
            }
            return new Members(FastJsonFields.Names([.. names]), [.. fields]);
        }

        /// <summary>Which of the two spellings <paramref name="name"/> is (a name <c>NextMember</c> matched to their field).</summary>
        public static string Spelling(ReadOnlySpan<byte> name, string camel, string snake) => name.IndexOf((byte)'_') >= 0 ? snake : camel;

        private static string SnakeCase(string camel)
        {
            var snake = new StringBuilder(camel.Length + 4);
            foreach (var c in camel)
            {
                if (char.IsAsciiLetterUpper(c)) snake.Append('_').Append(char.ToLowerInvariant(c));
                else snake.Append(c);
            }
            return snake.ToString();
        }
    }

    private static bool ReadSystemText(ref FastJsonReader reader, CaptureLimits limits, out LlmMessage? system)
    {
        system = null;
        if (!ReadString(ref reader, out var text)) return false;
        system = new LlmMessage { Role = "system", Content = Cap(text, limits.MaxContentChars) };
        return true;
    }

    private static bool ReadContents(ref FastJsonReader reader, CaptureLimits limits, out List<LlmMessage>? contents)
    {
        contents = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!ReadContent(ref reader, null, limits, out var message)) return false;
            contents.Add(message!);
        }
        return !reader.Failed;
    }

    /// <summary>
    /// One <c>Content</c> as <c>ReadContent</c> makes it: text parts joined by newlines (a thought as <c>[thought]</c>),
    /// a function response as its JSON, other parts as a note; function calls as its tool calls. Anything but an object
    /// is a message of the role (the user's when none is given) with no text.
    /// </summary>
    private static bool ReadContent(ref FastJsonReader reader, string? role, CaptureLimits limits, out LlmMessage? message)
    {
        message = null;
        var text = new StringBuilder();
        ToolCallAccumulator? calls = null;
        string? name = null, toolCallId = null, givenRole = null;
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var seen = 0;
            while (NextMember(ref reader, ContentNames, ref seen, out var field))
            {
                var read = field switch
                {
                    1 when role is null && reader.TokenType == JsonTokenType.String => ReadString(ref reader, out givenRole),
                    2 when reader.TokenType == JsonTokenType.StartArray => ReadParts(ref reader, text, ref calls, ref name, ref toolCallId, limits),
                    _ => reader.Skip(),
                };
                if (!read) return false;
            }
            if (reader.Failed) return false;
        }
        else if (!reader.Skip())
        {
            return false;
        }
        message = new LlmMessage
        {
            Role = role ?? givenRole ?? "user",
            Content = Cap(text.ToString(), limits.MaxContentChars),
            Name = name,
            ToolCallId = toolCallId,
            ToolCalls = calls?.ToList(),
        };
        return true;
    }

    private static bool ReadParts(ref FastJsonReader reader, StringBuilder text, ref ToolCallAccumulator? calls, ref string? name, ref string? toolCallId, CaptureLimits limits)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!ReadPart(ref reader, text, ref calls, ref name, ref toolCallId, limits)) return false;
        }
        return !reader.Failed;
    }

    private static bool ReadPart(ref FastJsonReader reader, StringBuilder text, ref ToolCallAccumulator? calls, ref string? name, ref string? toolCallId, CaptureLimits limits)
    {
        string? partText = null, callId = null, callName = null, callArgs = null, responseName = null, responseId = null, response = null;
        bool thought = false, call = false, functionResponse = false;
        var notes = 0; // inlineData, fileData, executableCode, codeExecutionResult: 1 << 0 … 1 << 3 when given and not null
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var seen = 0;
            while (NextMember(ref reader, PartNames.Names, PartNames.Fields, ref seen, out var field, out _))
            {
                var kind = reader.TokenType;
                bool read;
                switch (field)
                {
                    case 1 when kind == JsonTokenType.String:
                        read = ReadString(ref reader, out partText);
                        break;
                    case 2 when kind == JsonTokenType.True:
                        thought = read = true;
                        break;
                    case 4 when kind == JsonTokenType.StartObject:
                        call = true;
                        read = ReadCallOrResponse(ref reader, CallNames, out callId, out callName, out callArgs);
                        break;
                    case 8 when kind == JsonTokenType.StartObject:
                        functionResponse = true;
                        read = ReadCallOrResponse(ref reader, ResponseNames, out responseName, out responseId, out response);
                        break;
                    case 16 or 32 or 64 or 128 when kind != JsonTokenType.Null:
                        notes |= field >> 4;
                        read = reader.Skip();
                        break;
                    default:
                        read = reader.Skip();
                        break;
                }
                if (!read) return false;
            }
            if (reader.Failed) return false;
        }
        else if (!reader.Skip())
        {
            return false;
        }

        string piece;
        if (partText is not null) piece = thought ? "[thought]" : partText;
        else if (call)
        {
            GeminiGenerateContentAdapter.StartFunctionCall((calls ??= new ToolCallAccumulator(limits.MaxContentChars)).Add(), callId, callName, callArgs);
            return true;
        }
        else if (functionResponse)
        {
            name ??= responseName;
            toolCallId ??= responseId;
            piece = response ?? "[function_response]";
        }
        else piece = GeminiGenerateContentAdapter.PartNote((notes & 1) != 0, (notes & 2) != 0, (notes & 4) != 0, (notes & 8) != 0);
        if (text.Length > 0) text.Append('\n');
        text.Append(piece);
        return true;
    }

    /// <summary>
    /// A function call's ID, name and arguments, or a function response's name, ID and response: the two strings named
    /// first in <paramref name="names"/>, and the third member's JSON text (null or absent: none).
    /// </summary>
    private static bool ReadCallOrResponse(ref FastJsonReader reader, byte[][] names, out string? first, out string? second, out string? json)
    {
        first = second = json = null;
        var seen = 0;
        while (NextMember(ref reader, names, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var read = field switch
            {
                1 when isString => ReadString(ref reader, out first),
                2 when isString => ReadString(ref reader, out second),
                4 when reader.TokenType != JsonTokenType.Null => ReadRawText(ref reader, out json),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>
    /// <c>generationConfig</c>'s members in order as <c>ReadParameters</c> keeps them (copies, short scalars shared),
    /// leaving out nulls and response schemas; a name given twice is kept where it first was, with the last value, as
    /// the document path's dictionary does.
    /// </summary>
    private static bool ReadConfig(ref FastJsonReader reader, out List<(string Name, JsonElement Value)>? config)
    {
        config = [];
        var seen = 0;
        while (NextMember(ref reader, NoNames, ref seen, out _, out var member))
        {
            var kind = reader.TokenType;
            var start = reader.TokenStart;
            if (!reader.Skip()) return false;
            var name = NameOf(member);
            if (GeminiGenerateContentAdapter.BulkyConfig.Contains(name) || kind == JsonTokenType.Null) continue;
            config.Add((name, Json.Keep(reader.Slice(start), kind)));
        }
        return !reader.Failed;
    }

    /// <summary><c>tools</c> as <c>ReadParameters</c> counts them: each function declaration, and each other kind of tool (googleSearch, codeExecution, ...).</summary>
    private static bool CountTools(ref FastJsonReader reader, out int? count)
    {
        count = null;
        var total = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                if (!reader.Skip()) return false;
                continue;
            }
            var seen = 0;
            while (NextMember(ref reader, NoNames, ref seen, out _, out var kind))
            {
                if ((kind.SequenceEqual("functionDeclarations"u8) || kind.SequenceEqual("function_declarations"u8)) && reader.TokenType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        total++;
                        if (!reader.Skip()) return false;
                    }
                    if (reader.Failed) return false;
                    continue;
                }
                total++;
                if (!reader.Skip()) return false;
            }
            if (reader.Failed) return false;
        }
        if (reader.Failed) return false;
        count = total;
        return true;
    }

    /// <summary>The value (or the scalar just read) as a document of its own: what the document path's clone holds, the same text, escapes and all.</summary>
    private static bool ReadClone(ref FastJsonReader reader, out JsonElement? value)
    {
        value = null;
        var start = reader.TokenStart;
        if (!reader.Skip()) return false;
        value = JsonElement.Parse(reader.Slice(start));
        return true;
    }
}
