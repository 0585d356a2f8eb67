using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;
using static LlmObservability.Providers.FastJsonFields;
using static LlmObservability.Providers.OpenAiResponsesAdapter;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for whole OpenAI Responses bodies, the request and a non-streamed response: one pass of
/// <see cref="FastJsonReader"/>, no <see cref="JsonDocument"/>, as <see cref="AnthropicBodyReader"/> does for Anthropic
/// Messages. A Responses body is mostly prose in input items and output parts, which the document path reads byte by
/// byte from each string's first escaped newline.
/// </summary>
/// <remarks>
/// It reads everything first and changes the record only when the whole body was understood, with the adapter's own
/// helpers where they are free of <see cref="JsonElement"/>s (content parts, function call types, reasoning, finish
/// reasons) and <see cref="OpenAiChatBodyReader.ReadParameter"/> for the parameters chat shares. Whatever it does not
/// handle exactly as <see cref="OpenAiResponsesAdapter.ParseRequest"/> and <see cref="OpenAiResponsesAdapter.ParseResponse"/>
/// do makes it return false with the record untouched, and the builder takes the document path: JSON it does not accept
/// (see <see cref="FastJsonReader"/>), a root that is not an object, any escaped member name, a member it reads given
/// twice (at the root: <c>input</c>, <c>instructions</c>, <c>model</c>, <c>stream</c>, <c>reasoning</c>, <c>text</c>,
/// <c>prompt</c>, <c>output</c>, <c>id</c>, <c>status</c>, <c>incomplete_details</c>, <c>usage</c>, <c>error</c>,
/// <c>service_tier</c>; in an
/// item, a part, the usage and the objects it looks into), a string it reads that is not valid Unicode once unescaped
/// (it reads every field any item or part type is read for, whatever the type), a token count that is not a whole number.
/// </remarks>
internal static class ResponsesBodyReader
{
    /// <summary>Reads a Responses request into the record as <see cref="OpenAiResponsesAdapter.ParseRequest"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        string? model = null, instructions = null, inputText = null;
        string? effort = null, summary = null, format = null, verbosity = null, promptId = null, promptVersion = null;
        bool? stream = null;
        List<LlmMessage>? items = null;
        Dictionary<string, JsonElement>? parameters = null;
        var seen = 0;
        while (NextMember(ref reader, RequestNames, ref seen, out var field, out var name))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var isObject = reader.TokenType == JsonTokenType.StartObject;
            var read = field switch
            {
                1 when isString => ReadString(ref reader, out inputText),
                1 when reader.TokenType == JsonTokenType.StartArray => ReadInputItems(ref reader, limits, out items),
                2 when isString => ReadString(ref reader, out instructions),
                4 when isString => ReadName(ref reader, out model),
                8 when reader.TokenType is JsonTokenType.True or JsonTokenType.False => ReadBool(ref reader, out stream),
                16 when isObject => ReadStrings(ref reader, ReasoningNames, out effort, out summary),
                32 when isObject => ReadTextSettings(ref reader, out format, out verbosity),
                64 when isObject => ReadPrompt(ref reader, out promptId, out promptVersion),
                0 => OpenAiChatBodyReader.ReadParameter(ref reader, name, ref parameters),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (!AtEnd(ref reader)) return false;

        // The whole body was understood: apply it in the document path's order.
        record.RequestedModel = model;
        record.Stream = stream ?? false;
        Set(ref parameters, "reasoning_effort", effort);
        Set(ref parameters, "reasoning_summary", summary);
        Set(ref parameters, "text_format", format);
        Set(ref parameters, "text_verbosity", verbosity);
        Set(ref parameters, "prompt_id", promptId);
        Set(ref parameters, "prompt_version", promptVersion);
        record.ModelParameters = parameters;

        var messages = new List<LlmMessage>((items?.Count ?? 0) + 2);
        if (instructions is not null) messages.Add(new LlmMessage { Role = "system", Content = Cap(instructions, limits.MaxContentChars), IsSystemInstruction = true });
        if (inputText is not null) messages.Add(new LlmMessage { Role = "user", Content = Cap(inputText, limits.MaxContentChars) });
        if (items is not null) messages.AddRange(items);
        if (messages.Count > 0) record.Messages = messages;
        return true;
    }

    /// <summary>Reads a whole response object into the record as <see cref="OpenAiResponsesAdapter.ParseResponse"/> does. False: not read, nothing changed.</summary>
    public static bool TryReadResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        var reader = new FastJsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        string? id = null, model = null, status = null, incompleteReason = null, serviceTier = null;
        List<OutputItem>? output = null;
        Usage usage = default;
        Error? error = null;
        var seen = 0;
        while (NextMember(ref reader, ResponseNames, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var isObject = reader.TokenType == JsonTokenType.StartObject;
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.StartArray => ReadOutput(ref reader, out output),
                2 when isString => ReadString(ref reader, out id),
                4 when isString => ReadName(ref reader, out model),
                8 when isString => ReadName(ref reader, out status),
                16 when isObject => ReadNameMember(ref reader, ReasonName, out incompleteReason),
                32 when isObject => ReadUsage(ref reader, out usage),
                64 when isObject => ReadError(ref reader, out error),
                128 when isString => ReadName(ref reader, out serviceTier),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (!AtEnd(ref reader)) return false;

        // The whole body was understood: apply it in the document path's order (ReadResponseObject).
        record.ResponseId = id is { Length: > 0 } ? id : record.ResponseId;
        record.ResponseModel = model is { Length: > 0 } ? model : record.ResponseModel;
        record.ServiceTier = serviceTier ?? record.ServiceTier;
        foreach (var item in output ?? []) item.ApplyTo(record, limits);
        usage.ApplyTo(record);
        error?.ApplyTo(record);
        record.AddFinishReason(FinishReason(status, incompleteReason, record.ToolCalls is { Count: > 0 }));
        return true;
    }

    // The members each object's reader takes, by position: a member's field is 1 << its index here.
    private static readonly byte[][] RequestNames = Names("input", "instructions", "model", "stream", "reasoning", "text", "prompt");
    private static readonly byte[][] ResponseNames = Names("output", "id", "model", "status", "incomplete_details", "usage", "error", "service_tier");
    private static readonly byte[][] ReasoningNames = Names("effort", "summary");
    private static readonly byte[][] TextNames = Names("format", "verbosity");
    private static readonly byte[][] TypeName = Names("type");
    private static readonly byte[][] PromptNames = Names("id", "version");
    private static readonly byte[][] ItemNames = Names("type", "role", "content", "call_id", "id", "name", "arguments", "input", "output", "summary");
    private static readonly byte[][] PartNames = Names("type", "text", "refusal", "filename");
    private static readonly byte[][] ReasonName = Names("reason");
    private static readonly byte[][] UsageNames = Names("input_tokens", "output_tokens", "total_tokens", "input_tokens_details", "output_tokens_details");
    private static readonly byte[][] CachedName = Names("cached_tokens");
    private static readonly byte[][] ReasoningTokensName = Names("reasoning_tokens");
    private static readonly byte[][] ErrorNames = Names("code", "message");

    /// <summary>A string value read as the document path's <c>Json.Scalar</c> reads it: a string's text, a number's or boolean's JSON text.</summary>
    private static bool ReadScalar(ref FastJsonReader reader, out string? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                return ReadString(ref reader, out value);
            case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False:
                value = Encoding.UTF8.GetString(reader.ValueSpan); // ASCII, as it was written
                return true;
            default:
                return reader.Skip();
        }
    }

    /// <summary>Sets a parameter to a string, as the adapter's <c>ReadParameters</c> does; nothing for null.</summary>
    private static void Set(ref Dictionary<string, JsonElement>? parameters, string name, string? value)
    {
        if (value is null) return;
        (parameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))[name] = OpenAiChatAdapter.TextElement(value);
    }

    // ---- request -------------------------------------------------------------------------------------------------

    /// <summary>An object's two string members named by <paramref name="names"/> (<c>reasoning</c>'s effort and summary).</summary>
    private static bool ReadStrings(ref FastJsonReader reader, byte[][] names, out string? first, out string? second)
    {
        first = second = null;
        var seen = 0;
        while (NextMember(ref reader, names, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var read = field switch
            {
                1 when isString => ReadString(ref reader, out first),
                2 when isString => ReadString(ref reader, out second),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary><c>text</c>: its format's type (when the format is an object) and its verbosity.</summary>
    private static bool ReadTextSettings(ref FastJsonReader reader, out string? format, out string? verbosity)
    {
        format = verbosity = null;
        var seen = 0;
        while (NextMember(ref reader, TextNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.StartObject => ReadStrings(ref reader, TypeName, out format, out _),
                2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out verbosity),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>A stored prompt's id and version (a string or a number as written); its variables are input, not read.</summary>
    private static bool ReadPrompt(ref FastJsonReader reader, out string? id, out string? version)
    {
        id = version = null;
        var seen = 0;
        while (NextMember(ref reader, PromptNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out id),
                2 => ReadScalar(ref reader, out version),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>The input items as <c>ReadInputItem</c> makes them: a string is a user message, an object an item, anything else nothing.</summary>
    private static bool ReadInputItems(ref FastJsonReader reader, CaptureLimits limits, out List<LlmMessage>? messages)
    {
        messages = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    if (!ReadString(ref reader, out var text)) return false;
                    messages.Add(new LlmMessage { Role = "user", Content = Cap(text, limits.MaxContentChars) });
                    break;
                case JsonTokenType.StartObject:
                    if (!ReadInputItem(ref reader, limits, out var message)) return false;
                    messages.Add(message);
                    break;
                default:
                    if (!reader.Skip()) return false;
                    break;
            }
        }
        return !reader.Failed;
    }

    /// <summary>
    /// One input item as a message, as <c>ReadInputItem</c> makes it by its type. Every field any type is read for is read
    /// whatever the type, since the type may come last.
    /// </summary>
    private static bool ReadInputItem(ref FastJsonReader reader, CaptureLimits limits, out LlmMessage message)
    {
        message = null!;
        string? type = null, role = null, content = null, callId = null, id = null, name = null, arguments = null, input = null, output = null;
        var seen = 0;
        while (NextMember(ref reader, ItemNames, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var isContent = isString || reader.TokenType == JsonTokenType.StartArray;
            var read = field switch
            {
                1 when isString => ReadName(ref reader, out type),
                2 when isString => ReadName(ref reader, out role),
                4 when isContent => ReadContentText(ref reader, out content),
                8 when isString => ReadString(ref reader, out callId),
                16 when isString => ReadString(ref reader, out id),
                32 when isString => ReadString(ref reader, out name),
                64 when isString => ReadString(ref reader, out arguments),
                128 when isString => ReadString(ref reader, out input),
                256 when isContent => ReadContentText(ref reader, out output),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        switch (type)
        {
            case null or "message":
                message = new LlmMessage { Role = role, Content = Cap(content, limits.MaxContentChars) };
                break;
            case "function_call" or "custom_tool_call":
                var calls = new ToolCallAccumulator(limits.MaxContentChars);
                new FunctionCall(type, callId, id, name, arguments, input).ApplyTo(calls.Add());
                message = new LlmMessage { Role = "assistant", ToolCalls = calls.ToList() };
                break;
            case "function_call_output" or "custom_tool_call_output":
                message = new LlmMessage { Role = "tool", ToolCallId = callId, Content = Cap(output, limits.MaxContentChars) };
                break;
            case "reasoning":
                message = new LlmMessage { Role = "assistant", Content = ReasoningItemNote };
                break;
            default:
                message = new LlmMessage { Role = role, Content = "[" + type + "]" };
                break;
        }
        return true;
    }

    /// <summary>Content (a string or an array of parts) as text, as the adapter's <c>ContentText</c> makes it (not capped).</summary>
    private static bool ReadContentText(ref FastJsonReader reader, out string? text)
    {
        text = null;
        if (reader.TokenType == JsonTokenType.String) return ReadString(ref reader, out text);
        var builder = new StringBuilder();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                if (!ReadString(ref reader, out var plain)) return false;
                AppendContentPart(builder, plain, null, null, null, null);
                continue;
            }
            if (!ReadPart(ref reader, out var part)) return false;
            AppendContentPart(builder, null, part.Type, part.Text, part.Refusal, part.Filename);
        }
        if (reader.Failed) return false;
        text = builder.ToString();
        return true;
    }

    // ---- parts and items -----------------------------------------------------------------------------------------

    /// <summary>A content part's fields that any part type is read for; all null for a part that is not an object.</summary>
    private readonly record struct Part(string? Type, string? Text, string? Refusal, string? Filename);

    private static bool ReadPart(ref FastJsonReader reader, out Part part)
    {
        part = default;
        if (reader.TokenType != JsonTokenType.StartObject) return reader.Skip();
        string? type = null, text = null, refusal = null, filename = null;
        var seen = 0;
        while (NextMember(ref reader, PartNames, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var read = field switch
            {
                1 when isString => ReadName(ref reader, out type),
                2 when isString => ReadString(ref reader, out text),
                4 when isString => ReadString(ref reader, out refusal),
                8 when isString => ReadString(ref reader, out filename),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        part = new Part(type, text, refusal, filename);
        return true;
    }

    /// <summary>An array of parts as read, strings and other values as parts without fields (the output never reads them).</summary>
    private static bool ReadParts(ref FastJsonReader reader, out List<Part>? parts)
    {
        parts = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (!ReadPart(ref reader, out var part)) return false;
            parts.Add(part);
        }
        return !reader.Failed;
    }

    /// <summary>A function or custom tool call item; <see cref="ApplyTo"/> does what the adapter's <c>ReadFunctionCall</c> does to a new call.</summary>
    private readonly record struct FunctionCall(string? Type, string? CallId, string? Id, string? Name, string? Arguments, string? Input)
    {
        public void ApplyTo(ToolCallAccumulator.Builder builder)
        {
            builder.Id ??= CallId ?? Id;
            builder.Type ??= FunctionCallType(Type);
            builder.Name ??= Name;
            if (builder.Arguments.Length == 0) builder.Arguments.Append(Arguments ?? Input);
        }
    }

    // ---- response ------------------------------------------------------------------------------------------------

    /// <summary>One output item as read: the fields any item type is read for; <see cref="ApplyTo"/> does what <c>ReadOutputItem</c> does.</summary>
    private sealed class OutputItem
    {
        public string? Type;
        public List<Part>? Content;
        public List<Part>? Summary;
        public string? CallId, Id, Name, Arguments, Input;

        public void ApplyTo(CallRecord record, CaptureLimits limits)
        {
            switch (Type)
            {
                case "message":
                    foreach (var part in Content ?? [])
                    {
                        switch (part.Type)
                        {
                            case "output_text":
                                record.Output(limits.MaxContentChars).Append(part.Text);
                                break;
                            case "refusal":
                                (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(part.Refusal);
                                break;
                        }
                    }
                    break;
                case "function_call" or "custom_tool_call":
                    record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                    new FunctionCall(Type, CallId, Id, Name, Arguments, Input).ApplyTo(record.ToolCalls.Add());
                    break;
                case "reasoning":
                    // The summary's parts, then the content's, whatever their order in the item.
                    foreach (var part in Summary ?? []) AppendReasoning(record, limits, part.Text, newPart: true);
                    foreach (var part in Content ?? []) AppendReasoning(record, limits, part.Text, newPart: true);
                    break;
            }
        }
    }

    private static bool ReadOutput(ref FastJsonReader reader, out List<OutputItem>? items)
    {
        items = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Not an object: the document path reads nothing from it.
                if (!reader.Skip()) return false;
                continue;
            }
            var item = new OutputItem();
            var seen = 0;
            while (NextMember(ref reader, ItemNames, ref seen, out var field))
            {
                var isString = reader.TokenType == JsonTokenType.String;
                var isArray = reader.TokenType == JsonTokenType.StartArray;
                var read = field switch
                {
                    1 when isString => ReadName(ref reader, out item.Type),
                    4 when isArray => ReadParts(ref reader, out item.Content),
                    8 when isString => ReadString(ref reader, out item.CallId),
                    16 when isString => ReadString(ref reader, out item.Id),
                    32 when isString => ReadString(ref reader, out item.Name),
                    64 when isString => ReadString(ref reader, out item.Arguments),
                    128 when isString => ReadString(ref reader, out item.Input),
                    512 when isArray => ReadParts(ref reader, out item.Summary),
                    _ => reader.Skip(),
                };
                if (!read) return false;
            }
            if (reader.Failed) return false;
            items.Add(item);
        }
        return !reader.Failed;
    }

    /// <summary>A usage block's counts as given (null: absent or not a count); <see cref="ApplyTo"/> does what the adapter's <c>ReadUsage</c> does.</summary>
    private readonly record struct Usage(long? Input, long? Output, long? Total, long? Cached, long? Reasoning)
    {
        public void ApplyTo(CallRecord record)
        {
            record.PromptTokens = Input ?? record.PromptTokens;
            record.CompletionTokens = Output ?? record.CompletionTokens;
            record.TotalTokens = Total ?? record.TotalTokens;
            record.CachedPromptTokens = Cached ?? record.CachedPromptTokens;
            record.ReasoningTokens = Reasoning ?? record.ReasoningTokens;
        }
    }

    private static bool ReadUsage(ref FastJsonReader reader, out Usage usage)
    {
        usage = default;
        long? input = null, output = null, total = null, cached = null, reasoning = null;
        var seen = 0;
        while (NextMember(ref reader, UsageNames, ref seen, out var field))
        {
            var isObject = reader.TokenType == JsonTokenType.StartObject;
            var read = field switch
            {
                1 => ReadLong(ref reader, out input),
                2 => ReadLong(ref reader, out output),
                4 => ReadLong(ref reader, out total),
                8 when isObject => ReadCounts(ref reader, CachedName, out cached, out _),
                16 when isObject => ReadCounts(ref reader, ReasoningTokensName, out reasoning, out _),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        usage = new Usage(input, output, total, cached, reasoning);
        return true;
    }

    /// <summary>A response's <c>error</c> object; <see cref="ApplyTo"/> records it as <c>ReadResponseObject</c> does.</summary>
    private sealed record Error(string? Code, string? Message)
    {
        public void ApplyTo(CallRecord record)
        {
            record.ErrorType ??= "response_failed";
            record.ErrorCode = Code ?? record.ErrorCode;
            record.ErrorMessage = Message ?? record.ErrorMessage;
        }
    }

    private static bool ReadError(ref FastJsonReader reader, out Error? error)
    {
        error = null;
        string? code = null, message = null;
        var seen = 0;
        while (NextMember(ref reader, ErrorNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 => ReadScalar(ref reader, out code),
                2 when reader.TokenType == JsonTokenType.String => ReadString(ref reader, out message),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        error = new Error(code, message);
        return true;
    }
}
