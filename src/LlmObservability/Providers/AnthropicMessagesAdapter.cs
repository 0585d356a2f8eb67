using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Pricing;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;

namespace LlmObservability.Providers;

/// <summary>
/// Anthropic Messages (<c>POST …/v1/messages</c>) on api.anthropic.com and on any host that speaks it (gateways, proxies,
/// Anthropic-compatible vendors), recognised there by Anthropic's <c>anthropic-version</c> or <c>x-api-key</c> header:
/// the top-level <c>system</c> prompt and content-block messages, whole responses, and SSE streams of named events
/// (<c>message_start</c> … <c>message_stop</c>).
/// </summary>
/// <remarks>
/// Usage is recorded the way Anthropic reports it: <c>input_tokens</c> counts only the input that was neither read from
/// nor written to the prompt cache, and <c>cache_read_input_tokens</c> / <c>cache_creation_input_tokens</c> are reported
/// beside it, so the total is input + cache read + cache creation + output. Thinking tokens are inside
/// <c>output_tokens</c>. In a stream, the usage of <c>message_delta</c> is cumulative: it replaces, never adds to, what
/// <c>message_start</c> said. The usage also says how the call was served, which prices it: <c>service_tier</c>
/// (<c>standard</c>, <c>priority</c>, <c>batch</c>) and, in fast mode, <c>speed</c> (see <see cref="PricedServiceTier"/>).
/// </remarks>
internal sealed class AnthropicMessagesAdapter : ProviderAdapter
{
    public static readonly AnthropicMessagesAdapter Instance = new();

    private const string MessagesPath = "/v1/messages";

    // Request members that are input or routing, not model parameters.
    private static readonly HashSet<string> NotParameters = new(StringComparer.Ordinal) { "model", "messages", "system", "stream" };

    public override string CallType => "messages";

    /// <summary>Anthropic reports cache reads and writes beside <c>input_tokens</c>, and one-hour writes apart.</summary>
    public override LlmUsage? ToUsage(CallRecord record)
    {
        if (record.PromptTokens is null && record.CompletionTokens is null) return null;
        return LlmUsage.ForAnthropic(record.PromptTokens ?? 0, record.CompletionTokens ?? 0, record.CachedPromptTokens ?? 0,
            record.CacheCreationTokens ?? 0, record.CacheCreation1hTokens ?? 0);
    }

    /// <summary>
    /// Fast mode is priced as tier <c>fast</c>: when the response's <c>usage.speed</c> says <c>fast</c>, or, when the
    /// response does not say, the request asked for <c>speed: "fast"</c>. A response that says <c>standard</c> was served
    /// (and billed) at standard speed whatever was asked. Otherwise the response's <c>usage.service_tier</c>
    /// (<c>standard</c>, <c>priority</c>, <c>batch</c>), else the request's <c>service_tier</c> (<c>auto</c>,
    /// <c>standard_only</c>).
    /// </summary>
    public override string? PricedServiceTier(CallRecord record)
    {
        var speed = record.Speed ?? RequestString(record, "speed");
        return string.Equals(speed, "fast", StringComparison.OrdinalIgnoreCase) ? "fast" : base.PricedServiceTier(record);
    }

    public override ProviderRoute? MatchTrusted(HttpRequestMessage request, Uri uri) => MatchPath(uri);

    /// <inheritdoc/>
    public override bool MatchReadsHeaders => true;

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri)
    {
        var path = uri.AbsolutePath;
        if (!ProviderDetector.EndsWithSegment(path, MessagesPath)) return null;
        // Elsewhere the path alone is too common a name (chat and SMS APIs have "messages" too): ask for Anthropic's headers.
        if (!uri.Host.Equals("api.anthropic.com", StringComparison.OrdinalIgnoreCase)
            && !request.Headers.NonValidated.Contains("anthropic-version")
            && !request.Headers.NonValidated.Contains("x-api-key"))
        {
            return null;
        }
        return MatchPath(uri);
    }

    private ProviderRoute? MatchPath(Uri uri)
    {
        var path = uri.AbsolutePath;
        if (!ProviderDetector.EndsWithSegment(path, MessagesPath)) return null;
        // api_base is what the Anthropic SDKs call the base URL (without /v1), so it reads as the caller configured it.
        return ProviderRoute.Create(this, "anthropic", uri, path.TrimEnd('/').Length - MessagesPath.Length);
    }

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = Json.String(root, "model");
        record.Stream = Json.Bool(root, "stream") ?? false;
        record.ModelParameters = ReadParameters(root);

        var system = ContentText(Json.Get(root, "system"), limits.MaxContentChars);
        var messages = Json.Array(root, "messages");
        if (system is null && messages is null) return;
        var list = new List<LlmMessage>((messages?.GetArrayLength() ?? 0) + 1);
        if (system is not null) list.Add(new LlmMessage { Role = "system", Content = system, IsSystemInstruction = true });
        if (messages is { } items)
        {
            foreach (var message in items.EnumerateArray())
            {
                if (message.ValueKind == JsonValueKind.Object) ReadMessage(message, list, limits);
            }
        }
        record.Messages = list;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        record.ResponseId = Json.String(root, "id");
        record.ResponseModel = Json.String(root, "model");
        if (Json.Array(root, "content") is { } blocks)
        {
            var index = 0;
            foreach (var block in blocks.EnumerateArray())
            {
                var type = Json.String(block, "type");
                switch (type)
                {
                    case "text":
                        record.Output(limits.MaxContentChars).Append(Json.String(block, "text"));
                        break;
                    case "thinking":
                        AppendReasoning(record, limits, Json.String(block, "thinking"), newBlock: true);
                        break;
                    case "redacted_thinking":
                        AppendReasoning(record, limits, RedactedThinkingNote, newBlock: true);
                        break;
                    default:
                        if (IsToolUse(type))
                        {
                            record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                            var call = record.ToolCalls[index];
                            StartToolUse(block, type!, call);
                            if (Json.Get(block, "input") is { } input) call.Arguments.Append(input.GetRawText());
                        }
                        break;
                }
                index++;
            }
        }
        AddStopReason(record, Json.String(root, "stop_reason"));
        if (Json.Object(root, "usage") is { } usage) ReadUsage(usage, record);
    }

    public override bool TryParseRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        AnthropicBodyReader.TryReadRequest(body, record, limits);

    public override bool TryParseResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        AnthropicBodyReader.TryReadResponse(body, record, limits);

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new EventParser(record, limits, fastPath: true);

    /// <summary>A stream parser that reads every event through a <see cref="JsonDocument"/>: what <see cref="AnthropicEventReader"/> is tested against.</summary>
    internal static StreamParser CreateDocumentStreamParser(CallRecord record, CaptureLimits limits) => new EventParser(record, limits, fastPath: false);

    /// <summary>
    /// Anthropic's error body is <c>{"type":"error","error":{"type","message"},"request_id"}</c>: the default reads the
    /// inner object; the body's request ID stands in when no <c>request-id</c> header came.
    /// </summary>
    public override void ParseError(JsonElement root, CallRecord record)
    {
        base.ParseError(root, record);
        record.RequestId ??= Json.String(root, "request_id");
    }

    /// <summary>
    /// Reads an Anthropic usage block (whole message, <c>message_start</c> or <c>message_delta</c>). A field that is
    /// present replaces the value recorded so far (stream usage is cumulative); an absent one leaves it.
    /// </summary>
    internal static void ReadUsage(JsonElement usage, CallRecord record)
    {
        record.PromptTokens = Json.Long(usage, "input_tokens") ?? record.PromptTokens;
        record.CompletionTokens = Json.Long(usage, "output_tokens") ?? record.CompletionTokens;
        record.CachedPromptTokens = Json.Long(usage, "cache_read_input_tokens") ?? record.CachedPromptTokens;
        var cacheCreation = Json.Long(usage, "cache_creation_input_tokens");
        if (Json.Object(usage, "cache_creation") is { } byLifetime)
        {
            var oneHour = Json.Long(byLifetime, "ephemeral_1h_input_tokens");
            record.CacheCreation1hTokens = oneHour ?? record.CacheCreation1hTokens;
            cacheCreation ??= Json.Add(Json.Long(byLifetime, "ephemeral_5m_input_tokens"), oneHour);
        }
        record.CacheCreationTokens = cacheCreation ?? record.CacheCreationTokens;
        if (Json.Object(usage, "output_tokens_details") is { } details)
        {
            record.ReasoningTokens = Json.Long(details, "thinking_tokens") ?? record.ReasoningTokens;
        }
        // Every input token is in exactly one of input / cache read / cache creation, so the total is their sum plus output.
        record.TotalTokens = Json.Add(Json.Add(record.PromptTokens, record.CachedPromptTokens), Json.Add(record.CacheCreationTokens, record.CompletionTokens));
        record.ServiceTier = Json.Name(usage, "service_tier") ?? record.ServiceTier;
        record.Speed = Json.Name(usage, "speed") ?? record.Speed;
    }

    internal const string RedactedThinkingNote = "[redacted_thinking]";

    /// <summary><c>tool_use</c> (client tools) and the server-run kinds (<c>server_tool_use</c>, <c>mcp_tool_use</c>).</summary>
    internal static bool IsToolUse(string? type) => type is not null && type.EndsWith("tool_use", StringComparison.Ordinal);

    private static void StartToolUse(JsonElement block, string type, ToolCallAccumulator.Builder call)
    {
        call.Id ??= Json.String(block, "id");
        call.Name ??= Json.String(block, "name");
        call.Type ??= ToolType(type);
    }

    /// <summary>A client tool is a function call like any other provider's; server-run tools keep their own kind.</summary>
    internal static string ToolType(string type) => type == "tool_use" ? "function" : type;

    internal static void AddStopReason(CallRecord record, string? reason)
    {
        if (string.IsNullOrEmpty(reason) || record.FinishReasons?.Contains(reason) == true) return;
        record.AddFinishReason(reason);
    }

    /// <summary>Reasoning text; consecutive thinking blocks are separated by a line break.</summary>
    internal static void AppendReasoning(CallRecord record, CaptureLimits limits, ReadOnlySpan<char> text, bool newBlock)
    {
        if (text.IsEmpty) return;
        var reasoning = record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars);
        if (newBlock && reasoning.Length > 0) reasoning.Append("\n");
        reasoning.Append(text);
    }

    /// <summary>
    /// Scalars as they are; <c>tools</c> and <c>mcp_servers</c> as counts (server entries carry authorization tokens);
    /// <c>metadata.user_id</c> as <c>user_id</c>; <c>thinking</c> as its type plus <c>thinking_budget_tokens</c>;
    /// <c>output_config</c> flattened, with the output format as its type only; other objects as they are.
    /// </summary>
    private static Dictionary<string, JsonElement>? ReadParameters(JsonElement root)
    {
        Dictionary<string, JsonElement>? parameters = null;
        foreach (var property in root.EnumerateObject())
        {
            var value = property.Value;
            if (NotParameters.Contains(property.Name) || value.ValueKind == JsonValueKind.Null) continue;
            switch (property.Name)
            {
                case "tools" or "mcp_servers" when value.ValueKind == JsonValueKind.Array:
                    Set(ref parameters, property.Name + "_count", Number(value.GetArrayLength()));
                    break;
                case "metadata" when value.ValueKind == JsonValueKind.Object:
                    if (Json.Get(value, "user_id") is { } userId) Set(ref parameters, "user_id", userId.Clone());
                    break;
                case "thinking" when value.ValueKind == JsonValueKind.Object:
                    if (Json.String(value, "type") is { } thinkingType) Set(ref parameters, "thinking", Text(thinkingType));
                    if (Json.Get(value, "budget_tokens") is { ValueKind: JsonValueKind.Number } budget) Set(ref parameters, "thinking_budget_tokens", Json.Keep(budget));
                    break;
                case "output_config" when value.ValueKind == JsonValueKind.Object:
                    foreach (var setting in value.EnumerateObject())
                    {
                        if (setting.Name == "format") ReadOutputFormat(setting.Value, ref parameters);
                        else if (setting.Value.ValueKind != JsonValueKind.Null) Set(ref parameters, setting.Name, Json.Keep(setting.Value));
                    }
                    break;
                case "output_format":
                    ReadOutputFormat(value, ref parameters);
                    break;
                default:
                    Set(ref parameters, property.Name, Json.Keep(value));
                    break;
            }
        }
        return parameters;
    }

    /// <summary>A structured-output format as its type (<c>json_schema</c>), never the schema itself.</summary>
    private static void ReadOutputFormat(JsonElement format, ref Dictionary<string, JsonElement>? parameters)
    {
        if (Json.String(format, "type") is { } type) Set(ref parameters, "output_format", Text(type));
    }

    internal static void Set(ref Dictionary<string, JsonElement>? parameters, string name, JsonElement value) =>
        (parameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))[name] = value;

    internal static JsonElement Number(int value) => JsonSerializer.SerializeToElement(value, ProviderJsonContext.Default.Int32);

    internal static JsonElement Text(string value) => JsonSerializer.SerializeToElement(value, ProviderJsonContext.Default.String);

    /// <summary>
    /// One request message. Its text and notes form one message of its role, with its <c>tool_use</c> blocks as tool
    /// calls; each <c>tool_result</c> block becomes a message of its own with role <c>tool</c>, in the order they came.
    /// </summary>
    private static void ReadMessage(JsonElement message, List<LlmMessage> into, CaptureLimits limits)
    {
        var role = Json.String(message, "role");
        if (Json.Get(message, "content") is not { ValueKind: JsonValueKind.Array } blocks)
        {
            into.Add(new LlmMessage { Role = role, Content = ContentText(Json.Get(message, "content"), limits.MaxContentChars) });
            return;
        }
        var text = new StringBuilder();
        ToolCallAccumulator? calls = null;
        foreach (var block in blocks.EnumerateArray())
        {
            var type = Json.String(block, "type");
            if (type == "tool_result")
            {
                Flush(into, role, text, ref calls, limits);
                into.Add(new LlmMessage
                {
                    Role = "tool",
                    Content = ContentText(Json.Get(block, "content"), limits.MaxContentChars),
                    ToolCallId = Json.String(block, "tool_use_id"),
                });
            }
            else if (IsToolUse(type))
            {
                calls ??= new ToolCallAccumulator(limits.MaxContentChars);
                var call = calls.Add();
                StartToolUse(block, type!, call);
                if (Json.Get(block, "input") is { } input) call.Arguments.Append(input.GetRawText());
            }
            else
            {
                AppendBlock(text, block);
            }
        }
        Flush(into, role, text, ref calls, limits);
    }

    internal static void Flush(List<LlmMessage> into, string? role, StringBuilder text, ref ToolCallAccumulator? calls, CaptureLimits limits)
    {
        if (text.Length == 0 && calls is null) return;
        into.Add(new LlmMessage
        {
            Role = role,
            Content = text.Length == 0 ? null : Cap(text.ToString(), limits.MaxContentChars),
            ToolCalls = calls?.ToList(),
        });
        text.Clear();
        calls = null;
    }

    /// <summary>Content as text: a string as it is; blocks joined by newlines, non-text blocks as a short note.</summary>
    private static string? ContentText(JsonElement? content, int maxChars)
    {
        if (content is not { } value) return null;
        if (value.ValueKind == JsonValueKind.String) return Cap(value.GetString(), maxChars);
        if (value.ValueKind != JsonValueKind.Array) return null;
        var builder = new StringBuilder();
        foreach (var block in value.EnumerateArray()) AppendBlock(builder, block);
        return Cap(builder.ToString(), maxChars);
    }

    private static void AppendBlock(StringBuilder builder, JsonElement block)
    {
        if (block.ValueKind == JsonValueKind.String)
        {
            AppendBlock(builder, "text", block.GetString(), null);
            return;
        }
        var type = Json.String(block, "type");
        AppendBlock(builder, type, type == "text" ? Json.String(block, "text") : null, type == "document" ? Json.String(block, "title") : null);
    }

    /// <summary>
    /// One block of content given as blocks: a <c>text</c> block's text (a block that is a string is text), a
    /// <c>document</c>'s title, any other block as a note; <paramref name="text"/> and <paramref name="title"/> are
    /// read only for those two types.
    /// </summary>
    internal static void AppendBlock(StringBuilder builder, string? type, string? text, string? title)
    {
        if (builder.Length > 0) builder.Append('\n');
        if (type == "text")
        {
            builder.Append(text);
        }
        else if (type == "document" && title is { Length: > 0 })
        {
            builder.Append("[document: ").Append(title).Append(']');
        }
        else
        {
            // image, document, thinking, search_result, ...: a note, never the data.
            builder.Append('[').Append(type ?? "block").Append(']');
        }
    }

    /// <summary>What is known of one content block while it streams.</summary>
    private sealed class StreamBlock(string? type)
    {
        public string? Type { get; } = type;

        /// <summary>The <c>input</c> the start event carried; used when no <c>input_json_delta</c> follows.</summary>
        public string? InitialInput { get; init; }

        public bool HadInputDelta { get; set; }

        /// <summary>Whether reasoning text of this block was recorded (the next piece continues it, not a new block).</summary>
        public bool HadReasoning { get; set; }

        public bool Stopped { get; set; }
    }

    /// <summary>
    /// Assembles a message from its stream events as they pass. The deltas, block stops, pings and the end (almost every
    /// event of a stream) are read by <see cref="AnthropicEventReader"/> when it can; the rest, and whatever it declines,
    /// through a <see cref="JsonDocument"/>. Both apply what they read with the same methods.
    /// </summary>
    private sealed class EventParser(CallRecord record, CaptureLimits limits, bool fastPath) : StreamParser
    {
        private readonly Dictionary<int, StreamBlock> _blocks = [];
        private readonly DeltaShape _shape = new();

        public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            LastEventHadContent = false;
            if (data.IsEmpty) return;
            if (fastPath && AnthropicEventReader.ForThisThread.TryRead(data.Span, _shape, out var read))
            {
                Apply(read);
                return;
            }
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return;
            switch (Json.String(root, "type") ?? eventType)
            {
                case "message_start":
                    if (Json.Object(root, "message") is { } message)
                    {
                        record.ResponseId ??= Json.String(message, "id");
                        record.ResponseModel ??= Json.String(message, "model");
                        if (Json.Object(message, "usage") is { } startUsage) ReadUsage(startUsage, record);
                    }
                    break;
                case "content_block_start":
                    BlockStart(Index(root), Json.Object(root, "content_block"));
                    break;
                case "content_block_delta":
                    if (Json.Object(root, "delta") is { } delta) BlockDelta(Index(root), delta);
                    break;
                case "content_block_stop":
                    BlockStop(Index(root));
                    break;
                case "message_delta":
                    if (Json.Object(root, "delta") is { } messageDelta) AddStopReason(record, Json.String(messageDelta, "stop_reason"));
                    if (Json.Object(root, "usage") is { } usage) ReadUsage(usage, record);
                    break;
                case "message_stop":
                    SawEnd = true;
                    break;
                case "error":
                    // An error inside a 200 stream (overloaded_error, ...): the provider ends the stream with it.
                    Instance.ParseError(root, record);
                    record.ErrorType ??= "stream_error";
                    SawEnd = true;
                    break;
                // ping and event types added later carry nothing to record.
            }
        }

        public override void OnEnd()
        {
            // A stream cut before content_block_stop still yields the tool input that had arrived.
            foreach (var (index, _) in _blocks) BlockStop(index);
        }

        /// <summary>An event read by <see cref="AnthropicEventReader"/>, applied as the document path applies it.</summary>
        private void Apply(in AnthropicEvent read)
        {
            switch (read.Type)
            {
                case AnthropicEventReader.EventType.Delta when read.Delta != AnthropicEventReader.DeltaKind.None:
                    ApplyDelta(read.Index, read.Delta, read.Value);
                    break;
                case AnthropicEventReader.EventType.Stop:
                    BlockStop(read.Index);
                    break;
                case AnthropicEventReader.EventType.MessageStop:
                    SawEnd = true;
                    break;
            }
        }

        private static int Index(JsonElement root) => (int)Math.Clamp(Json.Long(root, "index") ?? 0, 0, int.MaxValue);

        private void BlockStart(int index, JsonElement? contentBlock)
        {
            if (contentBlock is not { } block) return;
            var type = Json.String(block, "type");
            _blocks[index] = new StreamBlock(type) { InitialInput = IsToolUse(type) && Json.Get(block, "input") is { } input ? input.GetRawText() : null };
            switch (type)
            {
                case "text":
                    if (Json.String(block, "text") is { Length: > 0 } text)
                    {
                        record.Output(limits.MaxContentChars).Append(text);
                        LastEventHadContent = true;
                    }
                    break;
                case "thinking":
                    if (Json.String(block, "thinking") is { Length: > 0 } thinking) AppendThinking(index, thinking);
                    break;
                case "redacted_thinking":
                    AppendReasoning(record, limits, RedactedThinkingNote, newBlock: true);
                    LastEventHadContent = true;
                    break;
                default:
                    if (IsToolUse(type))
                    {
                        // The model has started a tool call: its name is the first thing it produced for this block.
                        record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                        StartToolUse(block, type!, record.ToolCalls[index]);
                        LastEventHadContent = true;
                    }
                    break;
            }
        }

        private void BlockDelta(int index, JsonElement delta)
        {
            switch (Json.String(delta, "type"))
            {
                case "text_delta":
                    ApplyDelta(index, AnthropicEventReader.DeltaKind.Text, Json.String(delta, "text"));
                    break;
                case "input_json_delta":
                    ApplyDelta(index, AnthropicEventReader.DeltaKind.InputJson, Json.String(delta, "partial_json"));
                    break;
                case "thinking_delta":
                    ApplyDelta(index, AnthropicEventReader.DeltaKind.Thinking, Json.String(delta, "thinking"));
                    break;
                // signature_delta (the thinking block's integrity signature) and citations_delta are not content to log.
            }
        }

        /// <summary>One delta of a block: <paramref name="value"/> is its text, partial JSON or thinking, as <paramref name="kind"/> says (empty: absent).</summary>
        private void ApplyDelta(int index, AnthropicEventReader.DeltaKind kind, ReadOnlySpan<char> value)
        {
            switch (kind)
            {
                case AnthropicEventReader.DeltaKind.Text when !value.IsEmpty:
                    record.Output(limits.MaxContentChars).Append(value);
                    LastEventHadContent = true;
                    break;
                case AnthropicEventReader.DeltaKind.InputJson:
                    if (_blocks.TryGetValue(index, out var block)) block.HadInputDelta = true;
                    if (!value.IsEmpty)
                    {
                        record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                        record.ToolCalls[index].Arguments.Append(value);
                        LastEventHadContent = true;
                    }
                    break;
                case AnthropicEventReader.DeltaKind.Thinking when !value.IsEmpty:
                    AppendThinking(index, value);
                    break;
            }
        }

        private void AppendThinking(int index, ReadOnlySpan<char> thinking)
        {
            var block = _blocks.GetValueOrDefault(index);
            AppendReasoning(record, limits, thinking, newBlock: block is not { HadReasoning: true });
            if (block is not null) block.HadReasoning = true;
            LastEventHadContent = true;
        }

        private void BlockStop(int index)
        {
            if (!_blocks.TryGetValue(index, out var block) || block.Stopped) return;
            block.Stopped = true;
            // A tool whose input came whole in the start event (no deltas) keeps that input, "{}" for no arguments.
            if (block.InitialInput is { } input && !block.HadInputDelta && record.ToolCalls is { } calls) calls[index].Arguments.Append(input);
        }
    }
}
