using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using LlmObservability.Langfuse.Otlp;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmObservability.Langfuse;

/// <summary>
/// Sends each recorded call to Langfuse as one generation: an OTLP span (kind CLIENT) posted as gzip-compressed
/// OTLP/HTTP protobuf to <c>{Host}/api/public/otel/v1/traces</c> with Basic auth (public key : secret key).
/// </summary>
/// <remarks>
/// <para>
/// A batch is split over several requests when it would exceed <see cref="LangfuseSinkOptions.MaxRequestBytes"/>; a
/// span too large alone has its largest values truncated with a marker. 408, 429, 5xx and network errors are retried by
/// the HTTP client's resilience pipeline (when registered through <c>AddLangfuseSink</c>) and then thrown, so the
/// dispatcher retries the batch later; requests of that batch that already went through are not sent again. Refusals
/// that a retry cannot fix (400, 401, 403, …) are logged once per status code, counted in
/// <see cref="GetStatistics"/>, and not retried.
/// </para>
/// <para>Resolve the instance from the container (<c>GetRequiredService&lt;LangfuseSink&gt;()</c>) to read its statistics.</para>
/// </remarks>
public sealed partial class LangfuseSink : ILlmLogSink
{
    /// <summary>The sink name (and options name) of the first Langfuse sink registered.</summary>
    public const string DefaultName = "langfuse";

    /// <summary>The name of the first Langfuse sink's HttpClient; further sinks use <c>LlmObservability.Langfuse.{sink name}</c>.</summary>
    public const string HttpClientName = "LlmObservability.Langfuse";

    private const int MaxLoggedBodyChars = 512;

    private readonly Func<HttpClient> _httpClient;
    private readonly LangfuseSinkOptions _options;
    private readonly ILogger _logger;
    private readonly AuthenticationHeaderValue _authorization;
    private readonly ConditionalWeakTable<IReadOnlyList<StandardLoggingPayload>, BatchProgress> _progressOfFailedBatches = [];
    private readonly ConcurrentDictionary<int, bool> _reportedStatuses = new();
    private long _requestsAccepted;
    private long _spansAccepted;
    private long _requestsRejected;
    private long _spansRejected;
    private int _lastRejectionStatus;
    private long _requestsFailedTransiently;
    private long _spansTruncated;
    private long _batchesSplit;

    /// <summary>Creates the sink over an HttpClient you configure yourself (retries and timeouts are then yours to add).</summary>
    /// <param name="httpClient">The client that posts the spans.</param>
    /// <param name="options">Host, keys and limits; validated here.</param>
    /// <param name="loggerFactory">Where refusals and truncations are reported; nothing is logged when null.</param>
    public LangfuseSink(HttpClient httpClient, LangfuseSinkOptions options, ILoggerFactory? loggerFactory = null)
        : this(CheckClient(httpClient), options, loggerFactory)
    {
    }

    internal LangfuseSink(Func<HttpClient> httpClient, LangfuseSinkOptions options, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid Langfuse sink options: {string.Join(" ", errors)}", nameof(options));
        _httpClient = httpClient;
        _options = options;
        _logger = (ILogger?)loggerFactory?.CreateLogger<LangfuseSink>() ?? NullLogger.Instance;
        Endpoint = options.GetTracesEndpoint();
        _authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.PublicKey}:{options.SecretKey}")));
    }

    /// <summary>Where spans are posted: <c>{Host}/api/public/otel/v1/traces</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>A snapshot of what was sent, refused, retried and truncated.</summary>
    public LangfuseSinkStatistics GetStatistics()
    {
        var lastStatus = Volatile.Read(ref _lastRejectionStatus);
        return new()
        {
            RequestsAccepted = Interlocked.Read(ref _requestsAccepted),
            SpansAccepted = Interlocked.Read(ref _spansAccepted),
            RequestsRejected = Interlocked.Read(ref _requestsRejected),
            SpansRejected = Interlocked.Read(ref _spansRejected),
            LastRejectionStatusCode = lastStatus == 0 ? null : lastStatus,
            RequestsFailedTransiently = Interlocked.Read(ref _requestsFailedTransiently),
            SpansTruncated = Interlocked.Read(ref _spansTruncated),
            BatchesSplit = Interlocked.Read(ref _batchesSplit),
        };
    }

    /// <inheritdoc/>
    public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        // The dispatcher retries a failed batch with the same list: skip what an earlier attempt already finished.
        var progress = _progressOfFailedBatches.TryGetValue(batch, out var earlier) ? earlier : new BatchProgress();

        var spans = new List<PlannedSpan>(batch.Count);
        foreach (var payload in batch)
        {
            if (payload is null || progress.Finished.Contains(payload)) continue;
            if (Encode(payload) is { } span) spans.Add(span);
            else progress.Refuse(payload, $"Call {payload.Id} could not be encoded for Langfuse.");
        }
        if (spans.Count > 0)
        {
            var requests = SpanSizer.Plan(spans, _options.MaxRequestBytes);
            if (requests.Count > 1 && earlier is null) Interlocked.Increment(ref _batchesSplit);
            try
            {
                foreach (var request in requests) await SendAsync(request, progress, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                if (progress.Finished.Count > 0) _progressOfFailedBatches.AddOrUpdate(batch, progress);
                throw;
            }
        }
        _progressOfFailedBatches.Remove(batch);

        // Every record is done with. Refused ones are reported to the dispatcher, which counts them as rejected (not as
        // delivered) and does not retry them, as it does for the HTTP and S3 sinks.
        if (progress.Rejected > 0)
        {
            throw new LlmSinkWriteException(progress.Reason ?? $"Langfuse refused {progress.Rejected} spans.")
            {
                CompletedCount = batch.Count,
                RejectedCount = progress.Rejected,
            };
        }
    }

    /// <summary>What the attempts at one batch finished (sent or refused for good), and how many of those were refused.</summary>
    private sealed class BatchProgress
    {
        public HashSet<StandardLoggingPayload> Finished { get; } = new(ReferenceEqualityComparer.Instance);

        public int Rejected { get; private set; }

        public string? Reason { get; private set; }

        public void Refuse(StandardLoggingPayload payload, string reason)
        {
            if (!Finished.Add(payload)) return;
            Rejected++;
            Reason ??= reason;
        }
    }

    private PlannedSpan? Encode(StandardLoggingPayload payload)
    {
        try
        {
            var span = LangfuseSpanMapper.Map(payload, _options);
            var (body, truncated) = SpanSizer.Fit(span, _options.MaxRequestBytes);
            if (truncated)
            {
                Interlocked.Increment(ref _spansTruncated);
                LogTruncated(_logger, payload.Id, span.GetAttribute(LangfuseSpanMapper.TruncatedAttribute)?.StringValue ?? string.Empty, _options.MaxRequestBytes);
            }
            return new PlannedSpan(payload, new EncodedSpan(span.ServiceName, body));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A payload that cannot be encoded would fail every retry: count it as refused instead of blocking the batch.
            Interlocked.Increment(ref _spansRejected);
            LogEncodeFailed(_logger, ex, payload.Id);
            return null;
        }
    }

    private async Task SendAsync(List<PlannedSpan> spans, BatchProgress progress, CancellationToken cancellationToken)
    {
        var body = Gzip(OtlpTraceEncoder.EncodeRequest([.. spans.Select(s => s.Span)]));
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new ByteArrayContent(body) };
        request.Headers.Authorization = _authorization;
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Content.Headers.ContentEncoding.Add("gzip");

        HttpResponseMessage response;
        try
        {
            response = await _httpClient().SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Network error, attempt timeout or open circuit, after the pipeline's retries: the dispatcher retries later,
            // not before an open circuit would let the request through.
            Interlocked.Increment(ref _requestsFailedTransiently);
            if (SinkResilience.RetryAfterOf(ex) is not { } retryAfter) throw;
            throw new LlmSinkWriteException($"Langfuse export to {Endpoint} failed: {ex.Message}", ex) { RetryAfter = retryAfter };
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref _requestsAccepted);
                Interlocked.Add(ref _spansAccepted, spans.Count);
                foreach (var span in spans) progress.Finished.Add((StandardLoggingPayload)span.Source);
                return;
            }
            if (response.StatusCode == HttpStatusCode.RequestEntityTooLarge && spans.Count > 1)
            {
                // The server's limit is below ours: halve until it takes them.
                var half = spans.Count / 2;
                await SendAsync(spans[..half], progress, cancellationToken).ConfigureAwait(false);
                await SendAsync(spans[half..], progress, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (IsTransient(status))
            {
                Interlocked.Increment(ref _requestsFailedTransiently);
                var failure = new HttpRequestException($"Langfuse answered {status} ({response.ReasonPhrase}) at {Endpoint}; the batch will be retried.", null, response.StatusCode);
                // A Retry-After longer than the pipeline waits: the dispatcher waits it out before the next attempt.
                if (HttpSinkResilience.RetryAfter(response, TimeProvider.System) is not { } retryAfter) throw failure;
                throw new LlmSinkWriteException(failure.Message, failure) { RetryAfter = retryAfter };
            }

            Interlocked.Increment(ref _requestsRejected);
            Interlocked.Add(ref _spansRejected, spans.Count);
            Volatile.Write(ref _lastRejectionStatus, status);
            var reason = $"Langfuse refused {spans.Count} spans with HTTP {status} at {Endpoint}.";
            foreach (var span in spans) progress.Refuse((StandardLoggingPayload)span.Source, reason);
            var detail = await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
            if (_reportedStatuses.TryAdd(status, true))
            {
                var hint = status is 401 or 403
                    ? $"Check {LangfuseSinkOptions.PublicKeyVariable} and {LangfuseSinkOptions.SecretKeyVariable}, and that the host matches the project's region ({LangfuseSinkOptions.EuCloudHost} for EU, {LangfuseSinkOptions.UsCloudHost} for US)."
                    : status == 404 ? "Check the host: the OpenTelemetry endpoint needs Langfuse v3.22 or later." : "The request was not accepted and will not be retried.";
                LogRejected(_logger, status, Endpoint, spans.Count, hint, detail);
            }
            else
            {
                LogRejectedAgain(_logger, status, spans.Count);
            }
        }
    }

    private static bool IsTransient(int status) => status is 408 or 429 or >= 500;

    private static async Task<string> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return text.Length <= MaxLoggedBodyChars ? text : string.Concat(text.AsSpan(0, MaxLoggedBodyChars), "…");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return string.Empty;
        }
    }

    internal static byte[] Gzip(byte[] body)
    {
        using var compressed = new MemoryStream((body.Length / 4) + 64);
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(body);
        return compressed.ToArray();
    }

    private static Func<HttpClient> CheckClient(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        return () => httpClient;
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Error, Message = "Langfuse refused {Count} spans with HTTP {Status} at {Endpoint}; they are not retried, and are counted as rejected in the dispatcher's statistics and in LangfuseSink.GetStatistics(). {Hint} Response: {Detail}. Further refusals with this status are logged at Debug.")]
    private static partial void LogRejected(ILogger logger, int status, Uri endpoint, int count, string hint, string detail);

    [LoggerMessage(EventId = 601, Level = LogLevel.Debug, Message = "Langfuse refused {Count} spans with HTTP {Status} again.")]
    private static partial void LogRejectedAgain(ILogger logger, int status, int count);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "Call {CallId} was too large for one Langfuse request of {MaxRequestBytes} bytes; truncated: {Truncated}.")]
    private static partial void LogTruncated(ILogger logger, string callId, string truncated, int maxRequestBytes);

    [LoggerMessage(EventId = 603, Level = LogLevel.Error, Message = "Call {CallId} could not be encoded for Langfuse and is dropped (counted as rejected).")]
    private static partial void LogEncodeFailed(ILogger logger, Exception exception, string callId);
}
