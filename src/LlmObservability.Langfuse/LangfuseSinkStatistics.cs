namespace LlmObservability.Langfuse;

/// <summary>
/// What a <see cref="LangfuseSink"/> has sent and what Langfuse refused. Records that Langfuse refused for good (400,
/// 401, 403, 404, 413 for a single span, other 4xx except 408 and 429) are counted here and reported once through
/// <c>ILogger</c>; the dispatcher counts them as delivered because retrying them cannot succeed.
/// </summary>
public sealed record LangfuseSinkStatistics
{
    /// <summary>Requests that Langfuse accepted (2xx).</summary>
    public long RequestsAccepted { get; init; }

    /// <summary>Spans in accepted requests.</summary>
    public long SpansAccepted { get; init; }

    /// <summary>Requests refused for good.</summary>
    public long RequestsRejected { get; init; }

    /// <summary>Spans in requests refused for good; they are not retried.</summary>
    public long SpansRejected { get; init; }

    /// <summary>The HTTP status of the last refusal, or null when there was none.</summary>
    public int? LastRejectionStatusCode { get; init; }

    /// <summary>Requests that failed after the HTTP retries (408, 429, 5xx, network, open circuit) and were handed back to the dispatcher to retry.</summary>
    public long RequestsFailedTransiently { get; init; }

    /// <summary>Spans whose values were truncated to fit <see cref="LangfuseSinkOptions.MaxRequestBytes"/>.</summary>
    public long SpansTruncated { get; init; }

    /// <summary>Batches that were sent as more than one request because of their size.</summary>
    public long BatchesSplit { get; init; }
}
