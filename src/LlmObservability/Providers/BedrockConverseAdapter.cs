using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Pricing;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;

namespace LlmObservability.Providers;

/// <summary>
/// Amazon Bedrock Converse (<c>POST /model/{modelId}/converse</c>) and ConverseStream
/// (<c>POST /model/{modelId}/converse-stream</c>, AWS event-stream framing) on <c>bedrock-runtime.{region}.amazonaws.com</c>
/// and on any host with that path (VPC endpoints, proxies, emulators). The model ID is URL-encoded in the path and may be
/// a foundation model, a cross-region inference profile (<c>us.anthropic.claude-…-v1:0</c>) or an ARN; it is recorded
/// decoded, as given.
/// </summary>
/// <remarks>
/// Usage: <c>inputTokens</c> counts uncached input only; <c>cacheReadInputTokens</c> and <c>cacheWriteInputTokens</c> are
/// reported beside it (as Anthropic does), so prompt tokens = <c>inputTokens</c>, cached = <c>cacheReadInputTokens</c>,
/// cache creation = <c>cacheWriteInputTokens</c>, of which the <c>cacheDetails</c> entry with <c>ttl</c> <c>1h</c> is
/// the one-hour part (priced apart); reasoning is inside <c>outputTokens</c> and not broken out. The service tier is the
/// response's <c>serviceTier.type</c> (whole body, or the stream's <c>metadata</c> event), else the request's.
/// <c>metrics.latencyMs</c> is the server's own timing and is not copied (the payload measures latency client-side).
/// Errors: the type is the <c>x-amzn-errortype</c> header (or the body's <c>__type</c>), the message the body's
/// <c>message</c>; in a stream, exception messages (<c>throttlingException</c>, <c>modelStreamErrorException</c>, ...).
/// </remarks>
internal sealed class BedrockConverseAdapter : ProviderAdapter
{
    public static readonly BedrockConverseAdapter Instance = new();

    private const string StreamSuffix = "/converse-stream";

    public override string CallType => "converse";

    /// <summary>Bedrock reports cache reads and writes beside <c>inputTokens</c>, as Anthropic does, and one-hour writes apart.</summary>
    public override LlmUsage? ToUsage(CallRecord record)
    {
        if (record.PromptTokens is null && record.CompletionTokens is null) return null;
        return LlmUsage.ForAnthropic(record.PromptTokens ?? 0, record.CompletionTokens ?? 0, record.CachedPromptTokens ?? 0,
            record.CacheCreationTokens ?? 0, record.CacheCreation1hTokens ?? 0);
    }

    /// <summary>
    /// The tier the response's <c>serviceTier.type</c> says served the call, else the one the request's
    /// <c>serviceTier.type</c> asked for (<c>priority</c>, <c>default</c>, <c>flex</c>, <c>reserved</c>).
    /// </summary>
    public override string? PricedServiceTier(CallRecord record) =>
        record.ServiceTier
        ?? (record.ModelParameters?.TryGetValue("serviceTier", out var requested) == true && requested.ValueKind == JsonValueKind.Object ? Json.String(requested, "type") : null);

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri)
    {
        var path = uri.AbsolutePath.AsSpan().TrimEnd('/');
        int suffix;
        if (path.EndsWith("/converse", StringComparison.Ordinal)) suffix = "/converse".Length;
        else if (path.EndsWith(StreamSuffix, StringComparison.Ordinal)) suffix = StreamSuffix.Length;
        else return null;
        var start = path.IndexOf("/model/", StringComparison.Ordinal);
        // A model ID between /model/ and /converse; an ARN whose '/' the client did not encode still fits.
        if (start < 0 || start + "/model/".Length >= path.Length - suffix) return null;
        return ProviderRoute.Create(this, "bedrock", uri, start);
    }

    public override StreamFraming StreamFramingFor(ReadOnlySpan<char> mediaType) =>
        mediaType.Equals("application/vnd.amazon.eventstream", StringComparison.OrdinalIgnoreCase) ? StreamFraming.AwsEventStream : base.StreamFramingFor(mediaType);

    /// <summary>The model ID in the endpoint <c>/model/{modelId}/converse[-stream]</c>, URL-decoded.</summary>
    internal static string? ModelFromEndpoint(string endpoint)
    {
        if (!endpoint.StartsWith("/model/", StringComparison.Ordinal)) return null;
        var end = endpoint.EndsWith(StreamSuffix, StringComparison.Ordinal) ? endpoint.Length - StreamSuffix.Length : endpoint.LastIndexOf('/');
        var id = endpoint.AsSpan("/model/".Length, Math.Max(end - "/model/".Length, 0));
        return id.IsEmpty ? null : Uri.UnescapeDataString(id.ToString());
    }

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = ModelFromEndpoint(record.Route.Endpoint);
        record.Stream = record.Route.Endpoint.EndsWith(StreamSuffix, StringComparison.Ordinal);
        record.ModelParameters = ReadParameters(root);
        var messages = new List<LlmMessage>();
        if (Json.Array(root, "system") is { } system)
        {
            messages.Add(new LlmMessage { Role = "system", Content = Cap(BlocksText(system, out _, out _, limits), limits.MaxContentChars), IsSystemInstruction = true });
        }
        if (Json.Array(root, "messages") is { } list)
        {
            foreach (var message in list.EnumerateArray())
            {
                string? content = null, toolUseId = null;
                ToolCallAccumulator? calls = null;
                if (Json.Array(message, "content") is { } blocks) content = BlocksText(blocks, out calls, out toolUseId, limits);
                messages.Add(new LlmMessage
                {
                    Role = Json.String(message, "role"),
                    Content = Cap(content, limits.MaxContentChars),
                    ToolCallId = toolUseId,
                    ToolCalls = calls?.ToList(),
                });
            }
        }
        if (messages.Count > 0) record.Messages = messages;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        if (Json.Object(root, "output") is { } output && Json.Object(output, "message") is { } message && Json.Array(message, "content") is { } blocks)
        {
            foreach (var block in blocks.EnumerateArray())
            {
                if (Json.String(block, "text") is { } text) record.Output(limits.MaxContentChars).Append(text);
                else if (Json.Object(block, "toolUse") is { } toolUse) ReadToolUse(toolUse, (record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars)).Add());
                else if (Json.Object(block, "reasoningContent") is { } reasoning && Json.Object(reasoning, "reasoningText") is { } reasoningText
                    && Json.String(reasoningText, "text") is { } thought)
                {
                    (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(thought);
                }
            }
        }
        record.AddFinishReason(Json.String(root, "stopReason"));
        ReadUsage(root, record);
    }

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new EventParser(record, limits);

    /// <summary>Reads <c>{"message": "..."}</c> (also <c>Message</c>) and, when the header gave none, the type from <c>__type</c>.</summary>
    public override void ParseError(JsonElement root, CallRecord record)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        record.ErrorMessage = Json.String(root, "message") ?? Json.String(root, "Message") ?? record.ErrorMessage;
        if (record.ErrorType is null && Json.String(root, "__type") is { } type) record.ErrorType = ErrorTypeName(type);
    }

    /// <summary>The default headers (<c>x-amzn-requestid</c> among them), plus <c>x-amzn-errortype</c> on an error.</summary>
    public override void ReadResponseHeaders(HttpResponseHeaders headers, CallRecord record)
    {
        base.ReadResponseHeaders(headers, record);
        if (record.HttpStatus is >= 200 and < 300) return;
        if (headers.NonValidated.TryGetValues("x-amzn-errortype", out var values) && values.Count > 0)
        {
            record.ErrorType = ErrorTypeName(values.ToString());
        }
    }

    /// <summary><c>ValidationException:http://internal.amazon.com/coral/…</c> or <c>com.amazon.coral#ValidationException</c> → <c>ValidationException</c>.</summary>
    private static string ErrorTypeName(string raw)
    {
        var type = raw.AsSpan();
        var colon = type.IndexOf(':');
        if (colon >= 0) type = type[..colon];
        var hash = type.LastIndexOf('#');
        if (hash >= 0) type = type[(hash + 1)..];
        return type.Trim().ToString();
    }

    /// <summary>
    /// <c>inferenceConfig</c> members as they are (maxTokens, temperature, topP, stopSequences); <c>toolConfig.tools</c>
    /// as <c>tools_count</c> (cache points left out) and its <c>toolChoice</c> as it is; <c>additionalModelRequestFields</c> (model-specific
    /// settings such as top_k or thinking), <c>performanceConfig</c> and <c>serviceTier</c> as they are.
    /// </summary>
    private static Dictionary<string, JsonElement>? ReadParameters(JsonElement root)
    {
        Dictionary<string, JsonElement>? parameters = null;
        if (Json.Object(root, "inferenceConfig") is { } config)
        {
            foreach (var property in config.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Null) (parameters ??= new(StringComparer.Ordinal))[property.Name] = property.Value.Clone();
            }
        }
        if (Json.Object(root, "toolConfig") is { } toolConfig)
        {
            if (Json.Array(toolConfig, "tools") is { } tools)
            {
                var count = 0;
                foreach (var tool in tools.EnumerateArray())
                {
                    if (tool.ValueKind == JsonValueKind.Object && Json.Get(tool, "cachePoint") is null) count++; // a cache point is a marker, not a tool
                }
                (parameters ??= new(StringComparer.Ordinal))["tools_count"] = JsonSerializer.SerializeToElement(count, ProviderJsonContext.Default.Int32);
            }
            if (Json.Object(toolConfig, "toolChoice") is { } choice) (parameters ??= new(StringComparer.Ordinal))["toolChoice"] = choice.Clone();
        }
        foreach (var name in (ReadOnlySpan<string>)["additionalModelRequestFields", "performanceConfig", "serviceTier"])
        {
            if (Json.Object(root, name) is { } value) (parameters ??= new(StringComparer.Ordinal))[name] = value.Clone();
        }
        return parameters;
    }

    /// <summary>
    /// Content blocks as text: text as it is, a tool result as its content (text, or JSON as text), other blocks as a
    /// short note named after the block (<c>[image]</c>, <c>[document]</c>, <c>[reasoningContent]</c>, ...); tool uses
    /// become tool calls, and the first tool result's ID is returned. Cache points are markers, not content.
    /// </summary>
    private static string BlocksText(JsonElement blocks, out ToolCallAccumulator? calls, out string? toolUseId, CaptureLimits limits)
    {
        calls = null;
        toolUseId = null;
        var text = new StringBuilder();
        foreach (var block in blocks.EnumerateArray())
        {
            string? piece;
            if (Json.String(block, "text") is { } blockText) piece = blockText;
            else if (Json.Object(block, "toolUse") is { } toolUse)
            {
                ReadToolUse(toolUse, (calls ??= new ToolCallAccumulator(limits.MaxContentChars)).Add());
                continue;
            }
            else if (Json.Object(block, "toolResult") is { } toolResult)
            {
                toolUseId ??= Json.String(toolResult, "toolUseId");
                piece = Json.Array(toolResult, "content") is { } resultBlocks ? ResultText(resultBlocks) : string.Empty;
            }
            else if (Json.Get(block, "cachePoint") is not null) continue;
            else piece = BlockNote(block);
            if (text.Length > 0) text.Append('\n');
            text.Append(piece);
        }
        return text.ToString();
    }

    private static string ResultText(JsonElement blocks)
    {
        var text = new StringBuilder();
        foreach (var block in blocks.EnumerateArray())
        {
            if (text.Length > 0) text.Append('\n');
            if (Json.String(block, "text") is { } blockText) text.Append(blockText);
            else if (Json.Get(block, "json") is { } json) text.Append(json.GetRawText());
            else text.Append(BlockNote(block));
        }
        return text.ToString();
    }

    private static string BlockNote(JsonElement block)
    {
        if (block.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in block.EnumerateObject()) return "[" + property.Name + "]";
        }
        return "[block]";
    }

    private static void ReadToolUse(JsonElement toolUse, ToolCallAccumulator.Builder builder)
    {
        builder.Id ??= Json.String(toolUse, "toolUseId");
        builder.Type ??= "function";
        builder.Name ??= Json.String(toolUse, "name");
        if (Json.Get(toolUse, "input") is { } input) builder.Arguments.Append(input.ValueKind == JsonValueKind.String ? input.GetString() : input.GetRawText());
    }

    /// <summary>The usage and service tier of a whole response or of the stream's <c>metadata</c> event (both carry them at the root).</summary>
    private static void ReadUsage(JsonElement root, CallRecord record)
    {
        if (Json.Object(root, "serviceTier") is { } tier) record.ServiceTier = Json.String(tier, "type") ?? record.ServiceTier;
        if (Json.Object(root, "usage") is not { } usage) return;
        record.PromptTokens = Json.Long(usage, "inputTokens") ?? record.PromptTokens;
        record.CompletionTokens = Json.Long(usage, "outputTokens") ?? record.CompletionTokens;
        record.TotalTokens = Json.Long(usage, "totalTokens") ?? record.TotalTokens;
        record.CachedPromptTokens = Json.Long(usage, "cacheReadInputTokens") ?? record.CachedPromptTokens;
        var cacheWrite = Json.Long(usage, "cacheWriteInputTokens");
        // cacheDetails: [{"ttl": "5m" | "1h", "inputTokens": N}], the writes by lifetime; one-hour writes cost more.
        if (Json.Array(usage, "cacheDetails") is { } details)
        {
            long? oneHour = null, all = null;
            foreach (var detail in details.EnumerateArray())
            {
                var tokens = Json.Long(detail, "inputTokens");
                all = Json.Add(all, tokens);
                if (Json.String(detail, "ttl") == "1h") oneHour = Json.Add(oneHour, tokens);
            }
            record.CacheCreation1hTokens = oneHour ?? record.CacheCreation1hTokens;
            cacheWrite ??= all;
        }
        record.CacheCreationTokens = cacheWrite ?? record.CacheCreationTokens;
    }

    /// <summary>
    /// Assembles a ConverseStream response from its event-stream messages: <c>messageStart</c>, then per content block
    /// <c>contentBlockStart</c> (tool uses: ID and name) / <c>contentBlockDelta</c> (text, tool input JSON in pieces,
    /// reasoning) / <c>contentBlockStop</c>, then <c>messageStop</c> (stop reason) and <c>metadata</c> (usage, metrics).
    /// <c>messageStop</c> ends the model's message and is taken as the end; <c>metadata</c> normally follows it.
    /// </summary>
    private sealed class EventParser(CallRecord record, CaptureLimits limits) : StreamParser
    {
        public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            LastEventHadContent = false;
            if (eventType is not null && eventType.StartsWith(AwsEventStreamReader.ErrorPrefix, StringComparison.Ordinal))
            {
                record.ErrorType = eventType[AwsEventStreamReader.ErrorPrefix.Length..] is { Length: > 0 } code ? code : "stream_error";
                record.ErrorMessage = Encoding.UTF8.GetString(data.Span);
                return;
            }
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return;
            if (eventType is not null && eventType.StartsWith(AwsEventStreamReader.ExceptionPrefix, StringComparison.Ordinal))
            {
                record.ErrorType = eventType[AwsEventStreamReader.ExceptionPrefix.Length..] is { Length: > 0 } type ? type : "stream_error";
                record.ErrorMessage = Json.String(root, "message") ?? Json.String(root, "Message");
                return;
            }
            switch (eventType)
            {
                case "contentBlockStart":
                    if (Json.Object(root, "start") is { } start && Json.Object(start, "toolUse") is { } toolUse)
                    {
                        ReadToolUse(toolUse, ToolCall(root));
                        LastEventHadContent = true;
                    }
                    break;
                case "contentBlockDelta":
                    if (Json.Object(root, "delta") is not { } delta) break;
                    if (Json.String(delta, "text") is { Length: > 0 } text)
                    {
                        record.Output(limits.MaxContentChars).Append(text);
                        LastEventHadContent = true;
                    }
                    else if (Json.Object(delta, "toolUse") is { } toolDelta)
                    {
                        ToolCall(root).Arguments.Append(Json.String(toolDelta, "input"));
                        LastEventHadContent = true;
                    }
                    else if (Json.Object(delta, "reasoningContent") is { } reasoning && Json.String(reasoning, "text") is { Length: > 0 } thought)
                    {
                        (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(thought);
                        LastEventHadContent = true;
                    }
                    break;
                case "messageStop":
                    record.AddFinishReason(Json.String(root, "stopReason"));
                    SawEnd = true;
                    break;
                case "metadata":
                    ReadUsage(root, record);
                    break;
            }
        }

        private ToolCallAccumulator.Builder ToolCall(JsonElement root) =>
            (record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars))[(int)(Json.Long(root, "contentBlockIndex") ?? 0)];
    }
}
