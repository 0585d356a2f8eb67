using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;

namespace LlmObservability.Providers;

/// <summary>
/// OpenAI Chat Completions (<c>POST …/chat/completions</c>), on api.openai.com and on any OpenAI-compatible host:
/// request messages and parameters, whole responses, and SSE streams of <c>chat.completion.chunk</c> objects ending in
/// <c>[DONE]</c>, with usage in the last chunk when <c>stream_options.include_usage</c> is set.
/// </summary>
internal sealed class OpenAiChatAdapter : ProviderAdapter
{
    public static readonly OpenAiChatAdapter Instance = new();

    // Request members that are input or routing, not model parameters.
    private static readonly HashSet<string> NotParameters = new(StringComparer.Ordinal) { "messages", "model", "stream" };

    // OpenAI-compatible hosts, named so dashboards can tell them apart; any other host with the path is "openai_compatible".
    private static readonly Dictionary<string, string> CompatibleHosts = new(StringComparer.OrdinalIgnoreCase)
    {
        ["api.openai.com"] = "openai",
        ["api.mistral.ai"] = "mistral",
        ["api.groq.com"] = "groq",
        ["api.deepseek.com"] = "deepseek",
        ["openrouter.ai"] = "openrouter",
        ["api.together.xyz"] = "together_ai",
        ["api.together.ai"] = "together_ai",
        ["api.x.ai"] = "xai",
        ["api.fireworks.ai"] = "fireworks_ai",
        ["api.perplexity.ai"] = "perplexity",
    };

    public override string CallType => "chat_completion";

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri)
    {
        var path = uri.AbsolutePath;
        if (!ProviderDetector.EndsWithSegment(path, "/chat/completions")) return null;
        return ProviderRoute.Create(this, ProviderName(uri), uri, path.TrimEnd('/').Length - "/chat/completions".Length);
    }

    /// <summary>The provider name for an OpenAI-compatible host.</summary>
    internal static string ProviderName(Uri uri) => CompatibleHosts.TryGetValue(uri.Host, out var name) ? name : "openai_compatible";

    /// <summary>
    /// Matches an OpenAI endpoint other than chat (<c>/responses</c>, <c>/embeddings</c>, <c>/completions</c>), whose
    /// names are too common to claim on any host: on a known OpenAI-compatible host any path ending in the endpoint, on
    /// other hosts only <c>…/v1/{endpoint}</c> or <c>…/openai/{endpoint}</c> (vLLM, Ollama, LiteLLM, Gemini's
    /// OpenAI-compatible API). <c>…/chat/completions</c> is never a legacy completion.
    /// </summary>
    internal static ProviderRoute? MatchEndpoint(ProviderAdapter adapter, Uri uri, string endpoint, bool trusted = false)
    {
        var path = uri.AbsolutePath;
        if (!ProviderDetector.EndsWithSegment(path, endpoint) || ProviderDetector.EndsWithSegment(path, "/chat" + endpoint)) return null;
        var knownHost = trusted || CompatibleHosts.ContainsKey(uri.Host);
        if (!knownHost && !ProviderDetector.EndsWithSegment(path, "/v1" + endpoint) && !ProviderDetector.EndsWithSegment(path, "/openai" + endpoint)) return null;
        return ProviderRoute.Create(adapter, ProviderName(uri), uri, path.TrimEnd('/').Length - endpoint.Length);
    }

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = Json.Name(root, "model");
        record.Stream = Json.Bool(root, "stream") ?? false;
        record.ModelParameters = ReadParameters(root, NotParameters);
        if (Json.Array(root, "messages") is { } messages)
        {
            var list = new List<LlmMessage>(messages.GetArrayLength());
            foreach (var message in messages.EnumerateArray()) list.Add(ReadMessage(message, limits));
            record.Messages = list;
        }
    }

    public override bool TryParseRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        OpenAiChatBodyReader.TryReadRequest(body, record, limits);

    public override bool TryParseResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        OpenAiChatBodyReader.TryReadResponse(body, record, limits);

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.ResponseId = Json.NonEmpty(root, "id");
        record.ResponseModel = Json.Name(root, "model") is { Length: > 0 } model ? model : null;
        record.ServiceTier = Json.Name(root, "service_tier") ?? record.ServiceTier;
        if (Json.Array(root, "choices") is { } choices)
        {
            foreach (var choice in choices.EnumerateArray())
            {
                record.AddFinishReason(Json.Name(choice, "finish_reason"));
                if ((Json.Long(choice, "index") ?? 0) != 0 || Json.Object(choice, "message") is not { } message) continue;
                var contentValue = Json.Get(message, "content");
                if (contentValue is { } value && Utf8Text.FromJsonString(value) is { } utf8) record.Output(limits.MaxContentChars).AppendUtf8(utf8);
                else if (contentValue is { ValueKind: JsonValueKind.Array } parts) ReadResponseParts(parts, record, limits);
                else if (ContentText(contentValue) is { } content) record.Output(limits.MaxContentChars).Append(content);
                AppendIfPresent(record, message, "refusal", limits, static r => r.RefusalText, static (r, t) => r.RefusalText = t);
                AppendIfPresent(record, message, ReasoningField(message), limits, static r => r.ReasoningText, static (r, t) => r.ReasoningText = t);
                if (Json.Array(message, "tool_calls") is { } toolCalls)
                {
                    record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                    foreach (var call in toolCalls.EnumerateArray()) ReadToolCall(call, record.ToolCalls.Add());
                }
                if (Json.Object(message, "function_call") is { } functionCall)
                {
                    record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                    ReadFunctionCall(functionCall, record.ToolCalls.Add());
                }
            }
        }
        ReadUsage(root, record);
    }

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new ChunkParser(record, limits);

    /// <summary>
    /// Reads the usage of an OpenAI-shaped body or chunk into the record, in OpenAI's semantics: prompt tokens include
    /// the cached ones, completion tokens include the reasoning ones. Understands the compatible servers' variants:
    /// DeepSeek's <c>prompt_cache_hit_tokens</c>/<c>prompt_cache_miss_tokens</c> (hit + miss = prompt), Groq's
    /// <c>x_groq.usage</c> in the last stream chunk, OpenRouter's <c>prompt_tokens_details.cache_write_tokens</c>, and
    /// usage repeated (cumulatively) in every chunk (vLLM's continuous usage stats, xAI): the last one wins.
    /// </summary>
    internal static void ReadUsage(JsonElement root, CallRecord record)
    {
        if (Json.Object(root, "usage") is { } usage) ReadUsageBlock(usage, record);
        if (Json.Object(root, "x_groq") is { } groq && Json.Object(groq, "usage") is { } groqUsage) ReadUsageBlock(groqUsage, record);
    }

    private static void ReadUsageBlock(JsonElement usage, CallRecord record)
    {
        var promptDetails = Json.Object(usage, "prompt_tokens_details");
        var completionDetails = Json.Object(usage, "completion_tokens_details");
        new UsageCounts(
            Json.Long(usage, "prompt_cache_hit_tokens"), Json.Long(usage, "prompt_tokens"), Json.Long(usage, "prompt_cache_miss_tokens"),
            Json.Long(usage, "completion_tokens"), Json.Long(usage, "total_tokens"),
            promptDetails is not null, In(promptDetails, "cached_tokens"), In(promptDetails, "cache_write_tokens"),
            completionDetails is not null, In(completionDetails, "reasoning_tokens")).ApplyTo(record);

        static long? In(JsonElement? details, string name) => details is { } obj ? Json.Long(obj, name) : null;
    }

    /// <summary>The counts of one usage block as given (null: absent), and how they land on the record.</summary>
    internal readonly record struct UsageCounts(
        long? PromptCacheHit, long? Prompt, long? PromptCacheMiss, long? Completion, long? Total,
        bool HasPromptDetails, long? Cached, long? CacheWrite, bool HasCompletionDetails, long? Reasoning)
    {
        public void ApplyTo(CallRecord record)
        {
            record.PromptTokens = (Prompt ?? Json.Add(PromptCacheHit, PromptCacheMiss)) ?? record.PromptTokens;
            record.CompletionTokens = Completion ?? record.CompletionTokens;
            record.TotalTokens = Total ?? record.TotalTokens;
            var cached = PromptCacheHit;
            if (HasPromptDetails)
            {
                cached = Cached ?? cached;
                record.CacheCreationTokens = CacheWrite ?? record.CacheCreationTokens;
            }
            record.CachedPromptTokens = cached ?? record.CachedPromptTokens;
            if (HasCompletionDetails) record.ReasoningTokens = Reasoning ?? record.ReasoningTokens;
        }
    }

    /// <summary>Scalars as they are; <c>tools</c>/<c>functions</c> as a count; <c>response_format</c> as its type; other objects as they are.</summary>
    internal static Dictionary<string, JsonElement>? ReadParameters(JsonElement root, HashSet<string> skip)
    {
        Dictionary<string, JsonElement>? parameters = null;
        foreach (var property in root.EnumerateObject())
        {
            if (skip.Contains(property.Name) || property.Value.ValueKind == JsonValueKind.Null) continue;
            parameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            switch (property.Name)
            {
                case "tools" or "functions" when property.Value.ValueKind == JsonValueKind.Array:
                    parameters["tools_count"] = CountElement(property.Value.GetArrayLength());
                    break;
                case "response_format" when Json.String(property.Value, "type") is { } type:
                    parameters["response_format"] = TextElement(type);
                    break;
                default:
                    parameters[property.Name] = Json.Keep(property.Value);
                    break;
            }
        }
        return parameters;
    }

    internal static JsonElement CountElement(int count) => JsonSerializer.SerializeToElement(count, ProviderJsonContext.Default.Int32);

    internal static JsonElement TextElement(string text) => JsonSerializer.SerializeToElement(text, ProviderJsonContext.Default.String);

    /// <summary>
    /// An input message as the payload keeps it: text content stays the UTF-8 it arrived in (see <see cref="Utf8Text"/>)
    /// unless it must be cut at the cap, when it becomes a string like content given as text (parts) is.
    /// </summary>
    internal static LlmMessage Message(string? role, byte[]? contentUtf8, string? contentText, string? name, string? toolCallId, List<LlmToolCall>? toolCalls, int maxChars)
    {
        if (contentUtf8 is not null && contentUtf8.Length > maxChars && Encoding.UTF8.GetCharCount(contentUtf8) > maxChars)
        {
            (contentText, contentUtf8) = (Encoding.UTF8.GetString(contentUtf8), null);
        }
        return new LlmMessage
        {
            Role = role,
            Content = contentUtf8 is null ? Cap(contentText, maxChars) : null,
            ContentUtf8 = contentUtf8,
            Name = name,
            ToolCallId = toolCallId,
            ToolCalls = toolCalls,
        };
    }

    internal static LlmMessage ReadMessage(JsonElement message, CaptureLimits limits)
    {
        List<LlmToolCall>? toolCalls = null;
        if (Json.Array(message, "tool_calls") is { } calls)
        {
            var accumulator = new ToolCallAccumulator(limits.MaxContentChars);
            foreach (var call in calls.EnumerateArray()) ReadToolCall(call, accumulator.Add());
            toolCalls = accumulator.ToList();
        }
        var contentValue = Json.Get(message, "content");
        var utf8 = contentValue is { } value ? Utf8Text.FromJsonString(value) : null;
        return Message(Json.Name(message, "role"), utf8, utf8 is null ? ContentText(contentValue) : null,
            Json.String(message, "name"), Json.String(message, "tool_call_id"), toolCalls, limits.MaxContentChars);
    }

    /// <summary>Content as text: a string as it is; parts joined by newlines, non-text parts as a short note.</summary>
    internal static string? ContentText(JsonElement? content)
    {
        if (content is not { } value) return null;
        if (value.ValueKind == JsonValueKind.String) return value.GetString();
        if (value.ValueKind != JsonValueKind.Array) return null;
        var builder = new StringBuilder();
        foreach (var part in value.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.String) AppendContentPart(builder, part.GetString(), null);
            else AppendContentPart(builder, Json.String(part, "text") ?? Json.String(part, "refusal"), Json.String(part, "type"));
        }
        return builder.ToString();
    }

    /// <summary>One content part: its text, or for a part without text (an image, audio) its type in brackets; parts are joined by newlines.</summary>
    internal static void AppendContentPart(StringBuilder builder, string? text, string? type)
    {
        if (builder.Length > 0) builder.Append('\n');
        if (text is not null) builder.Append(text);
        else builder.Append('[').Append(type ?? "part").Append(']');
    }

    /// <summary>
    /// An answer given as content parts (Mistral's reasoning models: <c>[{"type":"thinking","thinking":[{"type":"text","text":"…"}]},{"type":"text","text":"…"}]</c>):
    /// the thinking parts are the reasoning, not part of the answer; the other parts are the answer, joined as
    /// <see cref="ContentText"/> joins them. Content made only of thinking leaves the answer unset rather than empty.
    /// </summary>
    private static void ReadResponseParts(JsonElement parts, CallRecord record, CaptureLimits limits)
    {
        StringBuilder? answer = null;
        foreach (var part in parts.EnumerateArray())
        {
            if (ThinkingOf(part) is { } thinking)
            {
                AppendThinking(thinking, record, limits);
                continue;
            }
            answer ??= new StringBuilder();
            if (part.ValueKind == JsonValueKind.String) AppendContentPart(answer, part.GetString(), null);
            else AppendContentPart(answer, Json.String(part, "text") ?? Json.String(part, "refusal"), Json.String(part, "type"));
        }
        if (answer is not null) record.Output(limits.MaxContentChars).Append(answer.ToString());
    }

    /// <summary>
    /// One streamed <c>delta.content</c> given as parts (Mistral's reasoning models while they think, and often for the
    /// first text after): thinking parts go to the reasoning, the text of the others (a string, or a part's <c>text</c>)
    /// to the answer, each as it comes since a delta is a fragment. True: it added text to either, so it counts as the
    /// first token as a <c>reasoning_content</c> delta does.
    /// </summary>
    private static bool ReadDeltaParts(JsonElement parts, CallRecord record, CaptureLimits limits)
    {
        var added = false;
        foreach (var part in parts.EnumerateArray())
        {
            if (ThinkingOf(part) is { } thinking) added |= AppendThinking(thinking, record, limits);
            else if ((part.ValueKind == JsonValueKind.String ? part.GetString() : Json.String(part, "text")) is { Length: > 0 } text)
            {
                record.Output(limits.MaxContentChars).Append(text);
                added = true;
            }
        }
        return added;
    }

    /// <summary>A thinking part's <c>thinking</c> member (an array of text parts, or a string); null: not a thinking part. Mistral may leave out a part's <c>type</c>.</summary>
    private static JsonElement? ThinkingOf(JsonElement part) =>
        part.ValueKind == JsonValueKind.Object && Json.Get(part, "thinking") is { ValueKind: JsonValueKind.Array or JsonValueKind.String } thinking
            && (Json.Get(part, "type") is not { } type || (type.ValueKind == JsonValueKind.String && type.ValueEquals("thinking")))
            ? thinking
            : null;

    /// <summary>Appends a thinking part's text to the reasoning, its parts one after another (they are one trace). True: it added text.</summary>
    private static bool AppendThinking(JsonElement thinking, CallRecord record, CaptureLimits limits)
    {
        var added = false;
        if (thinking.ValueKind == JsonValueKind.String) Append(thinking.GetString());
        else
        {
            foreach (var part in thinking.EnumerateArray()) Append(part.ValueKind == JsonValueKind.String ? part.GetString() : Json.String(part, "text"));
        }
        return added;

        void Append(string? text)
        {
            if (text is not { Length: > 0 }) return;
            (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(text);
            added = true;
        }
    }

    /// <summary>
    /// The legacy <c>function_call</c> (<c>{"name":…,"arguments":…}</c>, from requests that give <c>functions</c>
    /// rather than <c>tools</c>): a tool call of type function without an id.
    /// </summary>
    internal static void ReadFunctionCall(JsonElement function, ToolCallAccumulator.Builder builder)
    {
        builder.Type ??= "function";
        builder.Name ??= Json.String(function, "name");
        builder.Arguments.Append(Json.String(function, "arguments"));
    }

    internal static void ReadToolCall(JsonElement call, ToolCallAccumulator.Builder builder)
    {
        builder.Id ??= Json.String(call, "id");
        builder.Type ??= Json.String(call, "type");
        if (Json.Object(call, "function") is { } function)
        {
            builder.Name ??= Json.String(function, "name");
            builder.Arguments.Append(Json.String(function, "arguments"));
        }
    }

    /// <summary>
    /// Where the reasoning text is: DeepSeek and older vLLM say <c>reasoning_content</c>; OpenRouter, Groq and newer vLLM
    /// say <c>reasoning</c>. A server that sends both sends the same text twice, so only one is read.
    /// </summary>
    private static string ReasoningField(JsonElement obj) => Json.Get(obj, "reasoning_content") is not null ? "reasoning_content" : "reasoning";

    private static void AppendIfPresent(CallRecord record, JsonElement obj, string name, CaptureLimits limits,
        Func<CallRecord, TextAccumulator?> get, Action<CallRecord, TextAccumulator> set)
    {
        if (Json.String(obj, name) is not { Length: > 0 } text) return;
        var accumulator = get(record);
        if (accumulator is null)
        {
            accumulator = new TextAccumulator(limits.MaxContentChars);
            set(record, accumulator);
        }
        accumulator.Append(text);
    }

    /// <summary>Reads one <c>chat.completion.chunk</c> (an object that is not an error) into the record; <paramref name="hadContent"/>: it carried text, reasoning, a refusal, tool calls or a function call.</summary>
    internal static void ReadChunk(JsonElement root, CallRecord record, CaptureLimits limits, out bool hadContent)
    {
        hadContent = false;
        // Azure's first chunk carries only prompt_filter_results, with "" for id and model.
        record.ResponseId ??= Json.NonEmpty(root, "id");
        record.ResponseModel ??= Json.NonEmpty(root, "model");
        record.ServiceTier = Json.String(root, "service_tier") ?? record.ServiceTier;
        if (Json.Array(root, "choices") is { } choices)
        {
            foreach (var choice in choices.EnumerateArray())
            {
                record.AddFinishReason(Json.String(choice, "finish_reason"));
                if ((Json.Long(choice, "index") ?? 0) != 0 || Json.Object(choice, "delta") is not { } delta) continue;
                if (Json.String(delta, "content") is { Length: > 0 } text)
                {
                    record.Output(limits.MaxContentChars).Append(text);
                    hadContent = true;
                }
                else if (Json.Array(delta, "content") is { } parts && ReadDeltaParts(parts, record, limits))
                {
                    hadContent = true;
                }
                if (Json.String(delta, "refusal") is { Length: > 0 } refusal)
                {
                    (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(refusal);
                    hadContent = true;
                }
                if (Json.String(delta, ReasoningField(delta)) is { Length: > 0 } reasoning)
                {
                    (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(reasoning);
                    hadContent = true;
                }
                if (Json.Array(delta, "tool_calls") is { } toolCalls)
                {
                    record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                    foreach (var call in toolCalls.EnumerateArray())
                    {
                        ReadToolCall(call, record.ToolCalls[(int)(Json.Long(call, "index") ?? 0)]);
                    }
                    hadContent = true;
                }
                if (Json.Object(delta, "function_call") is { } functionCall)
                {
                    // The legacy function call streams one call, its arguments in pieces.
                    record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                    ReadFunctionCall(functionCall, record.ToolCalls[0]);
                    hadContent = true;
                }
            }
        }
        ReadUsage(root, record);
    }

    /// <summary>Assembles a chat completion from its chunks as they pass.</summary>
    private sealed class ChunkParser(CallRecord callRecord, CaptureLimits limits) : OpenAiChunkParser(callRecord)
    {
        private readonly ChunkPrefix _prefix = new();

        protected override bool TryReadFast(ReadOnlySpan<byte> json)
        {
            if (!OpenAiChatChunkReader.ForThisThread.TryRead(json, Record, limits, out var hadContent, _prefix)) return false;
            LastEventHadContent = hadContent;
            return true;
        }

        protected override void OnChunk(JsonElement root)
        {
            ReadChunk(root, Record, limits, out var hadContent);
            LastEventHadContent = hadContent;
        }
    }

    /// <summary>
    /// What every OpenAI-style stream shares: <c>data: [DONE]</c> ends it, each other event is one JSON chunk, and a chunk
    /// with an <c>error</c> member is an error inside a 200 stream. Subclasses read the chunks.
    /// </summary>
    internal abstract class OpenAiChunkParser(CallRecord record) : JsonChunkParser(Instance, record)
    {
        public sealed override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            LastEventHadContent = false;
            if (data.Span.SequenceEqual("[DONE]"u8))
            {
                SawEnd = true;
                return;
            }
            if (TryReadFast(data.Span)) return;
            base.OnEvent(eventType, data);
        }

        /// <summary>
        /// Reads the chunk without a <see cref="JsonDocument"/> when it can, with exactly the result <see cref="JsonChunkParser.OnChunk"/>
        /// would have; false (the default) when it cannot, having changed nothing.
        /// </summary>
        protected virtual bool TryReadFast(ReadOnlySpan<byte> json) => false;

        // OpenRouter's mid-stream error is a chat.completion.chunk with an error member and a choice finishing with
        // "error": the finish reason (and any usage) is as much the provider's report as the error is. The fast reader
        // declines such chunks, so this document path is the only one that reads them.
        protected sealed override bool ReadsChunkBesideError => true;
    }
}
