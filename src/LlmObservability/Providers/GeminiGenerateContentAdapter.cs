using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Pricing;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;

namespace LlmObservability.Providers;

/// <summary>
/// Google Gemini <c>generateContent</c> (<c>POST …/v1beta/models/{model}:generateContent</c>, also <c>/v1/</c>) and
/// <c>streamGenerateContent</c> (<c>?alt=sse</c>: an SSE stream of whole <c>GenerateContentResponse</c> chunks; without
/// it, one JSON array of them), on generativelanguage.googleapis.com, on Vertex AI
/// (<c>…/publishers/google/models/{model}:generateContent</c>, provider <c>vertex_ai</c>) and on any host with that path.
/// The model comes from the URL path, the API key from the <c>x-goog-api-key</c> header or the <c>key=</c> query (masked).
/// A request's members may be spelled in lowerCamelCase or in snake_case, as the API takes both (see <c>Member</c>);
/// responses are read in lowerCamelCase, the spelling the API writes.
/// </summary>
/// <remarks>
/// Usage: <c>promptTokenCount</c> includes <c>cachedContentTokenCount</c>; <c>thoughtsTokenCount</c> is reported beside
/// <c>candidatesTokenCount</c>; <c>toolUsePromptTokenCount</c> (tool results such as search grounding fed back to the
/// model) is input beside <c>promptTokenCount</c> and is added to the prompt tokens, so that prompt + completion +
/// reasoning = <c>totalTokenCount</c>. Each stream chunk carries the running totals, so later chunks overwrite earlier
/// ones rather than add to them. Vertex AI's <c>usageMetadata.trafficType</c> is the call's service tier.
/// </remarks>
internal sealed class GeminiGenerateContentAdapter : ProviderAdapter
{
    public static readonly GeminiGenerateContentAdapter Instance = new();

    private const string StreamMethod = ":streamGenerateContent";

    // generationConfig members that are schemas or other bulky structures, not parameters worth a log line, in both
    // spellings (see Member).
    internal static readonly HashSet<string> BulkyConfig = new(StringComparer.Ordinal)
    {
        "responseSchema", "responseJsonSchema", "_responseJsonSchema", "speechConfig",
        "response_schema", "response_json_schema", "_response_json_schema", "speech_config",
    };

    public override string CallType => "generate_content";

    /// <summary>Gemini counts cached tokens inside the prompt and thinking tokens beside the candidates.</summary>
    public override LlmUsage? ToUsage(CallRecord record)
    {
        if (record.PromptTokens is null && record.CompletionTokens is null) return null;
        return LlmUsage.ForGemini(record.PromptTokens ?? 0, record.CompletionTokens ?? 0, record.CachedPromptTokens ?? 0, record.ReasoningTokens ?? 0);
    }

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri)
    {
        var path = uri.AbsolutePath.AsSpan().TrimEnd('/');
        var colon = path.LastIndexOf(':');
        if (colon < 0) return null;
        var method = path[(colon + 1)..];
        if (!method.Equals("generateContent", StringComparison.OrdinalIgnoreCase) && !method.Equals("streamGenerateContent", StringComparison.OrdinalIgnoreCase)) return null;
        var modelSlash = path[..colon].LastIndexOf('/');
        if (modelSlash <= 0 || modelSlash == colon - 1) return null;
        var collectionSlash = path[..modelSlash].LastIndexOf('/');
        if (collectionSlash < 0) return null;
        var collection = path[(collectionSlash + 1)..modelSlash];
        if (!collection.SequenceEqual("models") && !collection.SequenceEqual("tunedModels")) return null;
        var provider = uri.Host.EndsWith("aiplatform.googleapis.com", StringComparison.OrdinalIgnoreCase) ? "vertex_ai" : "gemini";
        return ProviderRoute.Create(this, provider, uri, collectionSlash);
    }

    /// <summary>The model named in the endpoint (<c>/models/{model}:method</c>); tuned models keep their <c>tunedModels/</c> prefix.</summary>
    internal static string? ModelFromEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon < 0) return null;
        var resource = endpoint.AsSpan(0, colon).TrimStart('/');
        if (resource.StartsWith("models/", StringComparison.Ordinal)) resource = resource["models/".Length..];
        return resource.IsEmpty ? null : Uri.UnescapeDataString(resource.ToString());
    }

    /// <summary>Whether the endpoint streams (<c>:streamGenerateContent</c>).</summary>
    internal static bool IsStreamEndpoint(string endpoint) => endpoint.EndsWith(StreamMethod, StringComparison.OrdinalIgnoreCase);

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = ModelFromEndpoint(record.Route.Endpoint);
        record.Stream = IsStreamEndpoint(record.Route.Endpoint);
        record.ModelParameters = ReadParameters(root);

        var messages = new List<LlmMessage>();
        if (Member(root, "systemInstruction", "system_instruction")?.Value is { } system)
        {
            // The REST reference takes a Content; a bare string is tolerated the way the SDKs accept one.
            messages.Add(system.ValueKind == JsonValueKind.String
                ? new LlmMessage { Role = "system", Content = Cap(system.GetString(), limits.MaxContentChars), IsSystemInstruction = true }
                : ReadContent(system, "system", limits) with { IsSystemInstruction = true });
        }
        if (Json.Array(root, "contents") is { } contents)
        {
            foreach (var content in contents.EnumerateArray()) messages.Add(ReadContent(content, null, limits));
        }
        if (messages.Count > 0) record.Messages = messages;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        // streamGenerateContent without alt=sse answers with one JSON array of the chunks.
        if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var chunk in root.EnumerateArray())
            {
                if (Json.Get(chunk, "error") is not null) ParseError(chunk, record);
                else ReadChunk(chunk, record, limits);
            }
            return;
        }
        ReadChunk(root, record, limits);
    }

    public override bool TryParseRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        GeminiRequestReader.TryReadRequest(body, record, limits);

    public override bool TryParseResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        GeminiResponseReader.TryReadResponse(body, record, limits);

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new ChunkParser(record, limits, fastPath: true);

    /// <summary>A stream parser that reads every chunk through a <see cref="JsonDocument"/>: what <see cref="GeminiResponseReader"/> is tested against.</summary>
    internal static StreamParser CreateDocumentStreamParser(CallRecord record, CaptureLimits limits) => new ChunkParser(record, limits, fastPath: false);

    /// <summary>Reads Google's error shape: <c>{"error": {"code": 429, "message": "...", "status": "RESOURCE_EXHAUSTED"}}</c>.</summary>
    public override void ParseError(JsonElement root, CallRecord record)
    {
        if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0) root = root[0];
        if (Json.Object(root, "error") is not { } error)
        {
            base.ParseError(root, record);
            return;
        }
        record.ErrorType = Json.String(error, "status") ?? record.ErrorType;
        record.ErrorCode = Json.Scalar(error, "code") ?? record.ErrorCode;
        record.ErrorMessage = Json.String(error, "message") ?? record.ErrorMessage;
    }

    /// <summary>
    /// The member under its lowerCamelCase name when that is given (not null), else under its snake_case one, with the
    /// name it was given under. The API reads its JSON as protobuf does, which takes a field under either name, and
    /// requests written by hand or after curl examples use the snake_case ones (<c>system_instruction</c>,
    /// <c>generation_config</c>, <c>function_call</c>, <c>inline_data</c>, ...). A request that gives both is one the
    /// API refuses; reading the camelCase one is as good as any.
    /// </summary>
    private static (string Name, JsonElement Value)? Member(JsonElement obj, string camel, string snake) =>
        Json.Get(obj, camel) is { } value ? (camel, value) : Json.Get(obj, snake) is { } other ? (snake, other) : null;

    /// <summary>
    /// <c>generationConfig</c> members as they are (temperature, topP, topK, maxOutputTokens, candidateCount,
    /// stopSequences, thinkingConfig, ...) except response schemas; <c>tools</c> as <c>tools_count</c> (each function
    /// declaration counts, and each built-in tool such as googleSearch or codeExecution); <c>toolConfig</c> and
    /// <c>cachedContent</c> as they are. Contents, system instruction and safety settings are not parameters. Every name
    /// is kept as the request spelled it (<c>max_output_tokens</c>, <c>tool_config</c>): the payload keeps the provider's
    /// names as sent, and the span's <c>gen_ai.request.*</c> attributes know both spellings.
    /// </summary>
    private static Dictionary<string, JsonElement>? ReadParameters(JsonElement root)
    {
        Dictionary<string, JsonElement>? parameters = null;
        if (Member(root, "generationConfig", "generation_config")?.Value is { ValueKind: JsonValueKind.Object } config)
        {
            foreach (var property in config.EnumerateObject())
            {
                if (BulkyConfig.Contains(property.Name) || property.Value.ValueKind == JsonValueKind.Null) continue;
                (parameters ??= new(StringComparer.Ordinal))[property.Name] = Json.Keep(property.Value);
            }
        }
        if (Json.Array(root, "tools") is { } tools)
        {
            var count = 0;
            foreach (var tool in tools.EnumerateArray())
            {
                if (tool.ValueKind != JsonValueKind.Object) continue;
                foreach (var kind in tool.EnumerateObject())
                {
                    count += kind.Name is "functionDeclarations" or "function_declarations" && kind.Value.ValueKind == JsonValueKind.Array ? kind.Value.GetArrayLength() : 1;
                }
            }
            (parameters ??= new(StringComparer.Ordinal))["tools_count"] = JsonSerializer.SerializeToElement(count, ProviderJsonContext.Default.Int32);
        }
        if (Member(root, "toolConfig", "tool_config") is { Value.ValueKind: JsonValueKind.Object } toolConfig) (parameters ??= new(StringComparer.Ordinal))[toolConfig.Name] = toolConfig.Value.Clone();
        if (Member(root, "cachedContent", "cached_content") is { Value.ValueKind: JsonValueKind.String } cached) (parameters ??= new(StringComparer.Ordinal))[cached.Name] = cached.Value.Clone();
        return parameters;
    }

    /// <summary>
    /// One <c>Content</c> as a message: text parts joined by newlines, a function response as its JSON, other parts as a
    /// short note (<c>[inline_data]</c>, <c>[file_data]</c>, ...); function calls become the message's tool calls.
    /// </summary>
    private static LlmMessage ReadContent(JsonElement content, string? role, CaptureLimits limits)
    {
        var text = new StringBuilder();
        ToolCallAccumulator? calls = null;
        string? name = null, toolCallId = null;
        if (Json.Array(content, "parts") is { } parts)
        {
            foreach (var part in parts.EnumerateArray())
            {
                string? piece;
                if (Json.String(part, "text") is { } partText) piece = Json.Bool(part, "thought") == true ? "[thought]" : partText;
                else if (Member(part, "functionCall", "function_call")?.Value is { ValueKind: JsonValueKind.Object } call)
                {
                    ReadFunctionCall(call, (calls ??= new ToolCallAccumulator(limits.MaxContentChars)).Add());
                    continue;
                }
                else if (Member(part, "functionResponse", "function_response")?.Value is { ValueKind: JsonValueKind.Object } response)
                {
                    name ??= Json.String(response, "name");
                    toolCallId ??= Json.String(response, "id");
                    piece = Json.Get(response, "response") is { } body ? body.GetRawText() : "[function_response]";
                }
                else piece = PartNote(part);
                if (text.Length > 0) text.Append('\n');
                text.Append(piece);
            }
        }
        return new LlmMessage
        {
            Role = role ?? Json.String(content, "role") ?? "user", // an unset role is the user's, as the API reads it
            Content = Cap(text.ToString(), limits.MaxContentChars),
            Name = name,
            ToolCallId = toolCallId,
            ToolCalls = calls?.ToList(),
        };
    }

    private static string PartNote(JsonElement part) =>
        PartNote(Member(part, "inlineData", "inline_data") is not null, Member(part, "fileData", "file_data") is not null,
            Member(part, "executableCode", "executable_code") is not null, Member(part, "codeExecutionResult", "code_execution_result") is not null);

    /// <summary>The note for a part that is no text, call or response, by which of these members it has (not null).</summary>
    internal static string PartNote(bool inlineData, bool fileData, bool executableCode, bool codeExecutionResult) =>
        inlineData ? "[inline_data]" : fileData ? "[file_data]" : executableCode ? "[executable_code]" : codeExecutionResult ? "[code_execution_result]" : "[part]";

    private static void ReadFunctionCall(JsonElement call, ToolCallAccumulator.Builder builder) =>
        StartFunctionCall(builder, Json.String(call, "id"), Json.String(call, "name"), Json.Get(call, "args") is { } args ? args.GetRawText() : null);

    /// <summary>A function call as the tool call <paramref name="builder"/> holds it: its arguments' JSON text, <c>{}</c> when none were given.</summary>
    internal static void StartFunctionCall(ToolCallAccumulator.Builder builder, string? id, string? name, string? args)
    {
        builder.Id ??= id;
        builder.Type ??= "function";
        builder.Name ??= name;
        builder.Arguments.Append(args ?? "{}");
    }

    /// <summary>Where a response part's text goes: the reasoning for a thought, the output otherwise.</summary>
    internal static TextAccumulator PartText(CallRecord record, CaptureLimits limits, bool thought) =>
        thought ? (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)) : record.Output(limits.MaxContentChars);

    /// <summary>Reads one <c>GenerateContentResponse</c> (a whole body or a stream chunk). True when it carried content.</summary>
    private static bool ReadChunk(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object) return false;
        record.ResponseId ??= Json.String(root, "responseId");
        record.ResponseModel ??= Json.String(root, "modelVersion");
        var hadContent = false;
        if (Json.Array(root, "candidates") is { } candidates)
        {
            var position = 0;
            foreach (var candidate in candidates.EnumerateArray())
            {
                var index = Json.Long(candidate, "index") ?? position;
                position++;
                record.AddFinishReason(Json.String(candidate, "finishReason"));
                // Several candidates (candidateCount > 1): the output is the first one, as with OpenAI's choices.
                if (index != 0 || Json.Object(candidate, "content") is not { } content || Json.Array(content, "parts") is not { } parts) continue;
                foreach (var part in parts.EnumerateArray())
                {
                    if (Json.String(part, "text") is { Length: > 0 } text)
                    {
                        PartText(record, limits, Json.Bool(part, "thought") == true).Append(text);
                        hadContent = true;
                    }
                    else if (Json.Object(part, "functionCall") is { } call)
                    {
                        // Gemini sends each function call whole, never in pieces.
                        ReadFunctionCall(call, (record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars)).Add());
                        hadContent = true;
                    }
                }
            }
        }
        if (Json.Object(root, "promptFeedback") is { } feedback) record.AddFinishReason(Json.String(feedback, "blockReason"));
        ReadUsage(root, record);
        return hadContent;
    }

    private static void ReadUsage(JsonElement root, CallRecord record)
    {
        if (Json.Object(root, "usageMetadata") is not { } usage) return;
        new UsageCounts(
            Json.Long(usage, "promptTokenCount"), Json.Long(usage, "toolUsePromptTokenCount"), Json.Long(usage, "candidatesTokenCount"),
            Json.Long(usage, "totalTokenCount"), Json.Long(usage, "cachedContentTokenCount"), Json.Long(usage, "thoughtsTokenCount"),
            Json.Name(usage, "trafficType")).ApplyTo(record);
    }

    /// <summary>
    /// A <c>usageMetadata</c>'s counts as given (null: absent); <see cref="ApplyTo"/> records them as the running totals
    /// they are. Vertex AI adds <c>trafficType</c> (<c>ON_DEMAND</c>, <c>ON_DEMAND_PRIORITY</c>, <c>ON_DEMAND_FLEX</c>,
    /// <c>PROVISIONED_THROUGHPUT</c>), the quota the call was served from, which is its service tier.
    /// </summary>
    internal readonly record struct UsageCounts(long? Prompt, long? ToolUse, long? Candidates, long? Total, long? Cached, long? Thoughts, string? TrafficType)
    {
        public void ApplyTo(CallRecord record)
        {
            if (Prompt is not null || ToolUse is not null) record.PromptTokens = Json.Add(Prompt, ToolUse);
            record.CompletionTokens = Candidates ?? record.CompletionTokens;
            record.TotalTokens = Total ?? record.TotalTokens;
            record.CachedPromptTokens = Cached ?? record.CachedPromptTokens;
            record.ReasoningTokens = Thoughts ?? record.ReasoningTokens;
            record.ServiceTier = TrafficType ?? record.ServiceTier;
        }
    }

    /// <summary>
    /// Assembles a response from its SSE chunks. Gemini sends no <c>[DONE]</c>: the stream simply closes after the chunk
    /// that carries the <c>finishReason</c> (or a prompt <c>blockReason</c>), and that chunk always carries the final
    /// <c>usageMetadata</c>. So the end is a chunk with a finish reason (seen in it or before) and usage: a caller that
    /// stops there has the whole answer, and one that stops earlier has not. Each chunk is read by
    /// <see cref="GeminiResponseReader"/> when it can; errors, and whatever it declines, through a <see cref="JsonDocument"/>.
    /// </summary>
    private sealed class ChunkParser(CallRecord record, CaptureLimits limits, bool fastPath) : JsonChunkParser(Instance, record)
    {
        public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            if (fastPath && GeminiResponseReader.ForThisThread.TryRead(data.Span, Record, limits, out var hadContent, out var hadUsage))
            {
                Read(hadContent, hadUsage);
                return;
            }
            base.OnEvent(eventType, data);
        }

        protected override void OnChunk(JsonElement root) => Read(ReadChunk(root, Record, limits), Json.Object(root, "usageMetadata") is not null);

        private void Read(bool hadContent, bool hadUsage)
        {
            LastEventHadContent = hadContent;
            if (Record.FinishReasons is { Count: > 0 } && hadUsage) SawEnd = true;
        }
    }
}
