// Compiled into each sink package that delivers over the network (LlmObservability.Http, .Langfuse, .S3), so that all
// three retry, break and time out alike without the core package carrying Polly.
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace LlmObservability.Sinks;

/// <summary>The numbers a sink's resilience pipeline is built from (each sink's options carry them under the same names).</summary>
/// <param name="SinkName">The sink's name in log messages.</param>
/// <param name="MaxRetries">Retries of one request after its first attempt; 0 for none.</param>
/// <param name="RetryBaseDelay">The first retry delay; it doubles per retry, with jitter.</param>
/// <param name="CircuitBreakDuration">How long the circuit stays open once it breaks.</param>
/// <param name="AttemptTimeout">How long one attempt may take; <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
internal readonly record struct SinkResilienceSettings(string SinkName, int MaxRetries, TimeSpan RetryBaseDelay, TimeSpan CircuitBreakDuration, TimeSpan AttemptTimeout);

/// <summary>
/// The per-request resilience pipeline of the network sinks: retries with exponential backoff and jitter (honouring a
/// pause the destination asks for), a circuit breaker over them, and a timeout per attempt, in the order of
/// Microsoft.Extensions.Http.Resilience's standard handler.
/// </summary>
/// <remarks>
/// This is the inner of two layers. It rides out a blip within one write, in seconds. When its retries are spent or
/// its circuit is open, the write fails and the dispatcher (<c>LlmSinkOptions</c>) keeps the records and tries the
/// batch again later, minutes if need be, counting exactly what was delivered, rejected or dropped. A pause the
/// destination asks for that is longer than <see cref="MaxPipelineDelay"/> is left to the dispatcher, which is not
/// bound by the write timeout.
/// </remarks>
internal static partial class SinkResilience
{
    /// <summary>The longest pause between two attempts inside one write, from backoff or from the destination.</summary>
    public static readonly TimeSpan MaxPipelineDelay = TimeSpan.FromSeconds(30);

    /// <summary>Share of failed attempts within <see cref="SamplingDuration"/> that breaks the circuit.</summary>
    public const double FailureRatio = 0.5;

    /// <summary>Attempts within <see cref="SamplingDuration"/> before the failure ratio counts.</summary>
    public const int MinimumThroughput = 10;

    /// <summary>The window the circuit breaker samples.</summary>
    public static readonly TimeSpan SamplingDuration = TimeSpan.FromMinutes(1);

    /// <summary>Adds retry, circuit breaker and attempt timeout to <paramref name="pipeline"/>.</summary>
    /// <param name="pipeline">The pipeline to add to.</param>
    /// <param name="settings">The sink's numbers.</param>
    /// <param name="isTransient">Whether an outcome is worth another attempt; it must count <see cref="TimeoutRejectedException"/> (an attempt that timed out).</param>
    /// <param name="retryAfter">The pause the destination asked for in an outcome, if any.</param>
    /// <param name="describe">A short description of a failed outcome for the log ("HTTP 503", "HttpRequestException").</param>
    /// <param name="logger">Where retries and circuit changes are logged; null for nowhere.</param>
    public static ResiliencePipelineBuilder<T> AddSinkStrategies<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] T>(
        this ResiliencePipelineBuilder<T> pipeline,
        SinkResilienceSettings settings,
        Func<Outcome<T>, bool> isTransient,
        Func<Outcome<T>, TimeSpan?> retryAfter,
        Func<Outcome<T>, string> describe,
        ILogger? logger)
    {
        if (settings.MaxRetries > 0)
        {
            pipeline.AddRetry(new RetryStrategyOptions<T>
            {
                MaxRetryAttempts = settings.MaxRetries,
                Delay = settings.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxDelay = MaxPipelineDelay,
                // A longer pause than the pipeline waits goes back to the dispatcher with the failure.
                ShouldHandle = args => ValueTask.FromResult(isTransient(args.Outcome) && !(retryAfter(args.Outcome) > MaxPipelineDelay)),
                DelayGenerator = args => ValueTask.FromResult(retryAfter(args.Outcome)),
                OnRetry = args =>
                {
                    if (logger is not null && logger.IsEnabled(LogLevel.Information))
                    {
                        var outcome = describe(args.Outcome);
                        LogRetry(logger, settings.SinkName, args.AttemptNumber + 1, outcome, args.RetryDelay);
                    }
                    return default;
                },
            });
        }
        pipeline.AddCircuitBreaker(new CircuitBreakerStrategyOptions<T>
        {
            ShouldHandle = args => ValueTask.FromResult(isTransient(args.Outcome)),
            FailureRatio = FailureRatio,
            MinimumThroughput = MinimumThroughput,
            SamplingDuration = SamplingDuration,
            BreakDuration = settings.CircuitBreakDuration,
            OnOpened = args =>
            {
                if (logger is not null && logger.IsEnabled(LogLevel.Warning))
                {
                    var outcome = describe(args.Outcome);
                    LogCircuitOpened(logger, settings.SinkName, outcome, args.BreakDuration);
                }
                return default;
            },
            OnClosed = _ =>
            {
                if (logger is not null) LogCircuitClosed(logger, settings.SinkName);
                return default;
            },
        });
        if (settings.AttemptTimeout != Timeout.InfiniteTimeSpan) pipeline.AddTimeout(settings.AttemptTimeout);
        return pipeline;
    }

    /// <summary>The pause before the next write that a failure out of the pipeline implies: what is left of an open circuit.</summary>
    public static TimeSpan? RetryAfterOf(Exception exception) => (exception as BrokenCircuitException)?.RetryAfter;

    /// <summary>Describes an exception outcome by its type, e.g. "HttpRequestException".</summary>
    public static string DescribeException(Exception? exception) => exception?.GetType().Name ?? "failure";

    /// <summary>Checks the numbers the way every sink's options validation reports them.</summary>
    public static void Validate(List<string> errors, int maxRetries, TimeSpan retryBaseDelay, TimeSpan circuitBreakDuration, TimeSpan timeout)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromDays(1))) errors.Add($"Timeout must be between 10 milliseconds and 1 day, or infinite (was {timeout}).");
        if (maxRetries is < 0 or > 100) errors.Add($"MaxRetries must be between 0 and 100 (was {maxRetries}).");
        if (retryBaseDelay < TimeSpan.Zero || retryBaseDelay > MaxPipelineDelay) errors.Add($"RetryBaseDelay must be between 0 and {MaxPipelineDelay.TotalSeconds:0} seconds (was {retryBaseDelay}).");
        if (circuitBreakDuration < TimeSpan.FromMilliseconds(500) || circuitBreakDuration > TimeSpan.FromDays(1)) errors.Add($"CircuitBreakDuration must be between 0.5 seconds and 1 day (was {circuitBreakDuration}).");
    }

    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "LlmObservability sink '{Sink}': attempt {Attempt} failed ({Outcome}); retrying in {Delay}.")]
    private static partial void LogRetry(ILogger logger, string sink, int attempt, string outcome, TimeSpan delay);

    [LoggerMessage(EventId = 501, Level = LogLevel.Warning, Message = "LlmObservability sink '{Sink}': most recent requests failed (last: {Outcome}); its circuit is open for {Duration}. Requests fail at once meanwhile and the dispatcher keeps their records for later.")]
    private static partial void LogCircuitOpened(ILogger logger, string sink, string outcome, TimeSpan duration);

    [LoggerMessage(EventId = 502, Level = LogLevel.Information, Message = "LlmObservability sink '{Sink}': the destination answers again; its circuit is closed.")]
    private static partial void LogCircuitClosed(ILogger logger, string sink);
}
