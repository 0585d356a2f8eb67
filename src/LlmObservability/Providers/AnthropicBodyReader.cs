using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using static LlmObservability.Providers.AnthropicMessagesAdapter;
using static LlmObservability.Providers.CaptureLimits;
using static LlmObservability.Providers.FastJsonFields;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for whole Anthropic Messages bodies, the request and a non-streamed response: one pass of
/// <see cref="FastJsonReader"/>, no <see cref="JsonDocument"/>, as <see cref="OpenAiChatBodyReader"/> does for OpenAI
/// chat. A Messages body is mostly prose in text blocks (a system prompt, a conversation, the answer), which the
/// document path reads byte by byte from each string's first escaped newline.
/// </summary>
/// <remarks>
/// It reads everything first and changes the record only when the whole body was understood, with the adapter's own
/// helpers where they are free of <see cref="JsonElement"/>s (block notes, message flushing, stop reasons, reasoning,
/// parameter values). Whatever it does not handle exactly as <see cref="AnthropicMessagesAdapter.ParseRequest"/> and
/// <see cref="AnthropicMessagesAdapter.ParseResponse"/> do makes it return false with the record untouched, and the
/// builder takes the document path: JSON it does not accept (see <see cref="FastJsonReader"/>), a root that is not an
/// object, any escaped member name, a member it reads given twice (at the root: <c>model</c>, <c>stream</c>,
/// <c>system</c>, <c>messages</c>; in a message, a block, the usage and the parameter objects it looks into), a string
/// it reads that is not valid Unicode once unescaped, a token count that is not a whole number.
/// </remarks>
internal static class AnthropicBodyReader
{
    /// <summary>Reads a Messages request into the record as <see cref="AnthropicMessagesAdapter.ParseRequest"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        string? model = null, system = null;
        bool? stream = null;
        List<LlmMessage>? messages = null;
        Dictionary<string, JsonElement>? parameters = null;
        var seen = 0;
        while (NextMember(ref reader, RequestNames, ref seen, out var field, out var name))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.StartArray => ReadMessages(ref reader, limits, out messages),
                2 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out model),
                4 when reader.TokenType is JsonTokenType.String or JsonTokenType.StartArray => ReadContentText(ref reader, limits, out system),
                8 when reader.TokenType is JsonTokenType.True or JsonTokenType.False => ReadBool(ref reader, out stream),
                0 => ReadParameter(ref reader, name, ref parameters),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (!AtEnd(ref reader)) return false;

        record.RequestedModel = model;
        record.Stream = stream ?? false;
        record.ModelParameters = parameters;
        if (system is null && messages is null) return true;
        var list = messages ?? [];
        if (system is not null) list.Insert(0, new LlmMessage { Role = "system", Content = system, IsSystemInstruction = true });
        record.Messages = list;
        return true;
    }

    /// <summary>Reads a whole message into the record as <see cref="AnthropicMessagesAdapter.ParseResponse"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        string? id = null, model = null, stopReason = null;
        List<Block>? blocks = null;
        Usage? usage = null;
        var seen = 0;
        while (NextMember(ref reader, ResponseNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.StartArray => ReadResponseBlocks(ref reader, limits, out blocks),
                2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out id),
                4 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out model),
                8 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out stopReason),
                16 when reader.TokenType == JsonTokenType.StartObject => ReadUsage(ref reader, out usage),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (!AtEnd(ref reader)) return false;

        // The whole body was understood: apply it in the document path's order.
        record.ResponseId = id;
        record.ResponseModel = model;
        for (var index = 0; index < (blocks?.Count ?? 0); index++)
        {
            var block = blocks![index];
            switch (block.Type)
            {
                case "text":
                    record.Output(limits.MaxContentChars).Append(block.Text);
                    break;
                case "thinking":
                    AppendReasoning(record, limits, block.Thinking, newBlock: true);
                    break;
                case "redacted_thinking":
                    AppendReasoning(record, limits, RedactedThinkingNote, newBlock: true);
                    break;
                default:
                    if (IsToolUse(block.Type))
                    {
                        record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                        block.StartToolUse(record.ToolCalls[index]);
                    }
                    break;
            }
        }
        AddStopReason(record, stopReason);
        usage?.ApplyTo(record);
        return true;
    }

    // The members each object's reader takes, by position: a member's field is 1 << its index here.
    private static readonly byte[][] RequestNames = Names("messages", "model", "system", "stream");
    private static readonly byte[][] ResponseNames = Names("content", "id", "model", "stop_reason", "usage");
    private static readonly byte[][] MessageNames = Names("role", "content");
    private static readonly byte[][] BlockNames = Names("type", "text", "title", "id", "name", "input", "tool_use_id", "content", "thinking");
    private static readonly byte[][] TypeName = Names("type");
    private static readonly byte[][] UserIdName = Names("user_id");
    private static readonly byte[][] ThinkingNames = Names("type", "budget_tokens");
    private static readonly byte[][] FormatName = Names("format");
    private static readonly byte[][] UsageNames = Names(
        "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "cache_creation", "output_tokens_details", "service_tier", "speed");
    private static readonly byte[][] CacheCreationNames = Names("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens");
    private static readonly byte[][] OutputDetailsNames = Names("thinking_tokens");

    // ---- request -------------------------------------------------------------------------------------------------

    /// <summary>One member of the request that is not input: a model parameter, as <c>ReadParameters</c> keeps it.</summary>
    private static bool ReadParameter(ref FastJsonReader reader, scoped ReadOnlySpan<byte> name, ref Dictionary<string, JsonElement>? parameters)
    {
        var kind = reader.TokenType;
        if (kind == JsonTokenType.Null) return true;
        var key = NameOf(name);
        var start = reader.TokenStart;
        switch (key)
        {
            case "tools" or "mcp_servers" when kind == JsonTokenType.StartArray:
                var count = 0;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    count++;
                    if (!reader.Skip()) return false;
                }
                if (reader.Failed) return false;
                Set(ref parameters, key + "_count", Number(count));
                return true;
            case "metadata" when kind == JsonTokenType.StartObject:
                return ReadMetadata(ref reader, ref parameters);
            case "thinking" when kind == JsonTokenType.StartObject:
                return ReadThinking(ref reader, ref parameters);
            case "output_config" when kind == JsonTokenType.StartObject:
                var seen = 0;
                while (NextMember(ref reader, FormatName, ref seen, out var field, out var setting))
                {
                    if (field == 1)
                    {
                        if (!ReadOutputFormat(ref reader, ref parameters)) return false;
                        continue;
                    }
                    var settingKind = reader.TokenType;
                    var settingStart = reader.TokenStart;
                    if (!reader.Skip()) return false;
                    if (settingKind != JsonTokenType.Null) Set(ref parameters, NameOf(setting), Json.Keep(reader.Slice(settingStart), settingKind));
                }
                return !reader.Failed;
            case "output_format":
                return ReadOutputFormat(ref reader, ref parameters);
            default:
                if (!reader.Skip()) return false;
                Set(ref parameters, key, Json.Keep(reader.Slice(start), kind));
                return true;
        }
    }

    /// <summary><c>metadata.user_id</c> as <c>user_id</c>, a copy of the value as it is.</summary>
    private static bool ReadMetadata(ref FastJsonReader reader, ref Dictionary<string, JsonElement>? parameters)
    {
        JsonElement? userId = null;
        var seen = 0;
        while (NextMember(ref reader, UserIdName, ref seen, out var field))
        {
            var kind = reader.TokenType;
            var start = reader.TokenStart;
            if (!reader.Skip()) return false;
            if (field != 1 || kind == JsonTokenType.Null) continue;
            userId = JsonElement.Parse(reader.Slice(start)); // what the document path's clone holds: the same text, escapes and all
        }
        if (reader.Failed) return false;
        if (userId is { } value) Set(ref parameters, "user_id", value);
        return true;
    }

    /// <summary><c>thinking</c> as its type, then its budget as <c>thinking_budget_tokens</c> when it is a number.</summary>
    private static bool ReadThinking(ref FastJsonReader reader, ref Dictionary<string, JsonElement>? parameters)
    {
        string? type = null;
        JsonElement? budget = null;
        var seen = 0;
        while (NextMember(ref reader, ThinkingNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out type),
                2 when reader.TokenType == JsonTokenType.Number => Keep(reader.ValueSpan, out budget),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        if (type is not null) Set(ref parameters, "thinking", Text(type));
        if (budget is { } tokens) Set(ref parameters, "thinking_budget_tokens", tokens);
        return true;

        static bool Keep(ReadOnlySpan<byte> number, out JsonElement? value)
        {
            value = Json.Keep(number, JsonTokenType.Number);
            return true;
        }
    }

    /// <summary>A structured-output format as its type, never the schema; anything but an object with a string type records nothing.</summary>
    private static bool ReadOutputFormat(ref FastJsonReader reader, ref Dictionary<string, JsonElement>? parameters)
    {
        if (reader.TokenType != JsonTokenType.StartObject) return reader.Skip();
        if (!ReadNameMember(ref reader, TypeName, out var type)) return false;
        if (type is not null) Set(ref parameters, "output_format", Text(type));
        return true;
    }

    private static bool ReadMessages(ref FastJsonReader reader, CaptureLimits limits, out List<LlmMessage>? messages)
    {
        messages = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Not an object: the document path reads nothing from it.
                if (!reader.Skip()) return false;
                continue;
            }
            if (!ReadMessage(ref reader, limits, messages)) return false;
        }
        return !reader.Failed;
    }

    /// <summary>One request message, as <c>ReadMessage</c> makes it: one message, or several when it holds tool results.</summary>
    private static bool ReadMessage(ref FastJsonReader reader, CaptureLimits limits, List<LlmMessage> into)
    {
        string? role = null, text = null;
        var blocks = false;
        var blocksAt = default(FastJsonReader);
        var seen = 0;
        while (NextMember(ref reader, MessageNames, ref seen, out var field))
        {
            bool read;
            if (field == 1)
            {
                read = reader.TokenType != JsonTokenType.String ? reader.Skip() : ReadName(ref reader, out role);
            }
            else if (field == 2 && reader.TokenType == JsonTokenType.StartArray)
            {
                blocks = true;
                if ((seen & 1) != 0)
                {
                    read = ReadMessageBlocks(ref reader, role, limits, into);
                }
                else
                {
                    // Blocks become messages of the role, which comes later: read them once it is known.
                    read = SkipFrom(ref reader, out blocksAt);
                }
            }
            else
            {
                read = field == 2 && reader.TokenType == JsonTokenType.String ? ReadContentText(ref reader, limits, out text) : reader.Skip();
            }
            if (!read) return false;
        }
        if (reader.Failed) return false;
        if (!blocks)
        {
            into.Add(new LlmMessage { Role = role, Content = text });
            return true;
        }
        return blocksAt.TokenType != JsonTokenType.StartArray || ReadMessageBlocks(ref blocksAt, role, limits, into);
    }

    /// <summary>A message's blocks: text and notes as one message of its role with its tool uses, each tool result a message of its own.</summary>
    private static bool ReadMessageBlocks(ref FastJsonReader reader, string? role, CaptureLimits limits, List<LlmMessage> into)
    {
        var text = new StringBuilder();
        ToolCallAccumulator? calls = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!ReadBlock(ref reader, limits, toolResultContent: true, out var block)) return false;
            if (block.Type == "tool_result")
            {
                Flush(into, role, text, ref calls, limits);
                into.Add(new LlmMessage { Role = "tool", Content = block.Content, ToolCallId = block.ToolUseId });
            }
            else if (IsToolUse(block.Type))
            {
                calls ??= new ToolCallAccumulator(limits.MaxContentChars);
                block.StartToolUse(calls.Add());
            }
            else
            {
                block.AppendTo(text);
            }
        }
        if (reader.Failed) return false;
        Flush(into, role, text, ref calls, limits);
        return true;
    }

    /// <summary>Content as text, as <c>ContentText</c> makes it from a string or an array of blocks (capped).</summary>
    private static bool ReadContentText(ref FastJsonReader reader, CaptureLimits limits, out string? text)
    {
        text = null;
        if (reader.TokenType == JsonTokenType.String)
        {
            if (!ReadString(ref reader, out var value)) return false;
            text = Cap(value, limits.MaxContentChars);
            return true;
        }
        var builder = new StringBuilder();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!ReadBlock(ref reader, limits, toolResultContent: false, out var block)) return false;
            block.AppendTo(builder);
        }
        if (reader.Failed) return false;
        text = Cap(builder.ToString(), limits.MaxContentChars);
        return true;
    }

    // ---- blocks --------------------------------------------------------------------------------------------------

    /// <summary>
    /// One content block as read: an object's fields that any block type is read for (the document path picks by type),
    /// or a string, which is text. Anything else is a block without a type.
    /// </summary>
    private sealed class Block
    {
        public string? Type;
        public string? Text;
        public string? Title;
        public string? Id;
        public string? Name;
        public string? Input;
        public string? ToolUseId;
        public string? Content;
        public string? Thinking;

        /// <summary>As <c>AppendBlock</c>: text, a document's title, or a note.</summary>
        public void AppendTo(StringBuilder builder) => AppendBlock(builder, Type, Text, Title);

        /// <summary>As <c>StartToolUse</c>, then the input as its JSON text.</summary>
        public void StartToolUse(ToolCallAccumulator.Builder call)
        {
            call.Id ??= Id;
            call.Name ??= Name;
            call.Type ??= ToolType(Type!);
            if (Input is not null) call.Arguments.Append(Input);
        }
    }

    /// <summary>
    /// The block at the reader. A <c>tool_result</c>'s content is read as text only when <paramref name="toolResultContent"/>
    /// (in a message's blocks; inside a tool result it is only a note).
    /// </summary>
    private static bool ReadBlock(ref FastJsonReader reader, CaptureLimits limits, bool toolResultContent, out Block block)
    {
        block = new Block();
        if (reader.TokenType == JsonTokenType.String)
        {
            block.Type = "text";
            return ReadString(ref reader, out block.Text);
        }
        if (reader.TokenType != JsonTokenType.StartObject) return reader.Skip();
        var contentAt = default(FastJsonReader);
        var seen = 0;
        while (NextMember(ref reader, BlockNames, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var read = field switch
            {
                1 when isString => ReadName(ref reader, out block.Type),
                2 when isString => ReadString(ref reader, out block.Text),
                4 when isString => ReadString(ref reader, out block.Title),
                8 when isString => ReadString(ref reader, out block.Id),
                16 when isString => ReadString(ref reader, out block.Name),
                32 when reader.TokenType != JsonTokenType.Null => ReadRawText(ref reader, out block.Input),
                64 when isString => ReadString(ref reader, out block.ToolUseId),
                // Read once the type is known: only a tool result's content is recorded.
                128 when toolResultContent && (isString || reader.TokenType == JsonTokenType.StartArray) => SkipFrom(ref reader, out contentAt),
                256 when isString => ReadString(ref reader, out block.Thinking),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        return block.Type != "tool_result" || contentAt.TokenType is not (JsonTokenType.String or JsonTokenType.StartArray)
            || ReadContentText(ref contentAt, limits, out block.Content);
    }

    /// <summary>Skips the value, keeping in <paramref name="at"/> a reader that can read it later.</summary>
    private static bool SkipFrom(scoped ref FastJsonReader reader, out FastJsonReader at)
    {
        at = reader;
        return reader.Skip();
    }

    // ---- response ------------------------------------------------------------------------------------------------

    private static bool ReadResponseBlocks(ref FastJsonReader reader, CaptureLimits limits, out List<Block>? blocks)
    {
        blocks = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                // Not an object: the document path reads nothing from it, but counts it.
                blocks.Add(new Block());
                continue;
            }
            if (!ReadBlock(ref reader, limits, toolResultContent: false, out var block)) return false;
            blocks.Add(block);
        }
        return !reader.Failed;
    }

    /// <summary>A usage block's counts as given (null: absent); <see cref="ApplyTo"/> does what <c>ReadUsage</c> does.</summary>
    private readonly record struct Usage(
        long? Input, long? Output, long? CacheRead, long? CacheCreation, bool HasByLifetime, long? FiveMinutes, long? OneHour, bool HasDetails, long? Thinking,
        string? ServiceTier, string? Speed)
    {
        public void ApplyTo(CallRecord record)
        {
            record.PromptTokens = Input ?? record.PromptTokens;
            record.CompletionTokens = Output ?? record.CompletionTokens;
            record.CachedPromptTokens = CacheRead ?? record.CachedPromptTokens;
            var cacheCreation = CacheCreation;
            if (HasByLifetime)
            {
                record.CacheCreation1hTokens = OneHour ?? record.CacheCreation1hTokens;
                cacheCreation ??= Json.Add(FiveMinutes, OneHour);
            }
            record.CacheCreationTokens = cacheCreation ?? record.CacheCreationTokens;
            if (HasDetails) record.ReasoningTokens = Thinking ?? record.ReasoningTokens;
            record.TotalTokens = Json.Add(Json.Add(record.PromptTokens, record.CachedPromptTokens), Json.Add(record.CacheCreationTokens, record.CompletionTokens));
            record.ServiceTier = ServiceTier ?? record.ServiceTier;
            record.Speed = Speed ?? record.Speed;
        }
    }

    private static bool ReadUsage(ref FastJsonReader reader, out Usage? usage)
    {
        usage = null;
        long? input = null, output = null, cacheRead = null, cacheCreation = null, fiveMinutes = null, oneHour = null, thinking = null;
        string? serviceTier = null, speed = null;
        bool byLifetime = false, details = false;
        var seen = 0;
        while (NextMember(ref reader, UsageNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 => ReadLong(ref reader, out input),
                2 => ReadLong(ref reader, out output),
                4 => ReadLong(ref reader, out cacheRead),
                8 => ReadLong(ref reader, out cacheCreation),
                16 when reader.TokenType == JsonTokenType.StartObject => byLifetime = ReadCounts(ref reader, CacheCreationNames, out fiveMinutes, out oneHour),
                32 when reader.TokenType == JsonTokenType.StartObject => details = ReadCounts(ref reader, OutputDetailsNames, out thinking, out _),
                64 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out serviceTier),
                128 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out speed),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        usage = new Usage(input, output, cacheRead, cacheCreation, byLifetime, fiveMinutes, oneHour, details, thinking, serviceTier, speed);
        return true;
    }
}
