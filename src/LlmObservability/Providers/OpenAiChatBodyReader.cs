using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using static LlmObservability.Providers.FastJsonFields;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for whole OpenAI chat bodies, the request and a non-streamed response: one pass of
/// <see cref="FastJsonReader"/>, no <see cref="JsonDocument"/>. A chat body is mostly two long strings of escaped
/// prose; the document path spends most of a payload's build reading them byte by byte.
/// </summary>
/// <remarks>
/// As <see cref="OpenAiChatChunkReader"/> does for chunks, it reads everything first and changes the record only when
/// the whole body was understood. Whatever it does not handle exactly as <see cref="OpenAiChatAdapter.ParseRequest"/>
/// and <see cref="OpenAiChatAdapter.ParseResponse"/> do makes it return false with the record untouched, and the builder
/// takes the document path: JSON it does not accept (see <see cref="FastJsonReader"/>), a root that is not an object, a
/// field it reads given twice or under an escaped name, text that is not valid Unicode once unescaped, a count that is
/// not a whole number, a message or tool call that is not an object, Groq's <c>x_groq</c>, and an answer whose content
/// is an array of parts (Mistral's reasoning models, whose thinking parts the document path splits off as reasoning).
/// </remarks>
internal static class OpenAiChatBodyReader
{
    /// <summary>Reads a chat request into the record as <see cref="OpenAiChatAdapter.ParseRequest"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        string? model = null;
        bool? stream = null;
        List<LlmMessage>? messages = null;
        Dictionary<string, JsonElement>? parameters = null;
        var seen = 0;
        while (NextMember(ref reader, RequestNames, ref seen, out var field, out var name))
        {
            switch (field)
            {
                case 1 when reader.TokenType == JsonTokenType.StartArray:
                    if (!ReadMessages(ref reader, limits, out messages)) return false;
                    break;
                case 2 when reader.TokenType == JsonTokenType.String:
                    if (!ReadName(ref reader, out model)) return false;
                    break;
                case 4 when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                    stream = reader.TokenType == JsonTokenType.True;
                    break;
                case 0:
                    if (!ReadParameter(ref reader, name, ref parameters)) return false;
                    break;
                default:
                    if (!reader.Skip()) return false;
                    break;
            }
        }
        if (!AtEnd(ref reader)) return false;

        record.RequestedModel = model;
        record.Stream = stream ?? false;
        record.ModelParameters = parameters;
        if (messages is not null) record.Messages = messages;
        return true;
    }

    /// <summary>Reads a whole chat completion into the record as <see cref="OpenAiChatAdapter.ParseResponse"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        string? id = null, model = null, serviceTier = null;
        List<Choice>? choices = null;
        OpenAiChatAdapter.UsageCounts? usage = null;
        var seen = 0;
        while (NextMember(ref reader, ResponseNames, ref seen, out var field, out _))
        {
            switch (field)
            {
                case 1 when reader.TokenType == JsonTokenType.StartArray:
                    if (!ReadChoices(ref reader, out choices)) return false;
                    break;
                case 2 when reader.TokenType == JsonTokenType.String:
                    if (!ReadString(ref reader, out id)) return false;
                    break;
                case 4 when reader.TokenType == JsonTokenType.String:
                    if (!ReadName(ref reader, out model)) return false;
                    break;
                case 8 when reader.TokenType == JsonTokenType.String:
                    if (!ReadName(ref reader, out serviceTier)) return false;
                    break;
                case 16 when reader.TokenType == JsonTokenType.StartObject:
                    if (!ReadUsage(ref reader, out var counts)) return false;
                    usage = counts;
                    break;
                case 32 when reader.TokenType == JsonTokenType.StartObject:
                    return false; // Groq's usage block: the document path reads it
                default:
                    if (!reader.Skip()) return false;
                    break;
            }
        }
        if (!AtEnd(ref reader)) return false;

        // The whole body was understood: apply it in the document path's order.
        record.ResponseId = id is { Length: > 0 } ? id : null;
        record.ResponseModel = model is { Length: > 0 } ? model : null;
        record.ServiceTier = serviceTier ?? record.ServiceTier;
        foreach (var choice in choices ?? [])
        {
            record.AddFinishReason(choice.FinishReason);
            if ((choice.Index ?? 0) != 0 || !choice.HasMessage) continue;
            if (choice.ContentUtf8 is { } utf8) record.Output(limits.MaxContentChars).AppendUtf8(utf8);
            if (choice.Refusal is { Length: > 0 } refusal) (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(refusal);
            if ((choice.ReasoningContentPresent ? choice.ReasoningContent : choice.Reasoning) is { Length: > 0 } reasoning)
                (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(reasoning);
            if (choice.ToolCalls is { } calls)
            {
                record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                foreach (var call in calls) call.ApplyTo(record.ToolCalls.Add());
            }
            if (choice.FunctionCall is { } functionCall)
            {
                record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                functionCall.ApplyTo(record.ToolCalls.Add());
            }
        }
        usage?.ApplyTo(record);
        return true;
    }

    // The members each object's reader takes, by position: a member's field is 1 << its index here.
    private static readonly byte[][] RequestNames = Names("messages", "model", "stream");
    private static readonly byte[][] ResponseNames = Names("choices", "id", "model", "service_tier", "usage", "x_groq");
    private static readonly byte[][] TypeName = Names("type");
    private static readonly byte[][] MessageNames = Names("content", "role", "name", "tool_call_id", "tool_calls");
    private static readonly byte[][] PartNames = Names("type", "text", "refusal");
    private static readonly byte[][] ChoiceNames = Names("message", "index", "finish_reason");
    private static readonly byte[][] ResponseMessageNames = Names("content", "refusal", "reasoning_content", "reasoning", "tool_calls", "function_call");
    private static readonly byte[][] UsageNames = Names(
        "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens");
    private static readonly byte[][] PromptDetailsNames = Names("cached_tokens", "cache_write_tokens");
    private static readonly byte[][] CompletionDetailsNames = Names("reasoning_tokens");
    private static readonly byte[][] ToolCallNames = Names("id", "type", "function");
    private static readonly byte[][] FunctionNames = Names("name", "arguments");

    // ---- request -------------------------------------------------------------------------------------------------

    /// <summary>One model parameter, as <see cref="OpenAiChatAdapter.ReadParameters"/> keeps it.</summary>
    internal static bool ReadParameter(ref FastJsonReader reader, scoped ReadOnlySpan<byte> name, ref Dictionary<string, JsonElement>? parameters)
    {
        if (reader.TokenType == JsonTokenType.Null) return true;
        var key = NameOf(name);
        var start = reader.TokenStart;
        var kind = reader.TokenType;
        parameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (key is "tools" or "functions" && kind == JsonTokenType.StartArray)
        {
            var count = 0;
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                count++;
                if (!reader.Skip()) return false;
            }
            if (reader.Failed) return false;
            parameters["tools_count"] = OpenAiChatAdapter.CountElement(count);
            return true;
        }
        if (key == "response_format" && kind == JsonTokenType.StartObject)
        {
            string? type = null;
            var seen = 0;
            while (NextMember(ref reader, TypeName, ref seen, out var field, out _))
            {
                var read = field == 1 && reader.TokenType == JsonTokenType.String ? ReadString(ref reader, out type) : reader.Skip();
                if (!read) return false;
            }
            if (reader.Failed) return false;
            parameters[key] = type is not null
                ? OpenAiChatAdapter.TextElement(type)
                : Json.Keep(reader.Slice(start), kind);
            return true;
        }
        if (!reader.Skip()) return false;
        parameters[key] = Json.Keep(reader.Slice(start), kind);
        return true;
    }

    private static bool ReadMessages(ref FastJsonReader reader, CaptureLimits limits, out List<LlmMessage>? messages)
    {
        messages = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject || !ReadMessage(ref reader, limits, out var message)) return false;
            messages.Add(message);
        }
        return !reader.Failed;
    }

    /// <summary>One input message, as <see cref="OpenAiChatAdapter.ReadMessage"/> makes it.</summary>
    private static bool ReadMessage(ref FastJsonReader reader, CaptureLimits limits, out LlmMessage message)
    {
        message = null!;
        string? role = null, name = null, toolCallId = null, text = null;
        byte[]? utf8 = null;
        List<LlmToolCall>? toolCalls = null;
        var seen = 0;
        while (NextMember(ref reader, MessageNames, ref seen, out var field, out _))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.String => ReadUtf8(ref reader, out utf8),
                1 when reader.TokenType == JsonTokenType.StartArray => ReadContentParts(ref reader, out text),
                2 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out role),
                4 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out name),
                8 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out toolCallId),
                16 when reader.TokenType == JsonTokenType.StartArray => ReadRequestToolCalls(ref reader, limits, out toolCalls),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        message = OpenAiChatAdapter.Message(role, utf8, text, name, toolCallId, toolCalls, limits.MaxContentChars);
        return true;
    }

    private static bool ReadRequestToolCalls(ref FastJsonReader reader, CaptureLimits limits, out List<LlmToolCall>? toolCalls)
    {
        toolCalls = null;
        if (!ReadToolCalls(ref reader, out var calls)) return false;
        var accumulator = new ToolCallAccumulator(limits.MaxContentChars);
        foreach (var call in calls!) call.ApplyTo(accumulator.Add());
        toolCalls = accumulator.ToList();
        return true;
    }

    /// <summary>Content given as parts, joined as <see cref="OpenAiChatAdapter.ContentText"/> joins them.</summary>
    private static bool ReadContentParts(ref FastJsonReader reader, out string? text)
    {
        text = null;
        var builder = new StringBuilder();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            string? partText = null, type = null;
            if (reader.TokenType == JsonTokenType.String)
            {
                if (!ReadString(ref reader, out partText)) return false;
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                string? textField = null, refusal = null;
                var seen = 0;
                while (NextMember(ref reader, PartNames, ref seen, out var field, out _))
                {
                    var read = field switch
                    {
                        1 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out type),
                        2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out textField),
                        4 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out refusal),
                        _ => reader.Skip(),
                    };
                    if (!read) return false;
                }
                if (reader.Failed) return false;
                partText = textField ?? refusal;
            }
            else if (!reader.Skip())
            {
                return false;
            }
            OpenAiChatAdapter.AppendContentPart(builder, partText, type);
        }
        if (reader.Failed) return false;
        text = builder.ToString();
        return true;
    }

    // ---- response ------------------------------------------------------------------------------------------------

    private sealed class Choice
    {
        public string? FinishReason;
        public long? Index;
        public bool HasMessage;
        public byte[]? ContentUtf8;
        public string? Refusal;
        public bool ReasoningContentPresent;
        public string? ReasoningContent;
        public string? Reasoning;
        public List<ToolCall>? ToolCalls;
        public ToolCall? FunctionCall; // the legacy function_call, a tool call of type function without an id
    }

    private static bool ReadChoices(ref FastJsonReader reader, out List<Choice>? choices)
    {
        choices = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Not an object: the document path reads nothing from it.
                if (!reader.Skip()) return false;
                continue;
            }
            var choice = new Choice();
            var seen = 0;
            while (NextMember(ref reader, ChoiceNames, ref seen, out var field, out _))
            {
                var read = field switch
                {
                    1 when reader.TokenType == JsonTokenType.StartObject => ReadResponseMessage(ref reader, choice),
                    2 => ReadLong(ref reader, out choice.Index),
                    4 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out choice.FinishReason),
                    _ => reader.Skip(),
                };
                if (!read) return false;
            }
            if (reader.Failed) return false;
            choices.Add(choice);
        }
        return !reader.Failed;
    }

    private static bool ReadResponseMessage(ref FastJsonReader reader, Choice choice)
    {
        choice.HasMessage = true;
        var seen = 0;
        while (NextMember(ref reader, ResponseMessageNames, ref seen, out var field, out _))
        {
            if (field == 4) choice.ReasoningContentPresent = reader.TokenType != JsonTokenType.Null;
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.String => ReadUtf8(ref reader, out choice.ContentUtf8),
                1 when reader.TokenType == JsonTokenType.StartArray => false, // parts: the document path splits thinking from the answer
                2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out choice.Refusal),
                4 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out choice.ReasoningContent),
                8 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out choice.Reasoning),
                16 when reader.TokenType == JsonTokenType.StartArray => ReadToolCalls(ref reader, out choice.ToolCalls),
                32 when reader.TokenType == JsonTokenType.StartObject => ReadFunctionCall(ref reader, out choice.FunctionCall),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>The legacy <c>function_call</c>, as <see cref="OpenAiChatAdapter.ReadFunctionCall"/> records it.</summary>
    private static bool ReadFunctionCall(ref FastJsonReader reader, out ToolCall? call)
    {
        call = null;
        if (!ReadFunction(ref reader, out var name, out var arguments)) return false;
        call = new ToolCall(null, "function", true, name, arguments);
        return true;
    }

    /// <summary>A usage block's counts; <see cref="OpenAiChatAdapter.UsageCounts.ApplyTo"/> applies them.</summary>
    private static bool ReadUsage(ref FastJsonReader reader, out OpenAiChatAdapter.UsageCounts usage)
    {
        usage = default;
        long? hit = null, prompt = null, miss = null, completion = null, total = null, cached = null, cacheWrite = null, reasoning = null;
        bool promptDetails = false, completionDetails = false;
        var seen = 0;
        while (NextMember(ref reader, UsageNames, ref seen, out var field, out _))
        {
            var read = field switch
            {
                1 => ReadLong(ref reader, out prompt),
                2 => ReadLong(ref reader, out completion),
                4 => ReadLong(ref reader, out total),
                8 when reader.TokenType == JsonTokenType.StartObject => promptDetails = ReadCounts(ref reader, PromptDetailsNames, out cached, out cacheWrite),
                16 when reader.TokenType == JsonTokenType.StartObject => completionDetails = ReadCounts(ref reader, CompletionDetailsNames, out reasoning, out _),
                32 => ReadLong(ref reader, out hit),
                64 => ReadLong(ref reader, out miss),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        usage = new OpenAiChatAdapter.UsageCounts(hit, prompt, miss, completion, total, promptDetails, cached, cacheWrite, completionDetails, reasoning);
        return true;
    }

    // ---- tool calls ----------------------------------------------------------------------------------------------

    /// <summary>One tool call as read; <see cref="ApplyTo"/> does what <see cref="OpenAiChatAdapter.ReadToolCall"/> does.</summary>
    private readonly record struct ToolCall(string? Id, string? Type, bool HasFunction, string? Name, string? Arguments)
    {
        public void ApplyTo(ToolCallAccumulator.Builder builder)
        {
            builder.Id ??= Id;
            builder.Type ??= Type;
            if (!HasFunction) return;
            builder.Name ??= Name;
            builder.Arguments.Append(Arguments);
        }
    }

    private static bool ReadToolCalls(ref FastJsonReader reader, out List<ToolCall>? calls)
    {
        calls = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return false;
            string? id = null, type = null, name = null, arguments = null;
            var hasFunction = false;
            var seen = 0;
            while (NextMember(ref reader, ToolCallNames, ref seen, out var field, out _))
            {
                var read = field switch
                {
                    1 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out id),
                    2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out type),
                    4 when reader.TokenType == JsonTokenType.StartObject => hasFunction = ReadFunction(ref reader, out name, out arguments),
                    _ => reader.Skip(),
                };
                if (!read) return false;
            }
            if (reader.Failed) return false;
            calls.Add(new ToolCall(id, type, hasFunction, name, arguments));
        }
        return !reader.Failed;
    }

    private static bool ReadFunction(ref FastJsonReader reader, out string? name, out string? arguments)
    {
        name = arguments = null;
        var seen = 0;
        while (NextMember(ref reader, FunctionNames, ref seen, out var field, out _))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out name),
                2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out arguments),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }
}
