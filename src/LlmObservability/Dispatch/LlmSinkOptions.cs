using System.ComponentModel.DataAnnotations;
using LlmObservability.Sinks;

namespace LlmObservability.Dispatch;

/// <summary>How the dispatcher feeds one sink. Every sink has its own bounded queue and background loop.</summary>
public sealed class LlmSinkOptions
{
    /// <summary>A name for logs and statistics. Default: the sink's type name.</summary>
    public string? Name { get; set; }

    /// <summary>Which calls the sink receives. Default: <see cref="LlmLogEvents.All"/>.</summary>
    public LlmLogEvents Events { get; set; } = LlmLogEvents.All;

    /// <summary>
    /// Overrides <see cref="LlmObservabilityOptions.LogMessages"/> for this sink: false keeps message content from it
    /// (a trimmed copy), true gives it content even when the options log none. A scope's override still wins. Null
    /// (the default) follows the options.
    /// </summary>
    public bool? LogMessages { get; set; }

    /// <summary>Records the sink's queue holds before new ones are dropped (and counted). Default: 10,000.</summary>
    [Range(1, int.MaxValue)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>Most records per <see cref="ILlmLogSink.WriteBatchAsync"/> call. Default: 100.</summary>
    [Range(1, 1_000_000)]
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>
    /// Longest a record waits for its batch to fill before the batch is sent anyway. Default: 1 second.
    /// <see cref="TimeSpan.Zero"/> sends whatever is queued at once.
    /// </summary>
    public TimeSpan BatchInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often a failed batch is retried before its records are counted as failed. A sink that reports a permanent
    /// failure (<see cref="LlmSinkWriteException.IsPermanent"/>) is not retried. Default: 3.
    /// </summary>
    [Range(0, 100)]
    public int MaxRetries { get; set; } = 3;

    /// <summary>First retry delay; each retry doubles it, with ±20% jitter. Default: 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Longest delay between retries. It also caps a pause the destination asks for (<see cref="LlmSinkWriteException.RetryAfter"/>,
    /// e.g. HTTP <c>Retry-After</c>): a longer request is waited out in steps of this length. Default: 30 seconds.
    /// </summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Consecutive failed writes (across batches) after which the sink's circuit opens: no write is tried for
    /// <see cref="CircuitBreakerDuration"/>, then one trial write closes it again or re-opens it. Waiting while it is open
    /// costs a batch none of its retries, so an outage is waited out with few requests instead of failing batch after
    /// batch. 0 turns the breaker off. Default: 0 (the HTTP and S3 sinks turn it on with 5).
    /// </summary>
    [Range(0, int.MaxValue)]
    public int CircuitBreakerThreshold { get; set; }

    /// <summary>How long the circuit stays open before a trial write. Default: 30 seconds.</summary>
    public TimeSpan CircuitBreakerDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A write that takes longer is cancelled and treated as failed, so a hung sink cannot stall its loop. Default: 30 seconds.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    internal LlmSinkOptions Clone() => (LlmSinkOptions)MemberwiseClone();

    /// <summary>Describes every invalid setting; empty when the options are valid.</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (QueueCapacity < 1) errors.Add($"QueueCapacity must be at least 1 (was {QueueCapacity}).");
        if (MaxBatchSize < 1) errors.Add($"MaxBatchSize must be at least 1 (was {MaxBatchSize}).");
        if (BatchInterval < TimeSpan.Zero) errors.Add($"BatchInterval must not be negative (was {BatchInterval}).");
        if (MaxRetries < 0) errors.Add($"MaxRetries must not be negative (was {MaxRetries}).");
        if (RetryBaseDelay < TimeSpan.Zero) errors.Add($"RetryBaseDelay must not be negative (was {RetryBaseDelay}).");
        if (RetryMaxDelay < RetryBaseDelay) errors.Add($"RetryMaxDelay ({RetryMaxDelay}) must be at least RetryBaseDelay ({RetryBaseDelay}).");
        if (WriteTimeout <= TimeSpan.Zero && WriteTimeout != Timeout.InfiniteTimeSpan) errors.Add($"WriteTimeout must be positive or Timeout.InfiniteTimeSpan (was {WriteTimeout}).");
        if (CircuitBreakerThreshold < 0) errors.Add($"CircuitBreakerThreshold must not be negative (was {CircuitBreakerThreshold}).");
        if (CircuitBreakerThreshold > 0 && CircuitBreakerDuration <= TimeSpan.Zero) errors.Add($"CircuitBreakerDuration must be positive when the breaker is on (was {CircuitBreakerDuration}).");
        if (Events == LlmLogEvents.None) errors.Add("Events is None, so the sink would receive nothing.");
        return errors;
    }

    internal void Validate(string sinkName)
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid options for LlmObservability sink '{sinkName}': {string.Join(" ", errors)}");
    }
}
