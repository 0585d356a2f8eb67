using System.Diagnostics;
using System.Net.Http.Headers;
using LlmObservability.Capture;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Providers;
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

    private readonly LlmLogDispatcher _dispatcher;
    private readonly LlmObservabilityOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PayloadBuilder _builder;
    private readonly CaptureLimits _limits;
    private readonly Action<CallRecord> _enqueue;

    /// <summary>Creates the handler.</summary>
    /// <param name="dispatcher">Where records go.</param>
    /// <param name="options">Capture and payload options; defaults when null. Validated here.</param>
    /// <param name="timeProvider">The clock for timings and call IDs; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Where the library reports its own problems; nothing is logged when null.</param>
    public LlmObservabilityHandler(
        LlmLogDispatcher dispatcher,
        LlmObservabilityOptions? options = null,
        TimeProvider? timeProvider = null,
        ILogger<LlmObservabilityHandler>? logger = null)
    {
        _dispatcher = dispatcher ?? throw new ArgumentNullException(nameof(dispatcher));
        _options = options ?? new LlmObservabilityOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _limits = new CaptureLimits(_options.MaxContentChars, _options.MaxErrorBodyChars);
        _builder = new PayloadBuilder(_options, _limits, _time);
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
        if (record is not null) Attach(response, record);
        return response;
    }

    private async Task<HttpResponseMessage> SendObservedAsync(HttpRequestMessage request, ProviderRoute route, LlmObservabilityScope? scope, CancellationToken cancellationToken)
    {
        var record = Begin(request, route, scope);
        if (record is not null) await CaptureRequestBody(request, record, cancellationToken).ConfigureAwait(false);
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
        if (record is not null) Attach(response, record);
        return response;
    }

    private ProviderRoute? Route(HttpRequestMessage request, out LlmObservabilityScope? scope)
    {
        scope = LlmObservabilityScope.Current;
        if (!_options.Enabled || scope is { SuppressLogging: true }) return null;
        try
        {
            return ProviderDetector.Detect(request);
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
            var record = new CallRecord(route, _builder)
            {
                Id = Guid.CreateVersion7(now).ToString(),
                StartTime = now,
                StartTimestamp = _time.GetTimestamp(),
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
                record.TraceId = ActivityTraceId.CreateRandom().ToHexString();
            }
            record.SpanId = ActivitySpanId.CreateRandom().ToHexString();
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

    /// <summary>
    /// Buffers the request body (SDKs hand over in-memory JSON) and keeps a copy for parsing off the caller's path.
    /// A body whose declared length is over the cap is not read at all.
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
        // A failure here is the content's own (it would fail the same way when sent), so it propagates.
        await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var body = await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length > _options.MaxRequestCaptureBytes) record.AddNote($"request body of {body.Length} bytes is over the capture cap of {_options.MaxRequestCaptureBytes}; not kept");
            else record.RequestBody = body;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            record.AddNote($"request body could not be read: {ex.GetType().Name}");
        }
    }

    private void Attach(HttpResponseMessage response, CallRecord record)
    {
        try
        {
            record.HttpStatus = (int)response.StatusCode;
            record.Route.Adapter.ReadResponseHeaders(response.Headers, record);
            if (_options.AddCallIdResponseHeader) response.Headers.TryAddWithoutValidation(CallIdHeader, record.Id);

            var content = response.Content;
            var encoding = content.Headers.ContentEncoding;
            record.ContentEncoding = encoding.Count == 0 ? null : string.Join(",", encoding);
            var framing = response.IsSuccessStatusCode ? record.Route.Adapter.StreamFramingFor(content.Headers.ContentType?.MediaType) : StreamFraming.None;
            var identity = record.ContentEncoding is null || record.ContentEncoding.Equals("identity", StringComparison.OrdinalIgnoreCase);
            // An encoded whole body is kept and decoded off the caller's path instead of being skimmed.
            if (framing == StreamFraming.SkimmedJson && !identity) framing = StreamFraming.None;
            record.IsEventStream = framing is StreamFraming.ServerSentEvents or StreamFraming.NewlineDelimitedJson;

            StreamParser? parser = null;
            if (framing != StreamFraming.None)
            {
                if (identity)
                    parser = record.Route.Adapter.CreateStreamParser(record, _limits);
                else
                    record.AddNote($"stream is {record.ContentEncoding}-encoded (enable automatic decompression on the inner handler to parse it)");
            }
            var capture = new ResponseCapture(record, parser, framing, _options.MaxResponseCaptureBytes, content.Headers.ContentLength, _time, _enqueue);
            response.Content = new ObservedContent(content, capture);
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
            record.AddNote($"response capture failed: {ex.GetType().Name}");
            record.End = CallEnd.Completed;
            record.EndTimestamp = _time.GetTimestamp();
            _enqueue(record);
        }
    }

    private void Fail(CallRecord record, Exception exception, CancellationToken cancellationToken)
    {
        record.EndTimestamp = _time.GetTimestamp();
        record.Exception = exception;
        record.End = exception is OperationCanceledException && cancellationToken.IsCancellationRequested ? CallEnd.Cancelled : CallEnd.Exception;
        _enqueue(record);
    }

    private static string? ApiKeyFrom(HttpRequestMessage request)
    {
        var headers = request.Headers;
        if (headers.Authorization is { } auth && auth.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return auth.Parameter;
        return FirstHeader(headers, "api-key") ?? FirstHeader(headers, "x-api-key") ?? FirstHeader(headers, "x-goog-api-key");
    }

    private static string? FirstHeader(HttpRequestHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "LlmObservability failed to capture a call; the call itself is unaffected.")]
    private static partial void LogCaptureFailed(ILogger logger, Exception exception);
}
