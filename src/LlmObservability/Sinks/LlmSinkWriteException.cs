namespace LlmObservability.Sinks;

/// <summary>
/// Thrown by a sink to tell the dispatcher how a batch went when it did not simply succeed: how far it got, whether the
/// rest is worth retrying, and how long to wait first. Any other exception means "nothing was written, retry the whole
/// batch". The dispatcher is the only place that retries, so a sink reports and never loops on its own.
/// </summary>
/// <remarks>
/// <para>
/// A sink that sends a batch in several requests sends them in order and reports the records it has finished with as a
/// prefix: <see cref="CompletedCount"/> records from the start of the batch were written (or refused for good,
/// <see cref="RejectedCount"/> of them). The dispatcher counts them and passes only the rest on the next attempt, so no
/// record is written twice.
/// </para>
/// <para>
/// <see cref="IsPermanent"/> means retrying cannot help (bad credentials, a request the destination refuses): the records
/// after <see cref="CompletedCount"/> are counted as rejected at once. Otherwise the rest is retried, no sooner than
/// <see cref="RetryAfter"/> when the destination asked for a pause.
/// </para>
/// </remarks>
public sealed class LlmSinkWriteException : Exception
{
    /// <summary>Creates an exception that asks for the whole batch to be retried.</summary>
    public LlmSinkWriteException()
    {
    }

    /// <summary>Creates an exception with a message that says what the destination answered.</summary>
    public LlmSinkWriteException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception with a message and the failure underneath.</summary>
    public LlmSinkWriteException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Records at the start of the batch that the sink has finished with, written or rejected. Default: 0.</summary>
    public int CompletedCount { get; init; }

    /// <summary>Of the <see cref="CompletedCount"/> records, how many the destination refused for good. Default: 0.</summary>
    public int RejectedCount { get; init; }

    /// <summary>True when the records after <see cref="CompletedCount"/> must not be retried either: they are rejected.</summary>
    public bool IsPermanent { get; init; }

    /// <summary>How long the destination asked the sender to wait (e.g. HTTP <c>Retry-After</c>); null when it did not say.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
