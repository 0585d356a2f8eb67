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

        CallRecord? record = null;
        if (Start(request) is { } start && (record = Begin(route, scope, start)) is not null)
        {
            CaptureRequestBody(start.Content, start.DeclaredLength, record, cancellationToken).GetAwaiter().GetResult();
        }
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
        CallRecord? record = null;
        Task<HttpResponseMessage> pending;
        if (Start(request) is not { } start)
        {
            pending = base.SendAsync(request, cancellationToken);
        }
        else if (start.InFlight)
        {
            // The request leaves first; the record is made and the body copied while it is on its way, in time that
            // would otherwise be spent waiting for the response.
            try
            {
                pending = base.SendAsync(request, cancellationToken);
            }
            catch (Exception ex)
            {
                if (BeginInFlight(route, scope, start, cancellationToken) is { } failed) Fail(failed, ex, cancellationToken);
                throw;
            }
            record = BeginInFlight(route, scope, start, cancellationToken);
        }
        else
        {
            record = Begin(route, scope, start);
            if (record is not null)
            {
                await CaptureRequestBody(start.Content, start.DeclaredLength, record, cancellationToken).ConfigureAwait(false);
                StartSpan(request, record); // current for the inner handlers, so HttpClient's own span nests under it
            }
            try
            {
                pending = base.SendAsync(request, cancellationToken);
            }
            catch (Exception ex) when (record is not null)
            {
                Fail(record, ex, cancellationToken);
                throw;
            }
        }
        HttpResponseMessage response;
        try
        {
            response = await pending.ConfigureAwait(false);
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

    /// <summary>
    /// What is taken before the request leaves: its start, the caller's span, and the body and its declared length. The
    /// inner handlers read (and may change) the request as they send it, and <see cref="HttpHeaders"/> are not safe to
    /// read alongside that; once these are taken, nothing of the request but an in-memory body's bytes is read until the
    /// call has ended. The headers are kept by reference and read when the payload is built (<see cref="CallHeaders"/>).
    /// </summary>
    /// <param name="Time">The call's start, for its ID and payload.</param>
    /// <param name="Timestamp">The call's start on the timestamp clock, for its timings.</param>
    /// <param name="Parent">The caller's span: the call's trace and parent span.</param>
    /// <param name="Headers">The request's headers, read after the call (API key and attempt).</param>
    /// <param name="Content">The body to copy: null when there is none, or when its declared length is over the cap (<see cref="Begin"/> notes that).</param>
    /// <param name="DeclaredLength">The body's length as declared or computed, read before the send.</param>
    /// <param name="InFlight">Whether the record can be made and the body copied after the request has left: the body is bytes in memory (or there is none) and no span has to be current for the inner handlers.</param>
    private readonly record struct CallStart(
        DateTimeOffset Time,
        long Timestamp,
        Activity? Parent,
        HttpRequestHeaders Headers,
        HttpContent? Content,
        long? DeclaredLength,
        bool InFlight);

    private CallStart? Start(HttpRequestMessage request)
    {
        try
        {
            var time = _time.GetUtcNow();
            var timestamp = _time.GetTimestamp();
            var content = request.Content;
            var declared = content?.Headers.ContentLength;
            if (declared > _options.MaxRequestCaptureBytes) content = null; // not read at all; Begin notes it
            var inMemory = content is null || IsBytesInMemory(content);
            return new CallStart(time, timestamp, Activity.Current, request.Headers, content, declared,
                InFlight: inMemory && !LlmTelemetry.Source.HasListeners());
        }
        catch (Exception ex)
        {
            LogCaptureFailed(_logger, ex);
            return null;
        }
    }

    /// <summary>The record of a call whose request has left (<see cref="CallStart.InFlight"/>), with its body copied.</summary>
    private CallRecord? BeginInFlight(ProviderRoute route, LlmObservabilityScope? scope, in CallStart start, CancellationToken cancellationToken)
    {
        var record = Begin(route, scope, start);
        if (record is not null && start.Content is { } content) CopyInMemoryBody(content, start.DeclaredLength, record, cancellationToken);
        // A request that asks for a stream gets the buffer for the stream's reads now: renting it, and bringing its lines
        // into this core's cache, then cost the reads nothing (~0.8 µs of a streamed call over loopback).
        if (record?.RequestBody is { } body && AsksForStream(body.Span)) record.StreamBuffer = DeferredStream.PrepareBuffer();
        return record;
    }

    private CallRecord? Begin(ProviderRoute route, LlmObservabilityScope? scope, in CallStart start)
    {
        try
        {
            var record = new CallRecord(route)
            {
                Id = CallIds.New(start.Time),
                StartTime = start.Time,
                StartTimestamp = start.Timestamp,
                TimestampFrequency = _time.TimestampFrequency,
                Scope = scope,
                RequestHeaders = start.Headers,
            };
            if (start.Parent is { IdFormat: ActivityIdFormat.W3C } parent)
            {
                record.TraceId = parent.TraceId.ToHexString();
                record.ParentSpanId = parent.SpanId.ToHexString();
            }
            else
            {
                record.NewTraceId();
            }
            record.NewSpanId();
            if (start.DeclaredLength > _options.MaxRequestCaptureBytes)
            {
                record.AddNote($"request body of {start.DeclaredLength} bytes is over the capture cap of {_options.MaxRequestCaptureBytes}; not read");
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
    /// <see cref="ReadOnlyMemoryContent"/>) can be sent again as it is, so it is copied once, straight from its bytes
    /// (<see cref="CopyInMemoryBody"/>); other content is buffered first (so that it can still be sent) and copied from
    /// that buffer. A body whose declared length is over the cap is not read at all (<see cref="Begin"/> notes it).
    /// <paramref name="declared"/> is the length <see cref="Start"/> read; a buffered body's is read again.
    /// </summary>
    private async Task CaptureRequestBody(HttpContent? content, long? declared, CallRecord record, CancellationToken cancellationToken)
    {
        if (content is null) return;
        if (IsBytesInMemory(content))
        {
            CopyInMemoryBody(content, declared, record, cancellationToken);
            return;
        }
        // A failure here is the content's own (it would fail the same way when sent), so it propagates.
        await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        var copy = NewRequestCopy(content.Headers.ContentLength);
        try
        {
            await content.CopyToAsync(copy, cancellationToken).ConfigureAwait(false);
            KeepRequestCopy(copy, record);
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

    /// <summary>
    /// Copies a body that is bytes in memory, synchronously: such content only writes its bytes out, so this is safe
    /// while the inner handler sends the same content. Its length was read in <see cref="Start"/>, before the send.
    /// Nothing is thrown: in flight, the request has left and its outcome is the caller's to get.
    /// </summary>
    private void CopyInMemoryBody(HttpContent content, long? length, CallRecord record, CancellationToken cancellationToken)
    {
        var copy = NewRequestCopy(length);
        try
        {
            content.CopyTo(copy, null, cancellationToken);
            KeepRequestCopy(copy, record);
        }
        catch (Exception ex)
        {
            record.AddNote($"request body could not be read: {ex.GetType().Name}");
        }
        finally
        {
            copy.Dispose();
        }
    }

    private CaptureWriteStream NewRequestCopy(long? length) =>
        new((int)Math.Clamp(length ?? 0, 0, _options.MaxRequestCaptureBytes), _options.MaxRequestCaptureBytes);

    private void KeepRequestCopy(CaptureWriteStream copy, CallRecord record)
    {
        if (copy.OverCap) record.AddNote($"request body of {copy.Written} bytes is over the capture cap of {_options.MaxRequestCaptureBytes}; not kept");
        else if (copy.TakeBuffer() is { } buffer) record.SetPooledRequestBody(buffer, (int)copy.Written);
        else record.RequestBody = ReadOnlyMemory<byte>.Empty;
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
            record.ResponseHeaders = response.Headers; // read when the payload is built
            if (_options.AddCallIdResponseHeader) response.Headers.TryAddWithoutValidation(CallIdHeader, record.Id);

            var content = response.Content;
            var observed = new ObservedContent(content); // copies the headers, reading the ones used here on the way
            var facts = observed.Facts;
            record.ContentEncoding = facts.ContentEncoding(content.Headers);
            var framing = response.IsSuccessStatusCode ? record.Route.Adapter.StreamFramingFor(facts.MediaType) : StreamFraming.None;
            var identity = record.ContentEncoding is null || record.ContentEncoding.Equals("identity", StringComparison.OrdinalIgnoreCase);
            // An encoded whole body is kept and decoded off the caller's path instead of being skimmed.
            if (framing == StreamFraming.SkimmedJson && !identity) framing = StreamFraming.None;
            record.IsEventStream = framing is not (StreamFraming.None or StreamFraming.SkimmedJson);

            // The stream's parser is made when the payload is built, from the adapter and these caps.
            var parseWith = framing != StreamFraming.None && identity ? _limits : null;
            if (framing != StreamFraming.None && !identity)
            {
                record.AddNote($"stream is {record.ContentEncoding}-encoded (enable automatic decompression on the inner handler to parse it)");
            }
            var priceNow = _options.AddCostResponseHeader && onComplete is not null && response.IsSuccessStatusCode && !record.IsEventStream;
            var capture = new ResponseCapture(record, parseWith, framing, _options.MaxResponseCaptureBytes, facts.Length(content.Headers), _time, priceNow ? onComplete! : _enqueue);
            response.Content = observed.Watch(capture);
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
    /// Whether a JSON request body says <c>"stream": true</c> (OpenAI, Anthropic and the compatible APIs). A false
    /// positive costs a buffer that goes back unused; streams chosen by the URL (Gemini, Bedrock) are not looked for.
    /// </summary>
    internal static bool AsksForStream(ReadOnlySpan<byte> body)
    {
        ReadOnlySpan<byte> whitespace = " \t\r\n"u8;
        for (var at = body.IndexOf("\"stream\""u8); at >= 0; at = body.IndexOf("\"stream\""u8))
        {
            body = body[(at + "\"stream\""u8.Length)..];
            var value = body.TrimStart(whitespace);
            if (value.StartsWith(":"u8) && value[1..].TrimStart(whitespace).StartsWith("true"u8)) return true;
        }
        return false;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "LlmObservability failed to capture a call; the call itself is unaffected.")]
    private static partial void LogCaptureFailed(ILogger logger, Exception exception);
}
