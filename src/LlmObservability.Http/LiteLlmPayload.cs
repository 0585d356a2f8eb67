using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using LlmObservability.Payload;

namespace LlmObservability.Sinks.Http;

/// <summary>
/// Our payload in the shape of LiteLLM's <c>StandardLoggingPayload</c> (<c>litellm/types/utils.py</c>), the JSON its
/// generic API logger posts, so that receivers written for LiteLLM accept it. Every key of LiteLLM's TypedDicts is
/// written, null where we have nothing, because receivers index them directly. Times are epoch seconds; a cost we do not
/// know is 0 with <c>response_cost_failure_debug_info</c> saying why, as LiteLLM does.
/// </summary>
internal static class LiteLlmPayload
{
    // Text escaped as the payload's own JSON escapes it (LlmPayloadJson): readable UTF-8, only what JSON requires escaped.
    private static readonly LiteLlmJsonContext Context = new(new JsonSerializerOptions(LiteLlmJsonContext.Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public static byte[] SerializeToUtf8Bytes(StandardLoggingPayload payload) =>
        JsonSerializer.SerializeToUtf8Bytes(Map(payload), Context.LiteLlmStandardLoggingPayload);

    public static LiteLlmStandardLoggingPayload Map(StandardLoggingPayload p)
    {
        var status = p.Status == LlmCallStatus.Success ? "success" : "failure";
        var provider = ProviderName(p.Provider);
        var callType = CallType(p.CallType, p.Stream);
        var model = p.RequestedModel ?? p.ResponseModel ?? "";
        var start = EpochSeconds(p.StartTime);
        var end = EpochSeconds(p.EndTime);
        var firstToken = p.CompletionStartTime is { } cst ? EpochSeconds(cst) : end;
        return new LiteLlmStandardLoggingPayload
        {
            Id = p.Id,
            TraceId = p.TraceId ?? p.Id,
            LitellmCallId = p.Id,
            CallType = callType,
            Stream = p.Stream,
            ResponseCost = p.Cost is { } cost ? (double)cost.Total : 0.0,
            CostBreakdown = p.Cost is { } c ? new LiteLlmCostBreakdown
            {
                InputCost = (double)c.Input,
                CacheReadCost = (double)c.CacheRead,
                CacheCreationCost = (double)c.CacheCreation,
                OutputCost = (double)(c.Output + c.Reasoning),
                ReasoningCost = (double)c.Reasoning,
                TotalCost = (double)c.Total,
            } : null,
            ResponseCostFailureDebugInfo = p.Cost is null ? new LiteLlmCostFailureDebugInformation
            {
                ErrorStr = $"No price known for model '{p.ResponseModel ?? model}'.",
                TracebackStr = "",
                Model = model,
                CustomLlmProvider = provider,
                CallType = callType,
            } : null,
            Status = status,
            StatusFields = new LiteLlmStatusFields { LlmApiStatus = status },
            CustomLlmProvider = provider,
            TotalTokens = p.TotalTokens ?? ((p.PromptTokens ?? 0) + (p.CompletionTokens ?? 0)),
            PromptTokens = p.PromptTokens ?? 0,
            CompletionTokens = p.CompletionTokens ?? 0,
            StartTime = start,
            EndTime = end,
            CompletionStartTime = firstToken,
            // LiteLLM: "Total response time. If streaming, this is the time to first token."
            ResponseTime = p.Stream && p.CompletionStartTime is not null ? firstToken - start : end - start,
            ModelMapInformation = new LiteLlmModelInformation { ModelMapKey = p.Cost?.PriceKey ?? p.ResponseModel ?? model },
            Model = model,
            ModelGroup = p.RequestedModel,
            ApiBase = p.ApiBase ?? "",
            Metadata = Metadata(p),
            CacheHit = false,
            RequestTags = p.Metadata?.Tags ?? [],
            EndUser = p.Metadata?.UserId,
            Messages = p.Messages?.Select(Message).ToArray(),
            Response = Response(p),
            ErrorStr = p.Status == LlmCallStatus.Failure ? p.Error?.Message ?? p.Error?.Type ?? "failure" : null,
            ErrorInformation = p.Status == LlmCallStatus.Failure ? new LiteLlmErrorInformation
            {
                ErrorCode = p.HttpStatus?.ToString(CultureInfo.InvariantCulture) ?? p.Error?.Code,
                ErrorClass = p.Error?.Type,
                LlmProvider = provider,
                Traceback = "",
                ErrorMessage = p.Error?.Message,
            } : null,
            ModelParameters = p.ModelParameters ?? new Dictionary<string, JsonElement>(),
            HiddenParams = new LiteLlmHiddenParams
            {
                ApiBase = p.ApiBase,
                ResponseCost = p.Cost is { } hc ? (double)hc.Total : null,
                AdditionalHeaders = RateLimitHeaders(p.RateLimit),
                LitellmModelName = p.ResponseModel ?? p.RequestedModel,
                UsageObject = Usage(p),
            },
        };
    }

    /// <summary>LiteLLM's provider names where ours differ.</summary>
    private static string? ProviderName(string? provider) => provider switch
    {
        "azure_openai" => "azure",
        "openai_compatible" => "openai",
        "google" or "google_ai_studio" => "gemini",
        _ => provider,
    };

    /// <summary>LiteLLM's <c>CallTypes</c> for ours (the async names: calls through HttpClient are async).</summary>
    private static string CallType(string? callType, bool stream) => callType switch
    {
        "chat_completion" => "acompletion",
        "text_completion" => "atext_completion",
        "embedding" => "aembedding",
        "responses" => "aresponses",
        "messages" => "aanthropic_messages",
        "generate_content" => stream ? "agenerate_content_stream" : "agenerate_content",
        null => "acompletion",
        _ => callType,
    };

    private static double EpochSeconds(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / (double)TimeSpan.TicksPerSecond;

    private static LiteLlmMetadata Metadata(StandardLoggingPayload p)
    {
        var requester = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (p.Metadata?.Custom is { } custom)
        {
            foreach (var (key, value) in custom) requester[key] = value;
        }
        if (p.Metadata?.SessionId is { } session) requester["session_id"] = session;
        if (p.ServiceName is { } service) requester["service_name"] = service;
        if (p.Environment is { } environment) requester["environment"] = environment;
        if (p.RequestId is { } requestId) requester["provider_request_id"] = requestId;
        if (p.SpanId is { } span) requester["span_id"] = span;
        if (p.ParentSpanId is { } parent) requester["parent_span_id"] = parent;
        if (p.ApiKey?.Prefix is { } prefix) requester["api_key_prefix"] = prefix;
        return new LiteLlmMetadata
        {
            UserApiKeyHash = p.ApiKey?.Sha256,
            UserApiKeyEndUserId = p.Metadata?.UserId,
            UserApiKeyRequestRoute = p.Endpoint,
            RequesterMetadata = requester,
            UsageObject = Usage(p),
        };
    }

    private static LiteLlmMessage Message(LlmMessage m) => new()
    {
        Role = m.Role,
        Content = m.Content,
        Name = m.Name,
        ToolCallId = m.ToolCallId,
        ToolCalls = m.ToolCalls?.Select(ToolCall).ToArray(),
    };

    private static LiteLlmToolCall ToolCall(LlmToolCall call) => new()
    {
        Id = call.Id,
        Type = call.Type ?? "function",
        Function = new LiteLlmFunctionCall { Name = call.Name, Arguments = call.Arguments },
    };

    /// <summary>An OpenAI chat-completion object, as LiteLLM logs a response; null when there is no output to show.</summary>
    private static LiteLlmResponse? Response(StandardLoggingPayload p)
    {
        if (p.Response is null && p.ToolCalls is null) return null;
        return new LiteLlmResponse
        {
            Id = p.ResponseId ?? p.RequestId, // the provider's chatcmpl-… as LiteLLM logs it; its request ID when the body had none
            Created = p.EndTime.ToUnixTimeSeconds(),
            Model = p.ResponseModel ?? p.RequestedModel,
            Choices =
            [
                new LiteLlmChoice
                {
                    FinishReason = p.FinishReasons is [var first, ..] ? first : null,
                    Message = new LiteLlmResponseMessage
                    {
                        Content = p.Response?.Text,
                        ReasoningContent = p.Response?.Reasoning,
                        Refusal = p.Response?.Refusal,
                        ToolCalls = p.ToolCalls?.Select(ToolCall).ToArray(),
                    },
                },
            ],
            Usage = Usage(p),
        };
    }

    private static LiteLlmUsage Usage(StandardLoggingPayload p) => new()
    {
        PromptTokens = p.PromptTokens ?? 0,
        CompletionTokens = p.CompletionTokens ?? 0,
        TotalTokens = p.TotalTokens ?? ((p.PromptTokens ?? 0) + (p.CompletionTokens ?? 0)),
        PromptTokensDetails = new LiteLlmPromptTokensDetails { CachedTokens = p.CachedPromptTokens },
        CompletionTokensDetails = new LiteLlmCompletionTokensDetails { ReasoningTokens = p.ReasoningTokens },
        CacheCreationInputTokens = p.CacheCreationTokens,
    };

    /// <summary>Rate-limit headers under LiteLLM's names (<c>x_ratelimit_remaining_tokens</c>), numbers as numbers.</summary>
    private static Dictionary<string, JsonElement>? RateLimitHeaders(IReadOnlyDictionary<string, string>? headers)
    {
        if (headers is null || headers.Count == 0) return null;
        var result = new Dictionary<string, JsonElement>(headers.Count, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            result[name.Replace('-', '_')] = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
                ? JsonSerializer.SerializeToElement(number, LiteLlmJsonContext.Default.Int64)
                : JsonSerializer.SerializeToElement(value, LiteLlmJsonContext.Default.String);
        }
        return result;
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(LiteLlmStandardLoggingPayload))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(string))]
internal sealed partial class LiteLlmJsonContext : JsonSerializerContext;

internal sealed class LiteLlmStandardLoggingPayload
{
    public required string Id { get; init; }
    public required string TraceId { get; init; }
    public string? LitellmCallId { get; init; }
    public required string CallType { get; init; }
    public bool? Stream { get; init; }
    public double ResponseCost { get; init; }
    public LiteLlmCostBreakdown? CostBreakdown { get; init; }
    public LiteLlmCostFailureDebugInformation? ResponseCostFailureDebugInfo { get; init; }
    public required string Status { get; init; }
    public required LiteLlmStatusFields StatusFields { get; init; }
    public string? CustomLlmProvider { get; init; }
    public long TotalTokens { get; init; }
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }
    [JsonPropertyName("startTime")] public double StartTime { get; init; }
    [JsonPropertyName("endTime")] public double EndTime { get; init; }
    [JsonPropertyName("completionStartTime")] public double CompletionStartTime { get; init; }
    public double ResponseTime { get; init; }
    public required LiteLlmModelInformation ModelMapInformation { get; init; }
    public required string Model { get; init; }
    public string? ModelId { get; init; }
    public string? ModelGroup { get; init; }
    public required string ApiBase { get; init; }
    public required LiteLlmMetadata Metadata { get; init; }
    public bool? CacheHit { get; init; }
    public string? CacheKey { get; init; }
    public double SavedCacheCost { get; init; }
    public required IReadOnlyList<string> RequestTags { get; init; }
    public string? EndUser { get; init; }
    public string? RequesterIpAddress { get; init; }
    public string? UserAgent { get; init; }
    public IReadOnlyList<LiteLlmMessage>? Messages { get; init; }
    public LiteLlmResponse? Response { get; init; }
    public string? ErrorStr { get; init; }
    public LiteLlmErrorInformation? ErrorInformation { get; init; }
    public required IReadOnlyDictionary<string, JsonElement> ModelParameters { get; init; }
    public required LiteLlmHiddenParams HiddenParams { get; init; }
    public IReadOnlyList<JsonElement>? GuardrailInformation { get; init; }
    public JsonElement? StandardBuiltInToolsParams { get; init; }
}

internal sealed class LiteLlmCostBreakdown
{
    public double InputCost { get; init; }
    public double CacheReadCost { get; init; }
    public double CacheCreationCost { get; init; }
    public double OutputCost { get; init; }
    public double ReasoningCost { get; init; }
    public double TotalCost { get; init; }
}

internal sealed class LiteLlmCostFailureDebugInformation
{
    public required string ErrorStr { get; init; }
    public required string TracebackStr { get; init; }
    public string? Model { get; init; }
    public bool? CacheHit { get; init; }
    public string? CustomLlmProvider { get; init; }
    public string? BaseModel { get; init; }
    public string? CallType { get; init; }
    public bool? CustomPricing { get; init; }
}

internal sealed class LiteLlmStatusFields
{
    public required string LlmApiStatus { get; init; }
    public string GuardrailStatus { get; init; } = "not_run";
}

internal sealed class LiteLlmModelInformation
{
    public required string ModelMapKey { get; init; }
    public JsonElement? ModelMapValue { get; init; }
}

/// <summary>LiteLLM's <c>StandardLoggingMetadata</c> (which extends <c>StandardLoggingUserAPIKeyMetadata</c>).</summary>
internal sealed class LiteLlmMetadata
{
    public string? UserApiKeyHash { get; init; }
    public string? UserApiKeyAlias { get; init; }
    public double? UserApiKeySpend { get; init; }
    public double? UserApiKeyMaxBudget { get; init; }
    public string? UserApiKeyBudgetResetAt { get; init; }
    public double? UserApiKeyUserSpend { get; init; }
    public double? UserApiKeyUserMaxBudget { get; init; }
    public double? UserApiKeyTeamSpend { get; init; }
    public double? UserApiKeyTeamMaxBudget { get; init; }
    public string? UserApiKeyOrgId { get; init; }
    public string? UserApiKeyOrgAlias { get; init; }
    public string? UserApiKeyTeamId { get; init; }
    public string? UserApiKeyProjectId { get; init; }
    public string? UserApiKeyProjectAlias { get; init; }
    public string? UserApiKeyUserId { get; init; }
    public string? UserApiKeyUserEmail { get; init; }
    public string? UserApiKeyTeamAlias { get; init; }
    public string? UserApiKeyEndUserId { get; init; }
    public string? UserApiKeyRequestRoute { get; init; }
    public IReadOnlyDictionary<string, string>? UserApiKeyAuthMetadata { get; init; }
    public IReadOnlyDictionary<string, string>? SpendLogsMetadata { get; init; }
    public string? RequesterIpAddress { get; init; }
    public string? UserAgent { get; init; }
    public required IReadOnlyDictionary<string, string?> RequesterMetadata { get; init; }
    public IReadOnlyDictionary<string, string>? RequesterCustomHeaders { get; init; }
    public JsonElement? PromptManagementMetadata { get; init; }
    public JsonElement? McpToolCallMetadata { get; init; }
    public IReadOnlyList<JsonElement>? VectorStoreRequestMetadata { get; init; }
    public IReadOnlyList<string>? AppliedGuardrails { get; init; }
    public LiteLlmUsage? UsageObject { get; init; }
    public string? ColdStorageObjectKey { get; init; }
    public string? TeamAlias { get; init; }
    public string? TeamId { get; init; }
}

internal sealed class LiteLlmMessage
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Name { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ToolCallId { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<LiteLlmToolCall>? ToolCalls { get; init; }
}

internal sealed class LiteLlmToolCall
{
    public string? Id { get; init; }
    public required string Type { get; init; }
    public required LiteLlmFunctionCall Function { get; init; }
}

internal sealed class LiteLlmFunctionCall
{
    public string? Name { get; init; }
    public string? Arguments { get; init; }
}

internal sealed class LiteLlmResponse
{
    public string? Id { get; init; }
    public string Object { get; init; } = "chat.completion";
    public long Created { get; init; }
    public string? Model { get; init; }
    public required IReadOnlyList<LiteLlmChoice> Choices { get; init; }
    public required LiteLlmUsage Usage { get; init; }
}

internal sealed class LiteLlmChoice
{
    public int Index { get; init; }
    public string? FinishReason { get; init; }
    public required LiteLlmResponseMessage Message { get; init; }
}

internal sealed class LiteLlmResponseMessage
{
    public string Role { get; init; } = "assistant";
    public string? Content { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ReasoningContent { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Refusal { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<LiteLlmToolCall>? ToolCalls { get; init; }
}

internal sealed class LiteLlmUsage
{
    public long PromptTokens { get; init; }
    public long CompletionTokens { get; init; }
    public long TotalTokens { get; init; }
    public LiteLlmPromptTokensDetails? PromptTokensDetails { get; init; }
    public LiteLlmCompletionTokensDetails? CompletionTokensDetails { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public long? CacheCreationInputTokens { get; init; }
}

internal sealed class LiteLlmPromptTokensDetails
{
    public long? CachedTokens { get; init; }
}

internal sealed class LiteLlmCompletionTokensDetails
{
    public long? ReasoningTokens { get; init; }
}

internal sealed class LiteLlmErrorInformation
{
    public string? ErrorCode { get; init; }
    public string? ErrorClass { get; init; }
    public string? LlmProvider { get; init; }
    public string? Traceback { get; init; }
    public string? ErrorMessage { get; init; }
}

internal sealed class LiteLlmHiddenParams
{
    public string? ModelId { get; init; }
    public string? CacheKey { get; init; }
    public string? ApiBase { get; init; }
    public double? ResponseCost { get; init; }
    public double? LitellmOverheadTimeMs { get; init; }
    public IReadOnlyDictionary<string, JsonElement>? AdditionalHeaders { get; init; }
    public IReadOnlyList<string>? BatchModels { get; init; }
    public string? LitellmModelName { get; init; }
    public LiteLlmUsage? UsageObject { get; init; }
}
