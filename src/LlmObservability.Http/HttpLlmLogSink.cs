using System.Net;
using System.Net.Http.Headers;
using LlmObservability.Payload;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmObservability.Sinks.Http;

/// <summary>
/// POSTs each batch to a URL as a JSON array or as NDJSON, in this library's field names or LiteLLM's
/// (<see cref="HttpSinkOptions"/>). A batch larger than <see cref="HttpSinkOptions.MaxRequestBytes"/> goes in several
/// requests, in order; a single record that is too large on its own has its longest text cut to fit.
/// </summary>
/// <remarks>
/// <para>
/// Registered with <c>AddHttpSink</c>, requests go through an <see cref="IHttpClientFactory"/> client with a
/// Microsoft.Extensions.Http.Resilience pipeline: each request is retried on 408, 429, 5xx, network errors and
/// timed-out attempts with exponential backoff and jitter, honouring <c>Retry-After</c>, under a circuit breaker
/// (<see cref="HttpSinkOptions.MaxRetries"/>, <see cref="HttpSinkOptions.Timeout"/>,
/// <see cref="HttpSinkOptions.CircuitBreakDuration"/>). When a request still fails, the sink tells the dispatcher how far
/// the batch got (<see cref="LlmSinkWriteException"/>) and the dispatcher tries the rest again later
/// (<see cref="Dispatch.LlmSinkOptions"/>): requests already accepted are never sent again. 413 halves the request until
/// a single record remains, which is then rejected like 400, 409 and 422 (those records only). 401, 403, 404 and any
/// other status reject the rest of the batch: they mean the sink is misconfigured. Rejections are counted in
/// <see cref="Dispatch.LlmSinkStatistics.Rejected"/> and logged once.
/// </para>
/// <para>
/// Built over an HttpClient of your own (or a factory's client you configured), the sink sends each request once with
/// <see cref="HttpSinkOptions.Timeout"/> and leaves retries to the dispatcher and to whatever handlers the client has.
/// </para>
/// <para>Calls the sink makes are never recorded by LlmObservability itself, whatever handlers its HttpClient has.</para>
/// </remarks>
public sealed partial class HttpLlmLogSink : ILlmLogSink
{
    private const int MaxErrorBodyChars = 512;

    private readonly HttpSinkOptions _options;
    private readonly Func<HttpClient> _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<StandardLoggingPayload, byte[]> _serialize;
    private readonly string _contentType;
    private readonly string _safeUrl;
    // False when the client's resilience pipeline times each attempt (AddHttpSink): a timeout here would cut its retries.
    private readonly bool _timesRequests;
    private long _truncated;

    /// <summary>Creates the sink over a client from <paramref name="httpClientFactory"/> (<see cref="HttpSinkOptions.HttpClientName"/>).</summary>
    public HttpLlmLogSink(HttpSinkOptions options, IHttpClientFactory httpClientFactory, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, CreateFromFactory(options, httpClientFactory), timesRequests: true, timeProvider, loggerFactory)
    {
    }

    /// <summary>Creates the sink over an HttpClient the caller owns (and disposes).</summary>
    public HttpLlmLogSink(HttpSinkOptions options, HttpClient httpClient, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
        : this(options, FromInstance(httpClient), timesRequests: true, timeProvider, loggerFactory)
    {
    }

    /// <summary>Over a factory client whose resilience pipeline (retries, breaker, attempt timeout) <c>AddHttpSink</c> configured.</summary>
    internal static HttpLlmLogSink WithResilientClient(HttpSinkOptions options, IHttpClientFactory httpClientFactory, TimeProvider? timeProvider, ILoggerFactory? loggerFactory) =>
        new(options, CreateFromFactory(options, httpClientFactory), timesRequests: false, timeProvider, loggerFactory);

    private HttpLlmLogSink(HttpSinkOptions options, Func<HttpClient> client, bool timesRequests, TimeProvider? timeProvider, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _client = client;
        _timesRequests = timesRequests;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<HttpLlmLogSink>() ?? NullLogger.Instance;
        Url = new Uri(options.Url!, UriKind.Absolute);
        // The query may hold a key: messages name the address without it.
        _safeUrl = Url.GetLeftPart(UriPartial.Path);
        _serialize = options.FieldNames == HttpSinkFieldNames.LiteLlm ? LiteLlmPayload.SerializeToUtf8Bytes : LlmPayloadJson.SerializeToUtf8Bytes;
        _contentType = options.Format == HttpSinkFormat.Ndjson ? "application/x-ndjson" : "application/json";
    }

    /// <summary>Where batches are POSTed.</summary>
    public Uri Url { get; }

    /// <summary>How many records had text cut to fit <see cref="HttpSinkOptions.MaxRequestBytes"/>.</summary>
    public long TruncatedRecords => Interlocked.Read(ref _truncated);

    /// <inheritdoc/>
    public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) return;

        var records = SerializeRecords(batch);
        await LlmSinkBatchProgress.WriteInPartsAsync(records.Length, start => FitCount(records, start),
            (start, count, progress, ct) => SendAsync(records, start, count, progress, ct), $"POST {_safeUrl}", cancellationToken).ConfigureAwait(false);
    }

    private byte[][] SerializeRecords(IReadOnlyList<StandardLoggingPayload> batch)
    {
        // The framing around a lone record: "[" + "]" for an array, "\n" for NDJSON.
        var maxRecordBytes = _options.MaxRequestBytes - (_options.Format == HttpSinkFormat.JsonArray ? 2 : 1);
        var records = new byte[batch.Count][];
        for (var i = 0; i < batch.Count; i++)
        {
            var bytes = _serialize(batch[i]);
            if (bytes.Length > maxRecordBytes)
            {
                var original = bytes.Length;
                bytes = LlmPayloadTruncation.SerializeWithin(batch[i], maxRecordBytes, _serialize, out _);
                Interlocked.Increment(ref _truncated);
                LogTruncated(_logger, batch[i].Id, original, bytes.Length, _options.MaxRequestBytes);
            }
            records[i] = bytes;
        }
        return records;
    }

    /// <summary>How many records from <paramref name="start"/> fit in one request (at least one).</summary>
    private int FitCount(byte[][] records, int start)
    {
        long size = _options.Format == HttpSinkFormat.JsonArray ? 2 : 0;
        var count = 0;
        for (var i = start; i < records.Length; i++)
        {
            // A comma between array elements; a newline after every NDJSON line.
            var add = records[i].Length + (_options.Format == HttpSinkFormat.Ndjson ? 1 : count > 0 ? 1 : 0);
            if (count > 0 && size + add > _options.MaxRequestBytes) break;
            size += add;
            count++;
        }
        return count;
    }

    private byte[] Body(byte[][] records, int start, int count)
    {
        var array = _options.Format == HttpSinkFormat.JsonArray;
        long length = array ? 2 + (count - 1) : count;
        for (var i = start; i < start + count; i++) length += records[i].Length;
        var body = new byte[length];
        var at = 0;
        if (array) body[at++] = (byte)'[';
        for (var i = start; i < start + count; i++)
        {
            if (array && i > start) body[at++] = (byte)',';
            records[i].CopyTo(body, at);
            at += records[i].Length;
            if (!array) body[at++] = (byte)'\n';
        }
        if (array) body[at] = (byte)']';
        return body;
    }

    private async Task SendAsync(byte[][] records, int start, int count, LlmSinkBatchProgress progress, CancellationToken cancellationToken)
    {
        HttpStatusCode status;
        string reason;
        TimeSpan? retryAfter;
        using (var request = new HttpRequestMessage(HttpMethod.Post, Url))
        {
            request.Content = new ByteArrayContent(Body(records, start, count));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(_contentType);
            foreach (var (name, value) in _options.Headers)
            {
                if (request.Headers.TryAddWithoutValidation(name, value)) continue;
                request.Content.Headers.Remove(name);
                request.Content.Headers.TryAddWithoutValidation(name, value);
            }

            using var timeout = !_timesRequests || _options.Timeout == Timeout.InfiniteTimeSpan ? new CancellationTokenSource() : new CancellationTokenSource(_options.Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            HttpResponseMessage response;
            try
            {
                // Our own requests are never logged as LLM calls, even if the client's pipeline has the handler.
                using (LlmObservabilityScope.Suppress())
                {
                    response = await _client().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw progress.Transient($"POST {_safeUrl} got no answer within {_options.Timeout}.", ex);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Network errors, and from the resilience pipeline: spent retries of timed-out attempts, or an open circuit
                // (whose remaining break is the pause before the dispatcher tries again).
                throw progress.Transient($"POST {_safeUrl} failed: {ex.Message}", ex, SinkResilience.RetryAfterOf(ex));
            }

            using (response)
            {
                status = response.StatusCode;
                if (response.IsSuccessStatusCode)
                {
                    progress.Written(count);
                    return;
                }
                retryAfter = HttpSinkResilience.RetryAfter(response, _time);
                reason = $"POST {_safeUrl} answered {(int)status} {response.ReasonPhrase}: {await ReadSnippetAsync(response, linked.Token).ConfigureAwait(false)}";
            }
        }

        switch (Classify(status))
        {
            case Outcome.TooLarge when count > 1:
                // The receiver's limit is lower than ours: halve until it fits; a lone record it still refuses is rejected.
                var half = count / 2;
                await SendAsync(records, start, half, progress, cancellationToken).ConfigureAwait(false);
                await SendAsync(records, start + half, count - half, progress, cancellationToken).ConfigureAwait(false);
                return;
            case Outcome.TooLarge:
            case Outcome.RejectRecords:
                progress.Refused(count, reason);
                return;
            case Outcome.RejectAll:
                throw progress.Permanent(reason);
            default:
                throw progress.Transient(reason, retryAfter: retryAfter);
        }
    }

    private enum Outcome
    {
        Transient,
        TooLarge,
        RejectRecords,
        RejectAll,
    }

    private static Outcome Classify(HttpStatusCode status) => (int)status switch
    {
        408 or 425 or 429 or >= 500 => Outcome.Transient,
        413 => Outcome.TooLarge,
        400 or 409 or 422 => Outcome.RejectRecords,
        _ => Outcome.RejectAll,
    };

    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var reader = new StreamReader(stream);
                var buffer = new char[MaxErrorBodyChars];
                var read = await reader.ReadBlockAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
                return read == 0 ? "(no body)" : new string(buffer, 0, read);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException)
        {
            return "(body unreadable)";
        }
    }

    private static Func<HttpClient> CreateFromFactory(HttpSinkOptions options, IHttpClientFactory factory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(factory);
        var name = options.HttpClientName;
        return () =>
        {
            // A fresh client per request is how the factory is meant to be used (handlers rotate); the sink's own
            // Timeout governs, not HttpClient's 100-second default.
            var client = factory.CreateClient(name);
            client.Timeout = Timeout.InfiniteTimeSpan;
            return client;
        };
    }

    private static Func<HttpClient> FromInstance(HttpClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return () => client;
    }

    [LoggerMessage(EventId = 450, Level = LogLevel.Warning, Message = "LlmObservability HTTP sink: record {CallId} is {Bytes} bytes as JSON, more than the request limit of {Limit}; its longest text was cut, leaving {NewBytes} bytes.")]
    private static partial void LogTruncated(ILogger logger, string callId, int bytes, int newBytes, int limit);
}
