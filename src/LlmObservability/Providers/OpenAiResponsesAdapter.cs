using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;

namespace LlmObservability.Providers;

/// <summary>
/// OpenAI Responses (<c>POST …/v1/responses</c>), on api.openai.com and on OpenAI-compatible hosts: input items and
/// instructions, parameters, whole response objects, and the SSE stream of semantic events (<c>response.created</c> …
/// <c>response.completed</c> / <c>.incomplete</c> / <c>.failed</c>, or <c>error</c>), which has no <c>[DONE]</c>.
/// </summary>
/// <remarks>
/// The Responses API has no finish reason; the status is mapped onto Chat Completions' vocabulary so that dashboards
/// compare the two APIs: <c>completed</c> → <c>stop</c> (<c>tool_calls</c> when the output holds function calls),
/// <c>incomplete</c> → <c>length</c> for <c>max_output_tokens</c>, <c>content_filter</c> for <c>content_filter</c>,
/// the reason itself otherwise (<c>incomplete</c> when none is given), <c>failed</c> → <c>error</c>,
/// <c>cancelled</c> → <c>cancelled</c>, and a background response still <c>queued</c>/<c>in_progress</c> keeps that status.
/// Usage is OpenAI's: <c>input_tokens</c> includes <c>input_tokens_details.cached_tokens</c>, <c>output_tokens</c>
/// includes <c>output_tokens_details.reasoning_tokens</c>. The response's <c>service_tier</c> (the tier that served the
/// call, which may differ from the request's <c>auto</c>) prices it.
/// </remarks>
internal sealed class OpenAiResponsesAdapter : ProviderAdapter
{
    public static readonly OpenAiResponsesAdapter Instance = new();

    // Request members that are input, routing or handled below, not model parameters as they are.
    private static readonly HashSet<string> NotParameters = new(StringComparer.Ordinal) { "input", "instructions", "model", "stream", "reasoning", "text", "prompt" };

    public override string CallType => "responses";

    // A response object always has "error" (null, or the reason of a failed response, which ParseResponse reads).
    public override bool ErrorMemberMarksFailedSuccessBody => false;

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri) => OpenAiChatAdapter.MatchEndpoint(this, uri, "/responses");

    public override ProviderRoute? MatchTrusted(HttpRequestMessage request, Uri uri) => OpenAiChatAdapter.MatchEndpoint(this, uri, "/responses", trusted: true);

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = Json.String(root, "model");
        record.Stream = Json.Bool(root, "stream") ?? false;
        record.ModelParameters = ReadParameters(root);

        var messages = new List<LlmMessage>();
        if (Json.String(root, "instructions") is { } instructions)
        {
            messages.Add(new LlmMessage { Role = "system", Content = CaptureLimits.Cap(instructions, limits.MaxContentChars), IsSystemInstruction = true });
        }
        switch (Json.Get(root, "input"))
        {
            case { ValueKind: JsonValueKind.String } text:
                messages.Add(new LlmMessage { Role = "user", Content = CaptureLimits.Cap(text.GetString(), limits.MaxContentChars) });
                break;
            case { ValueKind: JsonValueKind.Array } items:
                foreach (var item in items.EnumerateArray())
                {
                    if (ReadInputItem(item, limits) is { } message) messages.Add(message);
                }
                break;
        }
        if (messages.Count > 0) record.Messages = messages;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        ReadResponseObject(root, record, limits, readOutput: true);
    }

    public override bool TryParseRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        ResponsesBodyReader.TryReadRequest(body, record, limits);

    public override bool TryParseResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        ResponsesBodyReader.TryReadResponse(body, record, limits);

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new EventParser(record, limits, fastPath: true);

    /// <summary>The stream parser reading every event through a <see cref="JsonDocument"/>: the fast path's specification (tests, benchmarks).</summary>
    internal static StreamParser CreateDocumentStreamParser(CallRecord record, CaptureLimits limits) => new EventParser(record, limits, fastPath: false);

    private static Dictionary<string, JsonElement>? ReadParameters(JsonElement root)
    {
        var parameters = OpenAiChatAdapter.ReadParameters(root, NotParameters);
        void Set(string name, string? value)
        {
            if (value is null) return;
            (parameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))[name] = JsonSerializer.SerializeToElement(value, ProviderJsonContext.Default.String);
        }
        if (Json.Object(root, "reasoning") is { } reasoning)
        {
            Set("reasoning_effort", Json.String(reasoning, "effort"));
            Set("reasoning_summary", Json.String(reasoning, "summary"));
        }
        if (Json.Object(root, "text") is { } text)
        {
            if (Json.Object(text, "format") is { } format) Set("text_format", Json.String(format, "type"));
            Set("text_verbosity", Json.String(text, "verbosity"));
        }
        // A stored prompt's variables are input, not parameters: only its id and version are kept.
        if (Json.Object(root, "prompt") is { } prompt)
        {
            Set("prompt_id", Json.String(prompt, "id"));
            Set("prompt_version", Json.Scalar(prompt, "version"));
        }
        return parameters;
    }

    /// <summary>One input item as a message: messages by role, function calls as assistant tool calls, their outputs as tool messages.</summary>
    private static LlmMessage? ReadInputItem(JsonElement item, CaptureLimits limits)
    {
        if (item.ValueKind == JsonValueKind.String) return new LlmMessage { Role = "user", Content = CaptureLimits.Cap(item.GetString(), limits.MaxContentChars) };
        if (item.ValueKind != JsonValueKind.Object) return null;
        var type = Json.String(item, "type");
        switch (type)
        {
            case null or "message":
                return new LlmMessage { Role = Json.String(item, "role"), Content = CaptureLimits.Cap(ContentText(Json.Get(item, "content")), limits.MaxContentChars) };
            case "function_call" or "custom_tool_call":
                {
                    var calls = new ToolCallAccumulator(limits.MaxContentChars);
                    ReadFunctionCall(item, calls.Add());
                    return new LlmMessage { Role = "assistant", ToolCalls = calls.ToList() };
                }
            case "function_call_output" or "custom_tool_call_output":
                return new LlmMessage
                {
                    Role = "tool",
                    ToolCallId = Json.String(item, "call_id"),
                    Content = CaptureLimits.Cap(ContentText(Json.Get(item, "output")), limits.MaxContentChars),
                };
            case "reasoning":
                return new LlmMessage { Role = "assistant", Content = ReasoningItemNote };
            default:
                // Hosted tool calls, item references and future item kinds: named, not read.
                return new LlmMessage { Role = Json.String(item, "role"), Content = "[" + type + "]" };
        }
    }

    /// <summary>What a reasoning input item is recorded as: its summary is not sent back to the model as text.</summary>
    internal const string ReasoningItemNote = "[reasoning]";

    /// <summary>Message content: a string as it is; parts' text joined by newlines; images and files as a short note.</summary>
    private static string? ContentText(JsonElement? content)
    {
        if (content is not { } value) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind != JsonValueKind.Array) return null;
        var builder = new StringBuilder();
        foreach (var part in value.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.String)
            {
                AppendContentPart(builder, part.GetString(), null, null, null, null);
                continue;
            }
            // Each field is read only for the part type that shows it.
            var type = Json.String(part, "type");
            AppendContentPart(builder, null, type,
                IsTextPart(type) ? Json.String(part, "text") : null,
                type == "refusal" ? Json.String(part, "refusal") : null,
                type == "input_file" ? Json.String(part, "filename") : null);
        }
        return builder.ToString();
    }

    /// <summary>
    /// One part of <see cref="ContentText"/>, after a newline when text came before: <paramref name="plain"/> for a part
    /// given as a string, else an object part's type (null: none, or not an object) and the fields that type shows.
    /// </summary>
    internal static void AppendContentPart(StringBuilder builder, string? plain, string? type, string? text, string? refusal, string? filename)
    {
        if (builder.Length > 0) builder.Append('\n');
        if (plain is not null) builder.Append(plain);
        else if (IsTextPart(type) && text is not null) builder.Append(text);
        else if (type == "refusal" && refusal is not null) builder.Append(refusal);
        else if (type == "input_image") builder.Append("[image]");
        else if (type == "input_file") builder.Append("[file").Append(filename is not null ? ": " + filename : string.Empty).Append(']');
        else if (type == "input_audio") builder.Append("[audio]");
        else builder.Append('[').Append(type ?? "part").Append(']');
    }

    /// <summary>The part types whose <c>text</c> is their content.</summary>
    private static bool IsTextPart(string? type) => type is "input_text" or "output_text" or "text" or "summary_text" or "reasoning_text";

    /// <summary>A function call item's tool type: <c>custom</c> for a custom tool's call, else <c>function</c>.</summary>
    internal static string FunctionCallType(string? itemType) => itemType == "custom_tool_call" ? "custom" : "function";

    private static void ReadFunctionCall(JsonElement item, ToolCallAccumulator.Builder builder)
    {
        builder.Id ??= Json.String(item, "call_id") ?? Json.String(item, "id");
        builder.Type ??= FunctionCallType(Json.String(item, "type"));
        builder.Name ??= Json.String(item, "name");
        if (builder.Arguments.Length == 0) builder.Arguments.Append(Json.String(item, "arguments") ?? Json.String(item, "input"));
    }

    /// <summary>
    /// Reads a response object (a whole body, or the one inside <c>response.completed</c> and its siblings): ids,
    /// model, usage, status, error, and, when <paramref name="readOutput"/>, the output items.
    /// </summary>
    private static void ReadResponseObject(JsonElement response, CallRecord record, CaptureLimits limits, bool readOutput)
    {
        record.ResponseId = Json.NonEmpty(response, "id") ?? record.ResponseId;
        record.ResponseModel = Json.NonEmpty(response, "model") ?? record.ResponseModel;
        record.ServiceTier = Json.Name(response, "service_tier") ?? record.ServiceTier;
        if (readOutput && Json.Array(response, "output") is { } output)
        {
            foreach (var item in output.EnumerateArray()) ReadOutputItem(item, record, limits);
        }
        ReadUsage(response, record);
        if (Json.Object(response, "error") is { } error)
        {
            record.ErrorType ??= "response_failed";
            record.ErrorCode = Json.Scalar(error, "code") ?? record.ErrorCode;
            record.ErrorMessage = Json.String(error, "message") ?? record.ErrorMessage;
        }
        var reason = Json.Object(response, "incomplete_details") is { } details ? Json.String(details, "reason") : null;
        record.AddFinishReason(FinishReason(Json.String(response, "status"), reason, record.ToolCalls is { Count: > 0 }));
    }

    private static void ReadOutputItem(JsonElement item, CallRecord record, CaptureLimits limits)
    {
        switch (Json.String(item, "type"))
        {
            case "message":
                if (Json.Array(item, "content") is not { } parts) return;
                foreach (var part in parts.EnumerateArray())
                {
                    switch (Json.String(part, "type"))
                    {
                        case "output_text":
                            record.Output(limits.MaxContentChars).Append(Json.String(part, "text"));
                            break;
                        case "refusal":
                            (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(Json.String(part, "refusal"));
                            break;
                    }
                }
                break;
            case "function_call" or "custom_tool_call":
                record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                ReadFunctionCall(item, record.ToolCalls.Add());
                break;
            case "reasoning":
                foreach (var name in (ReadOnlySpan<string>)["summary", "content"])
                {
                    if (Json.Array(item, name) is not { } texts) continue;
                    foreach (var part in texts.EnumerateArray()) AppendReasoning(record, limits, Json.String(part, "text"), newPart: true);
                }
                break;
        }
    }

    /// <summary>Reasoning text; separate summary parts are separated by a blank line.</summary>
    internal static void AppendReasoning(CallRecord record, CaptureLimits limits, ReadOnlySpan<char> text, bool newPart)
    {
        if (text.IsEmpty) return;
        var reasoning = record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars);
        if (newPart && reasoning.Length > 0) reasoning.Append("\n\n");
        reasoning.Append(text);
    }

    private static void ReadUsage(JsonElement response, CallRecord record)
    {
        if (Json.Object(response, "usage") is not { } usage) return;
        record.PromptTokens = Json.Long(usage, "input_tokens") ?? record.PromptTokens;
        record.CompletionTokens = Json.Long(usage, "output_tokens") ?? record.CompletionTokens;
        record.TotalTokens = Json.Long(usage, "total_tokens") ?? record.TotalTokens;
        if (Json.Object(usage, "input_tokens_details") is { } input) record.CachedPromptTokens = Json.Long(input, "cached_tokens") ?? record.CachedPromptTokens;
        if (Json.Object(usage, "output_tokens_details") is { } output) record.ReasoningTokens = Json.Long(output, "reasoning_tokens") ?? record.ReasoningTokens;
    }

    /// <summary>The response status in Chat Completions' finish-reason vocabulary (see the class remarks).</summary>
    internal static string? FinishReason(string? status, string? incompleteReason, bool hasToolCalls) => status switch
    {
        null => null,
        "completed" => hasToolCalls ? "tool_calls" : "stop",
        "incomplete" => incompleteReason switch
        {
            null => "incomplete",
            "max_output_tokens" => "length",
            _ => incompleteReason,
        },
        "failed" => "error",
        _ => status,
    };

    /// <summary>
    /// Assembles a response from its semantic events as they pass. The deltas and the events once per part that record
    /// nothing (almost every event of a stream) are read by <see cref="ResponsesEventReader"/> when it can; the rest,
    /// and whatever it declines, through a <see cref="JsonDocument"/>. Both apply what they read with the same methods.
    /// </summary>
    private sealed class EventParser(CallRecord record, CaptureLimits limits, bool fastPath) : StreamParser
    {
        // The reasoning part being streamed: its item ID ("" for none) and summary (or content) index.
        private string? _reasoningItem; // null: no reasoning delta yet
        private long _reasoningIndex;

        public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            LastEventHadContent = false;
            if (fastPath && ResponsesEventReader.ForThisThread.TryRead(data.Span, out var read))
            {
                Apply(read);
                return;
            }
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return;
            switch (Json.String(root, "type") ?? eventType)
            {
                case "response.created" or "response.in_progress" or "response.queued":
                    if (Json.Object(root, "response") is { } started)
                    {
                        record.ResponseId ??= Json.NonEmpty(started, "id");
                        record.ResponseModel ??= Json.NonEmpty(started, "model");
                        // Here the tier is often the request's echoed ("auto"); the final object says which served.
                        record.ServiceTier ??= Json.Name(started, "service_tier");
                    }
                    break;
                case "response.output_item.added" or "response.output_item.done":
                    if (Json.Object(root, "item") is { } item && Json.String(item, "type") is "function_call" or "custom_tool_call")
                    {
                        record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                        ReadFunctionCall(item, record.ToolCalls[OutputIndex(root)]);
                        LastEventHadContent = true;
                    }
                    break;
                case "response.output_text.delta":
                    AppendText(Json.String(root, "delta"));
                    break;
                case "response.refusal.delta":
                    AppendRefusal(Json.String(root, "delta"));
                    break;
                case "response.function_call_arguments.delta" or "response.custom_tool_call_input.delta":
                    if (Json.String(root, "delta") is { Length: > 0 } arguments) AppendArguments(OutputIndex(root), arguments);
                    break;
                case "response.function_call_arguments.done":
                    {
                        // Servers that send no deltas still send the whole arguments here.
                        record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                        var call = record.ToolCalls[OutputIndex(root)];
                        call.Name ??= Json.String(root, "name");
                        if (call.Arguments.Length == 0) call.Arguments.Append(Json.String(root, "arguments"));
                        break;
                    }
                case "response.reasoning_summary_text.delta" or "response.reasoning_text.delta":
                    if (Json.String(root, "delta") is { Length: > 0 } reasoning)
                    {
                        AppendReasoningDelta(Json.String(root, "item_id"), Json.Long(root, "summary_index") ?? Json.Long(root, "content_index") ?? 0, reasoning);
                    }
                    break;
                case "response.completed" or "response.incomplete" or "response.failed":
                    if (Json.Object(root, "response") is { } final)
                    {
                        // The final object repeats the whole output; read it only when no delta carried it.
                        var sawOutput = record.OutputText is not null || record.ToolCalls is not null || record.ReasoningText is not null || record.RefusalText is not null;
                        ReadResponseObject(final, record, limits, readOutput: !sawOutput);
                    }
                    SawEnd = true;
                    break;
                case "error":
                    if (Json.Object(root, "error") is not null)
                    {
                        Instance.ParseError(root, record);
                    }
                    else
                    {
                        record.ErrorCode = Json.Scalar(root, "code") ?? record.ErrorCode;
                        record.ErrorMessage = Json.String(root, "message") ?? record.ErrorMessage;
                    }
                    record.ErrorType ??= "stream_error";
                    SawEnd = true; // the stream ends here; SDKs throw and stop reading
                    break;
            }
        }

        /// <summary>An event read by <see cref="ResponsesEventReader"/>, applied as the document path applies it.</summary>
        private void Apply(in ResponsesEvent read)
        {
            switch (read.Type)
            {
                case ResponsesEventReader.EventType.OutputText:
                    AppendText(read.Delta);
                    break;
                case ResponsesEventReader.EventType.Refusal:
                    AppendRefusal(read.Delta);
                    break;
                case ResponsesEventReader.EventType.Arguments when !read.Delta.IsEmpty:
                    AppendArguments(read.OutputIndex, read.Delta);
                    break;
                case ResponsesEventReader.EventType.Reasoning when !read.Delta.IsEmpty:
                    AppendReasoningDelta(read.ItemId, read.PartIndex, read.Delta);
                    break;
            }
        }

        private void AppendText(ReadOnlySpan<char> text)
        {
            if (text.IsEmpty) return;
            record.Output(limits.MaxContentChars).Append(text);
            LastEventHadContent = true;
        }

        private void AppendRefusal(ReadOnlySpan<char> refusal)
        {
            if (refusal.IsEmpty) return;
            (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(refusal);
            LastEventHadContent = true;
        }

        private void AppendArguments(int outputIndex, ReadOnlySpan<char> arguments)
        {
            record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
            record.ToolCalls[outputIndex].Arguments.Append(arguments);
            LastEventHadContent = true;
        }

        /// <summary>
        /// A piece of reasoning (not empty) of the part named by its item ID (empty: none) and index: a part other than
        /// the last one's starts after a blank line.
        /// </summary>
        private void AppendReasoningDelta(ReadOnlySpan<char> itemId, long index, ReadOnlySpan<char> reasoning)
        {
            var samePart = _reasoningItem is not null && index == _reasoningIndex && itemId.SequenceEqual(_reasoningItem);
            AppendReasoning(record, limits, reasoning, newPart: !samePart);
            if (!samePart) (_reasoningItem, _reasoningIndex) = (itemId.ToString(), index);
            LastEventHadContent = true;
        }

        private static int OutputIndex(JsonElement root) => (int)Math.Clamp(Json.Long(root, "output_index") ?? 0, 0, int.MaxValue);
    }
}
