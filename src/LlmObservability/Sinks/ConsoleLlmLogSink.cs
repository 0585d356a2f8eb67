using System.Globalization;
using LlmObservability.Payload;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Sinks;

/// <summary>
/// Writes one line per call through <see cref="ILogger"/> (category <c>LlmObservability.Console</c>): call ID, provider,
/// model, tokens, TTFT, latency, cost and status at Information (Warning for failures), and the whole payload as JSON at
/// Debug. Where the line goes is up to the app's logging set-up (e.g. <c>AddConsole()</c>).
/// </summary>
public sealed partial class ConsoleLlmLogSink : ILlmLogSink
{
    /// <summary>The logger category the sink writes to.</summary>
    public const string Category = "LlmObservability.Console";

    private readonly ILogger _logger;

    /// <summary>Creates the sink over a logger factory.</summary>
    public ConsoleLlmLogSink(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _logger = loggerFactory.CreateLogger(Category);
    }

    /// <inheritdoc/>
    public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var payload in batch)
        {
            var model = payload.ResponseModel ?? payload.RequestedModel ?? "?";
            var tokens = payload.PromptTokens is null && payload.CompletionTokens is null
                ? "?"
                : string.Create(CultureInfo.InvariantCulture, $"{payload.PromptTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"}→{payload.CompletionTokens?.ToString(CultureInfo.InvariantCulture) ?? "?"}{(payload.UsageEstimated ? "~" : "")}");
            var ttft = payload.TtftMs is double t ? t.ToString("0.#", CultureInfo.InvariantCulture) + "ms" : "-";
            var latency = payload.LatencyMs.ToString("0.#", CultureInfo.InvariantCulture) + "ms";
            var cost = payload.Cost is { } c ? "$" + c.Total.ToString("0.######", CultureInfo.InvariantCulture) : "-";
            if (payload.Status == LlmCallStatus.Success)
            {
                LogSuccess(_logger, payload.Id, payload.Provider, model, tokens, ttft, latency, cost);
            }
            else
            {
                var error = payload.Error is { } e ? $"{e.Type}: {e.Message}" : "unknown";
                LogFailure(_logger, payload.Id, payload.Provider, model, payload.HttpStatus?.ToString(CultureInfo.InvariantCulture) ?? "-", tokens, ttft, latency, cost, error);
            }
            if (_logger.IsEnabled(LogLevel.Debug))
            {
#pragma warning disable CA1873 // guarded by IsEnabled just above
                LogJson(_logger, payload.Id, LlmPayloadJson.Serialize(payload));
#pragma warning restore CA1873
            }
        }
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "llm {CallId} {Provider} {Model} tokens={Tokens} ttft={Ttft} latency={Latency} cost={Cost} status=success")]
    private static partial void LogSuccess(ILogger logger, string callId, string? provider, string model, string tokens, string ttft, string latency, string cost);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "llm {CallId} {Provider} {Model} http={HttpStatus} tokens={Tokens} ttft={Ttft} latency={Latency} cost={Cost} status=failure error={Error}")]
    private static partial void LogFailure(ILogger logger, string callId, string? provider, string model, string httpStatus, string tokens, string ttft, string latency, string cost, string error);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "llm {CallId} payload {Payload}")]
    private static partial void LogJson(ILogger logger, string callId, string payload);
}
