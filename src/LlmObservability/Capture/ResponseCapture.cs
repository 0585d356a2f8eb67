using System.Text.Json;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>
/// Watches the bytes of one response as the caller reads them: stamps the first byte, cuts streams into events and
/// keeps each with the time of its read (<see cref="DeferredStream"/>: the adapter's parser reads them when the payload
/// is built, and the first content-bearing event's time is the TTFT), keeps a capped copy of whole bodies, and hands
/// the record over exactly once when the body ends, fails, is cancelled or is disposed. Nothing here may throw into the
/// caller: a framing problem turns capture off for the rest of the response and leaves a note in the record.
/// </summary>
internal sealed class ResponseCapture : IStreamEventHandler
{
    private readonly CallRecord _record;
    private readonly TimeProvider _time;
    private readonly int _bodyCap;
    private readonly Action<CallRecord> _onComplete;
    private readonly long? _contentLength;
    private IStreamFramer? _sse;
    private DeferredStream? _events;
    private long _bytesSeen;
    private bool _done;
    private long _readTimestamp;
    private bool _readStamped;
    private readonly bool _wholeBody; // not a stream: the first byte is the first token

    public ResponseCapture(CallRecord record, StreamParser? streamParser, StreamFraming framing, int bodyCap, long? contentLength, TimeProvider time, Action<CallRecord> onComplete)
    {
        _record = record;
        _sse = streamParser is null ? null : framing switch
        {
            StreamFraming.ServerSentEvents => new SseReader(this),
            StreamFraming.NewlineDelimitedJson => new NdjsonReader(this),
            StreamFraming.AwsEventStream => new AwsEventStreamReader(this),
            StreamFraming.SkimmedJson => new JsonSkimmer(this),
            _ => null,
        };
        _wholeBody = framing is StreamFraming.None or StreamFraming.SkimmedJson;
        if (_sse is not null) _events = new DeferredStream(record, streamParser!);
        _bodyCap = bodyCap;
        _contentLength = contentLength;
        _time = time;
        _onComplete = onComplete;
    }

    public bool IsCompleted
    {
        get
        {
            lock (_record.Gate) return _done;
        }
    }

    public void OnBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        lock (_record.Gate)
        {
            if (_done) return;
            _bytesSeen += bytes.Length;
            _readStamped = false;
            if (_record.FirstByteTimestamp is null)
            {
                var now = _time.GetTimestamp();
                _record.FirstByteTimestamp = now;
                _readTimestamp = now;
                _readStamped = true;
                if (_sse is null || _wholeBody) _record.FirstContentTimestamp = now;
            }
            try
            {
                if (_sse is not null) _sse.Feed(bytes);
                else _record.AppendResponseBody(bytes, _bodyCap, _contentLength);
            }
            catch (Exception ex)
            {
                // Our bug, not the caller's problem: stop parsing, keep forwarding.
                _record.AddNote($"response capture stopped: {ex.GetType().Name}: {ex.Message}");
                _sse?.Dispose();
                _sse = null;
                _events?.Detach();
            }
        }
    }

    /// <summary>
    /// One framed event: only copied, with the time of the read that completed it; the parser reads it when the payload
    /// is built (<see cref="DeferredStream"/>), so the caller's read does not wait for JSON parsing.
    /// </summary>
    void IStreamEventHandler.OnEvent(string? eventType, ReadOnlyMemory<byte> data)
    {
        if (!_readStamped)
        {
            _readTimestamp = _time.GetTimestamp();
            _readStamped = true;
        }
        _events!.Add(eventType, data, _readTimestamp);
    }

    /// <summary>Records how the response ended and enqueues the record; later calls do nothing.</summary>
    public void Complete(CallEnd end, Exception? exception = null)
    {
        lock (_record.Gate)
        {
            if (_done) return;
            _done = true;
            _record.EndTimestamp = _time.GetTimestamp();
            if (end == CallEnd.Completed && _sse is NdjsonReader ndjson) FinishQuietly(ndjson);
            _record.End = end;
            _record.Exception = exception;
            if (_events is { } events)
            {
                // Parsed when the payload is built; whether a disposed stream was complete is known only then.
                _record.PendingStream = new PendingStream(events, _sse?.OversizedEvents ?? 0, end == CallEnd.Disposed, LooksCompleteByLength());
            }
            else if (end == CallEnd.Disposed && LooksCompleteByLength())
            {
                _record.End = CallEnd.Completed;
            }
            _sse?.Dispose();
            _sse = null;
        }
        _onComplete(_record);
    }

    private void FinishQuietly(NdjsonReader reader)
    {
        try
        {
            _events?.MarkFinalEvents();
            reader.Finish();
        }
        catch (Exception ex)
        {
            _record.AddNote($"stream parser failed at end: {ex.GetType().Name}");
        }
    }

    /// <summary>
    /// A caller may stop reading once it has what it needs (SDKs stop at <c>[DONE]</c>) and dispose without the final
    /// zero-byte read: that is a complete response, not an aborted one.
    /// </summary>
    /// <remarks>
    /// With a stream parser, its <see cref="StreamParser.SawEnd"/> decides (see <see cref="PendingStream"/>); without
    /// one, the declared length does.
    /// </remarks>
    private bool LooksCompleteByLength()
    {
        if (_contentLength is long length) return _bytesSeen >= length;
        return false; // unknown length: the builder decides from whether the body parses
    }
}

/// <summary>A finished stream whose events are still to be parsed, with what its end decided on the caller's path.</summary>
internal sealed class PendingStream(DeferredStream events, int oversizedEvents, bool disposed, bool completeByLength)
{
    /// <summary>
    /// Parses the events into the record (on the dispatcher's loop) and settles how the call ended: a caller may stop
    /// reading once it has what it needs (SDKs stop at <c>[DONE]</c>) and dispose without the final zero-byte read, which
    /// is a complete response when the parser saw the stream's end marker.
    /// </summary>
    public void Finish(CallRecord record)
    {
        var sawEnd = events.Finish(oversizedEvents);
        if (disposed && record.End == CallEnd.Disposed && (sawEnd ?? completeByLength)) record.End = CallEnd.Completed;
    }

    /// <summary>Gives the buffer back without parsing.</summary>
    public void Release() => events.Return();
}
