using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Sinks.Tests.Support;

internal static class Payloads
{
    private static int _counter;

    public static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 15, 30, 123, TimeSpan.Zero);

    /// <summary>A successful streamed chat call with every group of fields filled.</summary>
    public static StandardLoggingPayload Chat(string? id = null, string? responseText = null) => new()
    {
        Id = id ?? $"0196f3c2-0000-7000-8000-{Interlocked.Increment(ref _counter):D12}",
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = "00f067aa0ba902b7",
        CallType = "chat_completion",
        Provider = "openai",
        ApiBase = "https://api.openai.com/v1",
        Endpoint = "/chat/completions",
        Stream = true,
        RequestedModel = "gpt-4o-mini",
        ResponseModel = "gpt-4o-mini-2024-07-18",
        ModelParameters = new Dictionary<string, JsonElement>
        {
            ["temperature"] = JsonDocument.Parse("0.2").RootElement,
            ["max_tokens"] = JsonDocument.Parse("256").RootElement,
        },
        StartTime = Start,
        CompletionStartTime = Start.AddMilliseconds(350),
        EndTime = Start.AddMilliseconds(1200),
        TtftMs = 350,
        LatencyMs = 1200,
        PromptTokens = 42,
        CompletionTokens = 17,
        TotalTokens = 59,
        CachedPromptTokens = 10,
        ReasoningTokens = 0,
        Cost = new LlmCost { Total = 0.0000165m, Input = 0.0000048m, CacheRead = 0.00000075m, Output = 0.0000102m, PriceKey = "gpt-4o-mini", PriceSource = "built-in" },
        Status = LlmCallStatus.Success,
        HttpStatus = 200,
        FinishReasons = ["stop"],
        Messages =
        [
            new LlmMessage { Role = "system", Content = "You are terse." },
            new LlmMessage { Role = "user", Content = "Say hello." },
        ],
        Response = new LlmResponseOutput { Text = responseText ?? "Hello!" },
        Metadata = new LlmCallMetadata
        {
            UserId = "u-42",
            SessionId = "s-7",
            Tags = ["checkout"],
            Custom = new Dictionary<string, string> { ["tenant"] = "acme" },
        },
        ServiceName = "checkout-api",
        Environment = "test",
        RequestId = "req_123",
        RateLimit = new Dictionary<string, string> { ["x-ratelimit-remaining-tokens"] = "149984", ["x-ratelimit-reset-tokens"] = "6ms" },
        ApiKey = new LlmApiKeyInfo { Prefix = "sk-proj-", Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" },
        Redaction = new LlmRedactionSummary { MessageLogging = true },
    };

    /// <summary>A failed call: the provider answered 429.</summary>
    public static StandardLoggingPayload RateLimited() => Chat() with
    {
        Stream = false,
        CompletionStartTime = null,
        TtftMs = null,
        Status = LlmCallStatus.Failure,
        HttpStatus = 429,
        Response = null,
        FinishReasons = null,
        Cost = null,
        PromptTokens = null,
        CompletionTokens = null,
        TotalTokens = null,
        Error = new LlmError { Type = "rate_limit_exceeded", Message = "Rate limit reached for gpt-4o-mini.", Code = "rate_limit_exceeded" },
    };

    public static List<StandardLoggingPayload> Many(int count) => [.. Enumerable.Range(0, count).Select(_ => Chat())];
}
