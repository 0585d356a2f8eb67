using System.Diagnostics;
using System.Net.Http.Headers;
using LlmObservability.Capture;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Providers;
using LlmObservability.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmObservability;

/// <summary>
/// The <see cref="DelegatingHandler"/> that records LLM calls. Requests it does not recognise as an LLM call pass
/// through untouched. For recognised ones it stamps a call ID (returned in the <c>x-llm-call-id</c> response header),
/// copies the request body, and wraps the response body so that it is observed as the caller reads it; when the body
/// ends, the record goes to the <see cref="LlmLogDispatcher"/>. The caller's response, timing and exceptions are those it
/// would get without the handler; a failure inside the library is logged, never thrown.
/// </summary>
/// <remarks>
/// With dependency injection, attach it with <c>services.AddHttpClient(...).AddLlmObservability()</c>. Without it:
/// <code>
/// await using var dispatcher = new LlmLogDispatcher(new MySink());
/// var http = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new SocketsHttpHandler() });
/// </code>
/// </remarks>
public sealed partial class LlmObservabilityHandler : DelegatingHandler
{
    /// <summary>The response header that carries the call ID.</summary>
    public const string CallIdHeader = "x-llm-call-id";

    /// <summary>The response header that carries the call's cost in USD, when <see cref="LlmObservabilityOptions.AddCostResponseHeader"/> is on.</summary>
    public const string CostHeader = "x-llm-cost";

    private static readonly Action<CallRecord> Hold = static _ => { };

    private readonly LlmLogDispatcher _dispatcher;
    private readonly LlmObservabilityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CaptureLimits _limits;
    private readonly Action<CallRecord> _enqueue;

    /// <summary>Creates the handler. Its options (capture caps, <c>Enabled</c>, headers) are the dispatcher's.</summary>
    /// <param name="dispatcher">Where records go; its <see cref="LlmLogDispatcher.Options"/> apply to capture too.</param>
    /// <param name="timeProvider">The clock for timings and call IDs; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Where the library reports its own problems; nothing is logged when null.</param>
    public LlmObservabilityHandler(
        LlmLogDispatcher dispatcher,
        TimeProvider? timeProvider = null,
        ILogger<LlmObservabilityHandler>? logger = null)
    {
        _dispatcher = dispatcher ?? throw new ArgumentNullException(nameof(dispatcher));
        _options = dispatcher.Options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _limits = new CaptureLimits(_options.MaxContentChars, _options.MaxErrorBodyChars);
        _enqueue = record => _dispatcher.TryEnqueue(record);
    }

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var route = Route(request, out var scope);
        return route is null ? base.SendAsync(request, cancellationToken) : SendObservedAsync(request, route, scope, cancellationToken);
    }

    /// <inheritdoc/>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var route = Route(request, out var scope);
        if (route is null) return base.Send(request, cancellationToken);

        var record = Begin(request, route, scope);
        if (record is not null) CaptureRequestBody(request, record, cancellationToken).GetAwaiter().GetResult();
        var caller = Activity.Current;
        if (record is not null) StartSpan(request, record);
        HttpResponseMessage response;
        try
        {
            response = base.Send(request, cancellationToken);
        }
        catch (Exception ex) when (record is not null)
        {
            Fail(record, ex, cancellationToken);
            throw;
        }
        finally
        {
            // Synchronous code shares the caller's context: put the caller's span back.
            if (record?.Activity is not null) Activity.Current = caller;
        }
        if (record is not null && Attach(response, record, Hold)) PriceNow(response, record, cancellationToken);
        return response;
    }

    private async Task<HttpResponseMessage> SendObservedAsync(HttpRequestMessage request, ProviderRoute route, LlmObservabilityScope? scope, CancellationToken cancellationToken)
    {
        var record = Begin(request, route, scope);
        if (record is not null)
        {
            await CaptureRequestBody(request, record, cancellationToken).ConfigureAwait(false);
            StartSpan(request, record); // current for the inner handlers, so HttpClient's own span nests under it
        }
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (record is not null)
        {
            Fail(record, ex, cancellationToken);
            throw;
        }
        if (record is not null && Attach(response, record, Hold)) await PriceNowAsync(response, record, cancellationToken).ConfigureAwait(false);
        return response;
    }

    private ProviderRoute? Route(HttpRequestMessage request, out LlmObservabilityScope? scope)
    {
        scope = LlmObservabilityScope.Current;
        if (!_options.Enabled || scope is { SuppressLogging: true }) return null;
        try
        {
            return ProviderDetector.Detect(request, _options.ProviderMappings);
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
            return null;
        }
    }

    private CallRecord? Begin(HttpRequestMessage request, ProviderRoute route, LlmObservabilityScope? scope)
    {
        try
        {
            var now = _time.GetUtcNow();
            var record = new CallRecord(route)
            {
                Id = CallIds.New(now),
                StartTime = now,
                StartTimestamp = _time.GetTimestamp(),
                TimestampFrequency = _time.TimestampFrequency,
                Scope = scope,
            };
            var parent = Activity.Current;
            if (parent is not null && parent.IdFormat == ActivityIdFormat.W3C)
            {
                record.TraceId = parent.TraceId.ToHexString();
                record.ParentSpanId = parent.SpanId.ToHexString();
            }
            else
            {
                record.NewTraceId();
            }
            record.NewSpanId();
            record.ApiKey = ApiKeyFrom(request);
            if (FirstHeader(request.Headers, "x-stainless-retry-count") is { } retries && int.TryParse(retries, out var retryCount) && retryCount >= 0)
            {
                record.Attempt = retryCount + 1;
            }
            return record;
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
            return null;
        }
    }

    /// <summary>Starts the call's span when something listens; the payload then carries its trace and span IDs.</summary>
    private void StartSpan(HttpRequestMessage request, CallRecord record)
    {
        if (!LlmTelemetry.Source.HasListeners()) return;
        try
        {
            var model = record.Route.Adapter.PeekModel(request.RequestUri!, record.RequestBody is { } body ? body.Span : default);
            if (CallSpan.Start(record, request, model) is not { } activity) return;
            record.Activity = activity;
            record.TraceId = activity.TraceId.ToHexString();
            record.SpanId = activity.SpanId.ToHexString();
            record.ParentSpanId = activity.ParentSpanId == default ? null : activity.ParentSpanId.ToHexString();
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Keeps a copy of the request body (SDKs hand over in-memory JSON) for parsing off the caller's path, in a pooled
    /// buffer. Content that is already bytes in memory (<see cref="ByteArrayContent"/>, <see cref="StringContent"/>,
    /// <see cref="ReadOnlyMemoryContent"/>) can be sent again as it is, so it is copied once, straight from its bytes;
    /// other content is buffered first (so that it can still be sent) and copied from that buffer. A body whose
    /// declared length is over the cap is not read at all.
    /// </summary>
    private async Task CaptureRequestBody(HttpRequestMessage request, CallRecord record, CancellationToken cancellationToken)
    {
        if (request.Content is not { } content) return;
        var declared = content.Headers.ContentLength;
        if (declared > _options.MaxRequestCaptureBytes)
        {
            record.AddNote($"request body of {declared} bytes is over the capture cap of {_options.MaxRequestCaptureBytes}; not read");
            return;
        }
        var inMemory = IsBytesInMemory(content);
        if (!inMemory)
        {
            // A failure here is the content's own (it would fail the same way when sent), so it propagates.
            await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            declared = content.Headers.ContentLength;
        }
        var copy = new CaptureWriteStream((int)Math.Clamp(declared ?? 0, 0, _options.MaxRequestCaptureBytes), _options.MaxRequestCaptureBytes);
        try
        {
            // Bytes in memory are written at once: the synchronous copy spares the asynchronous one's machinery.
            if (inMemory) content.CopyTo(copy, null, cancellationToken);
            else await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            if (copy.OverCap) record.AddNote($"request body of {copy.Written} bytes is over the capture cap of {_options.MaxRequestCaptureBytes}; not kept");
            else if (copy.TakeBuffer() is { } buffer) record.SetPooledRequestBody(buffer, (int)copy.Written);
            else record.RequestBody = ReadOnlyMemory<byte>.Empty;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            record.AddNote($"request body could not be read: {ex.GetType().Name}");
        }
        finally
        {
            copy.Dispose();
        }
    }

    /// <summary>The framework's own in-memory contents, which serialize their bytes as often as asked (not subclasses from elsewhere).</summary>
    private static bool IsBytesInMemory(HttpContent content)
    {
        var type = content.GetType();
        return type == typeof(ByteArrayContent) || type == typeof(StringContent) || type == typeof(ReadOnlyMemoryContent);
    }

    /// <summary>Wraps the response for observation. Returns true when the body is to be read now to price it (<see cref="LlmObservabilityOptions.AddCostResponseHeader"/>).</summary>
    private bool Attach(HttpResponseMessage response, CallRecord record, Action<CallRecord>? onComplete = null)
    {
        try
        {
            record.HttpStatus = (int)response.StatusCode;
            record.Route.Adapter.ReadResponseHeaders(response.Headers, record);
            if (_options.AddCallIdResponseHeader) response.Headers.TryAddWithoutValidation(CallIdHeader, record.Id);

            var content = response.Content;
            record.ContentEncoding = ContentEncoding(content.Headers);
            var framing = response.IsSuccessStatusCode ? record.Route.Adapter.StreamFramingFor(MediaType(content.Headers)) : StreamFraming.None;
            var identity = record.ContentEncoding is null || record.ContentEncoding.Equals("identity", StringComparison.OrdinalIgnoreCase);
            // An encoded whole body is kept and decoded off the caller's path instead of being skimmed.
            if (framing == StreamFraming.SkimmedJson && !identity) framing = StreamFraming.None;
            record.IsEventStream = framing is not (StreamFraming.None or StreamFraming.SkimmedJson);

            StreamParser? parser = null;
            if (framing != StreamFraming.None)
            {
                if (identity)
                    parser = record.Route.Adapter.CreateStreamParser(record, _limits);
                else
                    record.AddNote($"stream is {record.ContentEncoding}-encoded (enable automatic decompression on the inner handler to parse it)");
            }
            var priceNow = _options.AddCostResponseHeader && onComplete is not null && response.IsSuccessStatusCode && !record.IsEventStream;
            var capture = new ResponseCapture(record, parser, framing, _options.MaxResponseCaptureBytes, ContentLength(content.Headers), _time, priceNow ? onComplete! : _enqueue);
            response.Content = new ObservedContent(content, capture);
            return priceNow;
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
            record.AddNote($"response capture failed: {ex.GetType().Name}");
            record.End = CallEnd.Completed;
            record.EndTimestamp = _time.GetTimestamp();
            _enqueue(record);
            return false;
        }
    }

    /// <summary>
    /// The opt-in <c>x-llm-cost</c> path: read the (non-streamed) body now, build the payload here instead of on the
    /// dispatcher's loop, put its cost in a header, and enqueue the finished payload. The caller then reads the
    /// buffered body. Nothing is parsed twice.
    /// </summary>
    private async Task PriceNowAsync(HttpResponseMessage response, CallRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            _enqueue(record); // the capture completed with the failure; the record goes the usual way
            throw;
        }
        AddCostHeader(response, record);
    }

    private void PriceNow(HttpResponseMessage response, CallRecord record, CancellationToken cancellationToken)
    {
        var observed = response.Content;
        try
        {
            // HttpContent has no synchronous LoadIntoBuffer: read it through the observer, then hand the caller the bytes.
            using var buffer = new MemoryStream();
            using (var stream = observed.ReadAsStream(cancellationToken)) stream.CopyTo(buffer);
            var replacement = new ByteArrayContent(buffer.ToArray());
            ObservedContent.CopyHeaders(observed.Headers, replacement.Headers);
            response.Content = replacement;
            observed.Dispose();
        }
        catch
        {
            _enqueue(record);
            throw;
        }
        AddCostHeader(response, record);
    }

    private void AddCostHeader(HttpResponseMessage response, CallRecord record)
    {
        try
        {
            var payload = _dispatcher.BuildNow(record);
            if (payload.Cost is { } cost) response.Headers.TryAddWithoutValidation(CostHeader, cost.Total.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _dispatcher.TryEnqueue(payload);
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
        }
    }

    private void Fail(CallRecord record, Exception exception, CancellationToken cancellationToken)
    {
        record.EndTimestamp = _time.GetTimestamp();
        record.Exception = exception;
        record.End = exception is OperationCanceledException && cancellationToken.IsCancellationRequested ? CallEnd.Cancelled : CallEnd.Exception;
        _enqueue(record);
    }

    /// <summary>
    /// The API key: a bearer token, or the value of a provider's key header. A slice of the header's own string, so the
    /// caller's path copies nothing; the key is described (prefix and hash) off the path, never kept in the payload.
    /// </summary>
    private static ReadOnlyMemory<char> ApiKeyFrom(HttpRequestMessage request)
    {
        var headers = request.Headers;
        if (FirstHeader(headers, "Authorization") is { } authorization)
        {
            var value = authorization.AsMemory().Trim();
            if (value.Length > 7 && value.Span.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase) && char.IsWhiteSpace(value.Span[6])) return value[7..].TrimStart();
        }
        return (FirstHeader(headers, "api-key") ?? FirstHeader(headers, "x-api-key") ?? FirstHeader(headers, "x-goog-api-key")).AsMemory();
    }

    // NonValidated: the raw value, without parsing the header or enumerating through LINQ on the caller's path.
    private static string? FirstHeader(HttpHeaders headers, string name)
    {
        if (!headers.NonValidated.TryGetValues(name, out var values)) return null;
        foreach (var value in values) return value;
        return null;
    }

    /// <summary>The response's media type without parameters (<c>text/event-stream; charset=utf-8</c> → <c>text/event-stream</c>), read raw.</summary>
    private static ReadOnlySpan<char> MediaType(HttpContentHeaders headers)
    {
        var value = FirstHeader(headers, "Content-Type").AsSpan();
        var semicolon = value.IndexOf(';');
        return (semicolon < 0 ? value : value[..semicolon]).Trim();
    }

    /// <summary>
    /// The declared length: the raw header as received, read without parsing it into the header store; a content that
    /// has no such header (an in-memory one computes its length) is asked.
    /// </summary>
    private static long? ContentLength(HttpContentHeaders headers)
    {
        if (FirstHeader(headers, "Content-Length") is not { } raw) return headers.ContentLength;
        return long.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) ? length : null;
    }

    /// <summary>The content codings, comma-separated without spaces as the parsed header lists them; null when there are none.</summary>
    private static string? ContentEncoding(HttpContentHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues("Content-Encoding", out var values) || values.Count == 0) return null;
        if (values.Count == 1 && values.ToString() is var single && !single.Contains(',') && !single.Contains(' ')) return single.Length == 0 ? null : single;
        var encoding = headers.ContentEncoding;
        return encoding.Count == 0 ? null : string.Join(",", encoding);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "LlmObservability failed to capture a call; the call itself is unaffected.")]
    private static partial void LogCaptureFailed(ILogger logger, Exception exception);
}
