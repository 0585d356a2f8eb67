using LlmObservability.Payload;

namespace LlmObservability.Tests;

internal static class PayloadFactory
{
    private static int _counter;

    public static StandardLoggingPayload Create(LlmCallStatus status = LlmCallStatus.Success, string? id = null) => new()
    {
        Id = id ?? $"call-{Interlocked.Increment(ref _counter)}",
        Provider = "openai",
        CallType = "chat_completion",
        RequestedModel = "gpt-4o-mini",
        Status = status,
        StartTime = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero),
        EndTime = new DateTimeOffset(2026, 11, 22, 10, 0, 1, TimeSpan.Zero),
        LatencyMs = 1000,
    };
}
