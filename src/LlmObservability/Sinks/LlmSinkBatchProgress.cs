namespace LlmObservability.Sinks;

/// <summary>
/// How far a sink got through one batch that it writes in parts (several requests or objects), and the
/// <see cref="LlmSinkWriteException"/>s that tell the dispatcher so: records finished with are never passed again,
/// refused ones are counted, and the rest is retried. For sinks that split batches; others can simply throw.
/// </summary>
public sealed class LlmSinkBatchProgress
{
    /// <summary>Records at the start of the batch that were written or refused for good.</summary>
    public int Completed { get; private set; }

    /// <summary>Of <see cref="Completed"/>, how many the destination refused for good.</summary>
    public int Rejected { get; private set; }

    /// <summary>Why the first refusal happened.</summary>
    public string? Reason { get; private set; }

    /// <summary>The next <paramref name="count"/> records were written.</summary>
    public void Written(int count) => Completed += count;

    /// <summary>The next <paramref name="count"/> records were refused for good (they are not retried).</summary>
    public void Refused(int count, string reason)
    {
        Completed += count;
        Rejected += count;
        Reason ??= reason;
    }

    /// <summary>A failure worth retrying (after <paramref name="retryAfter"/> when the destination said so).</summary>
    public LlmSinkWriteException Transient(string message, Exception? innerException = null, TimeSpan? retryAfter = null) =>
        new(message, innerException) { CompletedCount = Completed, RejectedCount = Rejected, RetryAfter = retryAfter };

    /// <summary>The destination refuses the rest of the batch for good.</summary>
    public LlmSinkWriteException Permanent(string message) =>
        new(message) { CompletedCount = Completed, RejectedCount = Rejected, IsPermanent = true };

    /// <summary>
    /// Writes <paramref name="total"/> records in parts: <paramref name="fitCount"/> says how many from a start index
    /// fit one part, <paramref name="writePart"/> writes them and records the outcome here. Any other failure becomes a
    /// transient <see cref="LlmSinkWriteException"/> carrying the progress; refusals end as a permanent report for the
    /// refused records only. <paramref name="destination"/> names the target in messages.
    /// </summary>
    public static async ValueTask WriteInPartsAsync(int total, Func<int, int> fitCount, Func<int, int, LlmSinkBatchProgress, CancellationToken, Task> writePart,
        string destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fitCount);
        ArgumentNullException.ThrowIfNull(writePart);
        var progress = new LlmSinkBatchProgress();
        try
        {
            var start = 0;
            while (start < total)
            {
                var count = fitCount(start);
                await writePart(start, count, progress, cancellationToken).ConfigureAwait(false);
                start += count;
            }
        }
        catch (LlmSinkWriteException)
        {
            throw;
        }
        catch (OperationCanceledException) when (progress.Completed == 0)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Cancelled (or failed) part-way: report what went through so it is not written twice.
            throw progress.Transient($"{destination}: stopped after {progress.Completed} of {total} records: {ex.Message}", ex);
        }

        if (progress.Rejected > 0)
        {
            throw new LlmSinkWriteException(progress.Reason ?? $"{destination} refused {progress.Rejected} records.")
            {
                CompletedCount = total,
                RejectedCount = progress.Rejected,
            };
        }
    }
}
