using System.Buffers;
using System.Text.Json;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>How a response ended, as far as the handler could see.</summary>
internal enum CallEnd
{
    /// <summary>Still in progress.</summary>
    Pending,

    /// <summary>The body was read to its end.</summary>
    Completed,

    /// <summary>The request or the body read threw.</summary>
    Exception,

    /// <summary>The caller cancelled the request or a read.</summary>
    Cancelled,

    /// <summary>The caller disposed the response before its end.</summary>
    Disposed,
}

/// <summary>
/// The raw, mutable facts of one call, gathered on the caller's path (request bytes, response bytes or streamed
/// deltas, timestamps) and turned into an immutable <see cref="StandardLoggingPayload"/> by <see cref="PayloadBuilder"/>
/// on the dispatcher's loop. Touched by one thread at a time: the response stream's reads and its completion are
/// serialised by <see cref="Gate"/>, and the enqueue hands it over to the dispatcher.
/// </summary>
internal sealed class CallRecord : PendingRecord
{
    public CallRecord(ProviderRoute route) => Route = route;

    public ProviderRoute Route { get; }

    public Lock Gate { get; } = new();

    // identity and context
    public required string Id { get; init; }
    // W3C IDs: an Activity's are text already; the handler's own are random bits written as hex only when the payload
    // is built (CallIds.NewW3CBits), so the caller's path formats no string for them.
    private string? _traceId;
    private UInt128 _traceBits;
    private string? _spanId;
    private ulong _spanBits;

    public string? TraceId
    {
        get => _traceId ??= _traceBits == UInt128.Zero ? null : CallIds.Hex(_traceBits, 16);
        set => (_traceId, _traceBits) = (value, UInt128.Zero);
    }

    public string? SpanId
    {
        get => _spanId ??= _spanBits == 0 ? null : CallIds.Hex(_spanBits, 8);
        set => (_spanId, _spanBits) = (value, 0);
    }

    public string? ParentSpanId { get; set; }

    /// <summary>Gives the call a new random trace ID.</summary>
    public void NewTraceId() => (_traceId, _traceBits) = (null, CallIds.NewW3CBits(16));

    /// <summary>Gives the call a new random span ID.</summary>
    public void NewSpanId() => (_spanId, _spanBits) = (null, (ulong)CallIds.NewW3CBits(8));

    public int Attempt { get; set; } = 1;
    public LlmObservabilityScope? Scope { get; set; }
    /// <summary>The API key, a slice of its request header's string (empty when none); read and described when the payload is built.</summary>
    public ReadOnlyMemory<char> ApiKey { get; set; }

    /// <summary>The request's headers, kept by reference on the caller's path and read (<see cref="CallHeaders"/>) when the payload is built.</summary>
    public System.Net.Http.Headers.HttpRequestHeaders? RequestHeaders { get; set; }

    /// <summary>The response's headers, kept by reference on the caller's path and read (<see cref="CallHeaders"/>) when the payload is built.</summary>
    public System.Net.Http.Headers.HttpResponseHeaders? ResponseHeaders { get; set; }

    /// <summary>The call's span, when something listens to <see cref="Telemetry.LlmTelemetry.SourceName"/>; ended by the dispatcher.</summary>
    public System.Diagnostics.Activity? Activity { get; set; }

    /// <summary>Seconds between consecutive content chunks of a stream (for time_per_output_chunk).</summary>
    public List<double>? ChunkIntervals { get; set; }

    // timing (TimeProvider timestamps)
    public DateTimeOffset StartTime { get; set; }
    public long StartTimestamp { get; set; }

    /// <summary>Ticks per second of the clock that took the timestamps (the handler's TimeProvider).</summary>
    public long TimestampFrequency { get; init; } = TimeProvider.System.TimestampFrequency;
    public long? FirstByteTimestamp { get; set; }
    public long? FirstContentTimestamp { get; set; }
    public long EndTimestamp { get; set; }

    // request
    /// <summary>The request body as sent (null: not captured). Its bytes may be pooled: valid until <see cref="Release"/>.</summary>
    public ReadOnlyMemory<byte>? RequestBody { get; set; }

    private byte[]? _pooledRequestBody;

    /// <summary>Keeps the first <paramref name="length"/> bytes of a buffer rented from <see cref="CapturePool"/>; returned on <see cref="Release"/>.</summary>
    public void SetPooledRequestBody(byte[] buffer, int length)
    {
        if (_pooledRequestBody is not null) CapturePool.Bytes.Return(_pooledRequestBody);
        _pooledRequestBody = buffer;
        RequestBody = buffer.AsMemory(0, length);
    }
    public List<string>? Notes { get; private set; }

    // request, as parsed by the adapter
    public string? RequestedModel { get; set; }
    public bool Stream { get; set; }
    public Dictionary<string, JsonElement>? ModelParameters { get; set; }
    public List<LlmMessage>? Messages { get; set; }

    // response envelope
    public int? HttpStatus { get; set; }
    public string? RequestId { get; set; }
    public Dictionary<string, string>? RateLimit { get; set; }
    public string? ContentEncoding { get; set; }
    public bool IsEventStream { get; set; }

    /// <summary>A streamed body's events, copied on the caller's path and parsed when the payload is built.</summary>
    public PendingStream? PendingStream { get; set; }
    public byte[]? ResponseBody { get; private set; }
    public int ResponseBodyLength { get; private set; }
    public bool ResponseBodyTruncated { get; private set; }

    // response, as parsed by the adapter
    public string? ResponseId { get; set; }
    public string? ResponseModel { get; set; }
    public TextAccumulator? OutputText { get; set; }
    public TextAccumulator? ReasoningText { get; set; }
    public TextAccumulator? RefusalText { get; set; }
    public ToolCallAccumulator? ToolCalls { get; set; }
    public List<string>? FinishReasons { get; set; }
    public long? PromptTokens { get; set; }
    public long? CompletionTokens { get; set; }
    public long? TotalTokens { get; set; }
    public long? CachedPromptTokens { get; set; }
    public long? CacheCreationTokens { get; set; }

    /// <summary>The part of <see cref="CacheCreationTokens"/> written with a one-hour cache lifetime, where priced apart.</summary>
    public long? CacheCreation1hTokens { get; set; }

    /// <summary>The service tier the response names: default, flex, priority, batch, ... (the request's is in <see cref="ModelParameters"/>).</summary>
    public string? ServiceTier { get; set; }

    /// <summary>The inference speed the response names (Anthropic's <c>usage.speed</c>: <c>standard</c> or <c>fast</c>).</summary>
    public string? Speed { get; set; }
    public long? ReasoningTokens { get; set; }

    /// <summary>
    /// The token counts with the provider's accounting (<see cref="ProviderAdapter.ToUsage"/>), taken once when the
    /// payload is built (after any estimate) for its price, then for the span's and the metrics' totals. Null: no usage.
    /// </summary>
    public Pricing.LlmUsage? Usage { get; set; }

    // outcome
    public CallEnd End { get; set; }
    public Exception? Exception { get; set; }
    public string? ErrorType { get; set; }
    public string? ErrorMessage { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorBody { get; set; }

    public void AddNote(string note) => (Notes ??= []).Add(note);

    public TextAccumulator Output(int maxChars) => OutputText ??= new TextAccumulator(maxChars);

    public void AddFinishReason(string? reason)
    {
        if (string.IsNullOrEmpty(reason)) return;
        (FinishReasons ??= []).Add(reason);
    }

    /// <summary>
    /// Keeps a copy of response body bytes up to the cap, in a buffer from <see cref="CapturePool"/> (sized from
    /// Content-Length when known) that <see cref="Release"/> returns once the payload is built.
    /// </summary>
    public void AppendResponseBody(ReadOnlySpan<byte> bytes, int cap, long? expectedLength = null)
    {
        if (ResponseBodyTruncated) return;
        var room = cap - ResponseBodyLength;
        if (bytes.Length > room)
        {
            ResponseBodyTruncated = true;
            bytes = bytes[..Math.Max(room, 0)];
        }
        if (bytes.IsEmpty) return;
        var needed = ResponseBodyLength + bytes.Length;
        if (ResponseBody is null || ResponseBody.Length < needed)
        {
            var size = ResponseBody is null && expectedLength is long expected && expected >= needed && expected <= cap
                ? (int)expected
                : Math.Min(cap, Math.Max(needed, Math.Max(1024, (ResponseBody?.Length ?? 0) * 2)));
            var bigger = CapturePool.Bytes.Rent(size);
            if (ResponseBody is not null)
            {
                ResponseBody.AsSpan(0, ResponseBodyLength).CopyTo(bigger);
                CapturePool.Bytes.Return(ResponseBody);
            }
            ResponseBody = bigger;
        }
        bytes.CopyTo(ResponseBody.AsSpan(ResponseBodyLength));
        ResponseBodyLength = needed;
    }

    public ReadOnlyMemory<byte> ResponseBodyMemory => ResponseBody is null ? default : ResponseBody.AsMemory(0, ResponseBodyLength);

    public override StandardLoggingPayload Build(PayloadBuilder builder) => builder.Build(this);

    public override void OnBuilt(StandardLoggingPayload payload, Telemetry.LlmMetrics metrics, bool captureContent)
    {
        // The conventions' token counts include cache reads and writes (Anthropic and Bedrock count them beside the prompt)
        // and reasoning (Gemini counts it beside the output); the payload keeps each provider's own counts.
        var tokens = new Telemetry.TokenTotals(
            PromptTokens is null ? null : Usage?.TotalInputTokens,
            CompletionTokens is null ? null : Usage?.TotalOutputTokens);
        metrics.Record(payload, tokens, ChunkIntervals);
        if (Activity is { } activity)
        {
            Activity = null;
            Telemetry.CallSpan.Finish(activity, payload, tokens, captureContent && payload.Messages is not null);
        }
    }

    /// <summary>
    /// The buffer for the stream's reads, prepared while the request was in flight because it asked for a stream
    /// (<see cref="DeferredStream.PrepareBuffer"/>); the stream takes it at its first read, <see cref="Release"/> returns it
    /// when no stream came.
    /// </summary>
    public byte[]? StreamBuffer { get; set; }

    public override void Release()
    {
        // A record dropped before it was built still ends its span, so nothing is left open.
        Activity?.Stop();
        Activity = null;
        if (ResponseBody is not null) CapturePool.Bytes.Return(ResponseBody);
        ResponseBody = null;
        ResponseBodyLength = 0;
        if (_pooledRequestBody is not null) CapturePool.Bytes.Return(_pooledRequestBody);
        _pooledRequestBody = null;
        RequestBody = null;
        PendingStream?.Release();
        PendingStream = null;
        if (StreamBuffer is not null) CapturePool.Bytes.Return(StreamBuffer);
        StreamBuffer = null;
        OutputText?.Release();
        ReasoningText?.Release();
        RefusalText?.Release();
        ToolCalls?.Release();
    }
}

/// <summary>
/// A string builder with a cap: text past the cap is counted, not kept. A text that arrives in one piece (a whole
/// response body's content) is kept as the string it is; pieces (stream deltas) go into a buffer from
/// <see cref="ArrayPool{T}.Shared"/>, so the only string made is the final one. <see cref="ToString"/> materializes the
/// text and gives the buffer back; <see cref="Release"/> gives it back without.
/// </summary>
internal sealed class TextAccumulator(int maxChars)
{
    private string? _text;   // the text so far while it is one string (one piece, or materialized by ToString)
    private byte[]? _utf8;   // the text so far while it is one piece read as UTF-8 (see Utf8Text)
    private char[]? _buffer; // the text so far once a second piece arrived
    private int _length;

    public bool Truncated { get; private set; }

    public int Length => _length;

    public void Append(string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        if (_length == 0 && text.Length <= maxChars)
        {
            _text = text;
            _length = text.Length;
            return;
        }
        Append(text.AsSpan());
    }

    /// <summary>Appends valid UTF-8 text (from <see cref="Utf8Text"/>); kept as it is when it is the only piece.</summary>
    public void AppendUtf8(byte[] utf8)
    {
        if (utf8.Length == 0) return;
        // At most one char per byte: a first piece no longer in bytes than the cap is under the cap in chars.
        if (_length == 0 && utf8.Length <= maxChars)
        {
            _utf8 = utf8;
            _length = System.Text.Encoding.UTF8.GetCharCount(utf8);
            return;
        }
        Append(System.Text.Encoding.UTF8.GetString(utf8));
    }

    public void Append(ReadOnlySpan<char> text)
    {
        var room = maxChars - _length;
        if (text.Length > room)
        {
            Truncated = true;
            text = text[..Math.Max(room, 0)];
        }
        if (text.IsEmpty) return;
        var needed = _length + text.Length;
        if (_buffer is null || _buffer.Length < needed)
        {
            var bigger = ArrayPool<char>.Shared.Rent(Math.Min(maxChars, Math.Max(needed, Math.Max(256, (_buffer?.Length ?? 0) * 2))));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, _length).CopyTo(bigger);
                ArrayPool<char>.Shared.Return(_buffer);
            }
            else if (_utf8 is not null)
            {
                System.Text.Encoding.UTF8.GetChars(_utf8, bigger);
                _utf8 = null;
            }
            else
            {
                _text.AsSpan().CopyTo(bigger);
            }
            _buffer = bigger;
            _text = null;
        }
        text.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    /// <summary>
    /// The whole text as UTF-8 when it can be handed out so (not cut at the cap, not already made a string, no lone
    /// surrogate); null otherwise, and the caller uses <see cref="ToString"/>. Releases the pooled buffer.
    /// </summary>
    public byte[]? ToUtf8()
    {
        if (Truncated || _text is not null) return null;
        if (_buffer is not null && Utf8Text.FromChars(_buffer.AsSpan(0, _length)) is { } encoded)
        {
            _utf8 = encoded;
            Release();
        }
        return _buffer is null ? _utf8 : null;
    }

    public override string ToString()
    {
        if (_buffer is not null)
        {
            _text = new string(_buffer, 0, _length);
            Release();
        }
        else if (_text is null && _utf8 is not null)
        {
            _text = System.Text.Encoding.UTF8.GetString(_utf8);
            _utf8 = null;
        }
        var text = _text ?? string.Empty;
        return Truncated ? text + "…[truncated]" : text;
    }

    /// <summary>Gives the pooled buffer back (the text is then lost unless <see cref="ToString"/> or <see cref="ToUtf8"/> kept it).</summary>
    public void Release()
    {
        if (_buffer is null) return;
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = null;
    }
}

/// <summary>Assembles tool calls whose id, name and arguments arrive in pieces across stream deltas, keyed by index.</summary>
internal sealed class ToolCallAccumulator(int maxChars)
{
    private readonly List<(int Index, Builder Call)> _calls = [];

    public int Count => _calls.Count;

    public Builder this[int index]
    {
        get
        {
            foreach (var (i, call) in _calls)
            {
                if (i == index) return call;
            }
            var created = new Builder(maxChars);
            _calls.Add((index, created));
            return created;
        }
    }

    public Builder Add() => this[_calls.Count == 0 ? 0 : _calls[^1].Index + 1];

    public void Release()
    {
        foreach (var (_, call) in _calls) call.Arguments.Release();
    }

    public List<LlmToolCall> ToList()
    {
        var list = new List<LlmToolCall>(_calls.Count);
        foreach (var (_, call) in _calls.OrderBy(c => c.Index))
        {
            list.Add(new LlmToolCall { Id = call.Id, Type = call.Type ?? "function", Name = call.Name, Arguments = call.Arguments.ToString() });
        }
        return list;
    }

    internal sealed class Builder(int maxChars)
    {
        public string? Id { get; set; }
        public string? Type { get; set; }
        public string? Name { get; set; }
        public TextAccumulator Arguments { get; } = new(maxChars);
    }
}
