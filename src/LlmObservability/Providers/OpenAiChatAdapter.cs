using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;

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

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            record.AddNote("request body is not a JSON object");
            return;
        }
        record.RequestedModel = Json.String(root, "model");
        record.Stream = Json.Bool(root, "stream") ?? false;
        record.ModelParameters = ReadParameters(root, NotParameters);
        if (Json.Array(root, "messages") is { } messages)
        {
            var list = new List<LlmMessage>(messages.GetArrayLength());
            foreach (var message in messages.EnumerateArray()) list.Add(ReadMessage(message, limits));
            record.Messages = list;
        }
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.ResponseId = Json.String(root, "id");
        record.ResponseModel = Json.String(root, "model");
        record.ServiceTier = Json.String(root, "service_tier") ?? record.ServiceTier;
        if (Json.Array(root, "choices") is { } choices)
        {
            foreach (var choice in choices.EnumerateArray())
            {
                record.AddFinishReason(Json.String(choice, "finish_reason"));
                if ((Json.Long(choice, "index") ?? 0) != 0 || Json.Object(choice, "message") is not { } message) continue;
                if (ContentText(Json.Get(message, "content")) is { } content) record.Output(limits.MaxContentChars).Append(content);
                AppendIfPresent(record, message, "refusal", limits, static r => r.RefusalText, static (r, t) => r.RefusalText = t);
                AppendIfPresent(record, message, "reasoning_content", limits, static r => r.ReasoningText, static (r, t) => r.ReasoningText = t);
                if (Json.Array(message, "tool_calls") is { } toolCalls)
                {
                    record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                    foreach (var call in toolCalls.EnumerateArray()) ReadToolCall(call, record.ToolCalls.Add());
                }
            }
        }
        ReadUsage(root, record);
    }

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new ChunkParser(record, limits);

    /// <summary>Reads OpenAI's usage block, including the details objects and DeepSeek's cache-hit field.</summary>
    internal static void ReadUsage(JsonElement root, CallRecord record)
    {
        if (Json.Object(root, "usage") is not { } usage) return;
        record.PromptTokens = Json.Long(usage, "prompt_tokens") ?? record.PromptTokens;
        record.CompletionTokens = Json.Long(usage, "completion_tokens") ?? record.CompletionTokens;
        record.TotalTokens = Json.Long(usage, "total_tokens") ?? record.TotalTokens;
        if (Json.Object(usage, "prompt_tokens_details") is { } promptDetails)
        {
            record.CachedPromptTokens = Json.Long(promptDetails, "cached_tokens") ?? record.CachedPromptTokens;
        }
        record.CachedPromptTokens ??= Json.Long(usage, "prompt_cache_hit_tokens");
        if (Json.Object(usage, "completion_tokens_details") is { } completionDetails)
        {
            record.ReasoningTokens = Json.Long(completionDetails, "reasoning_tokens") ?? record.ReasoningTokens;
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
                    parameters["tools_count"] = JsonSerializer.SerializeToElement(property.Value.GetArrayLength(), ProviderJsonContext.Default.Int32);
                    break;
                case "response_format" when Json.String(property.Value, "type") is { } type:
                    parameters["response_format"] = JsonSerializer.SerializeToElement(type, ProviderJsonContext.Default.String);
                    break;
                default:
                    parameters[property.Name] = property.Value.Clone();
                    break;
            }
        }
        return parameters;
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
        var content = ContentText(Json.Get(message, "content"));
        return new LlmMessage
        {
            Role = Json.String(message, "role"),
            Content = Cap(content, limits.MaxContentChars),
            Name = Json.String(message, "name"),
            ToolCallId = Json.String(message, "tool_call_id"),
            ToolCalls = toolCalls,
        };
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
            if (builder.Length > 0) builder.Append('\n');
            if (part.ValueKind == JsonValueKind.String)
            {
                builder.Append(part.GetString());
                continue;
            }
            var type = Json.String(part, "type");
            var text = Json.String(part, "text") ?? Json.String(part, "refusal");
            if (text is not null) builder.Append(text);
            else builder.Append('[').Append(type ?? "part").Append(']');
        }
        return builder.ToString();
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

    private static string? Cap(string? text, int max) => text is null || text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…[truncated]");

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

    /// <summary>Assembles a chat completion from its chunks as they pass.</summary>
    private sealed class ChunkParser(CallRecord record, CaptureLimits limits) : StreamParser
    {
        public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            LastEventHadContent = false;
            if (data.Span.SequenceEqual("[DONE]"u8))
            {
                SawEnd = true;
                return;
            }
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return;
            if (Json.Get(root, "error") is not null)
            {
                Instance.ParseError(root, record);
                record.ErrorType ??= "stream_error";
                return;
            }
            record.ResponseId ??= Json.String(root, "id");
            record.ResponseModel ??= Json.String(root, "model");
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
                        LastEventHadContent = true;
                    }
                    if (Json.String(delta, "refusal") is { Length: > 0 } refusal)
                    {
                        (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(refusal);
                        LastEventHadContent = true;
                    }
                    if (Json.String(delta, "reasoning_content") is { Length: > 0 } reasoning)
                    {
                        (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(reasoning);
                        LastEventHadContent = true;
                    }
                    if (Json.Array(delta, "tool_calls") is { } toolCalls)
                    {
                        record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                        foreach (var call in toolCalls.EnumerateArray())
                        {
                            ReadToolCall(call, record.ToolCalls[(int)(Json.Long(call, "index") ?? 0)]);
                        }
                        LastEventHadContent = true;
                    }
                }
            }
            ReadUsage(root, record);
        }
    }
}
