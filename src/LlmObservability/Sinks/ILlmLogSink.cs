using LlmObservability.Payload;

namespace LlmObservability.Sinks;

/// <summary>
/// A destination for recorded calls. The dispatcher calls <see cref="WriteBatchAsync"/> from one background loop per
/// sink (never concurrently for the same sink), with batches sized and timed by <see cref="Dispatch.LlmSinkOptions"/>.
/// Throwing marks the batch as failed: the dispatcher retries it with backoff and, when retries are spent, counts its
/// records as failed. Payloads are shared with other sinks and must not be changed.
/// </summary>
public interface ILlmLogSink
{
    /// <summary>Writes one batch of payloads. Honour <paramref name="cancellationToken"/>: it fires on the write timeout.</summary>
    ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken);
}

/// <summary>Which calls a sink receives.</summary>
[Flags]
public enum LlmLogEvents
{
    /// <summary>None; the sink receives nothing.</summary>
    None = 0,

    /// <summary>Successful calls.</summary>
    Success = 1,

    /// <summary>Failed calls.</summary>
    Failure = 2,

    /// <summary>Every call (the default).</summary>
    All = Success | Failure,
}
