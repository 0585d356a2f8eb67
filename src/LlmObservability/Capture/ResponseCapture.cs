using System.Text.Json;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>
/// Watches the bytes of one response as the caller reads them: stamps the first byte, keeps each read of a stream with
/// its time (<see cref="DeferredStream"/>: it is cut into events and parsed by the adapter's parser when the payload is
/// built, and the first content-bearing event's time is the TTFT), keeps a capped copy of whole bodies, and hands
/// the record over exactly once when the body ends, fails, is cancelled or is disposed. Nothing here may throw into the
/// caller: a framing problem turns capture off for the rest of the response and leaves a note in the record.
/// </summary>
#pragma warning disable CA1001 // the skimmer is disposed by Complete, which every end of a response reaches (see ObservingStream)
internal sealed class ResponseCapture : IStreamEventHandler
#pragma warning restore CA1001
{
    private readonly CallRecord _record;
    private readonly TimeProvider _time;
    private readonly int _bodyCap;
    private readonly Action<CallRecord> _onComplete;
    private readonly long? _contentLength;
    private JsonSkimmer? _skimmer; // the one framer that runs as the bytes come: it keeps no copy of a body of any size
    private readonly DeferredStream? _events;
    private long _bytesSeen;
    private bool _done;
    private long _readTimestamp;
    private readonly bool _wholeBody; // not a stream: the first byte is the first token

    /// <param name="record">The call.</param>
    /// <param name="parseWith">The caps for the adapter's stream parser; null when the stream is not to be parsed (it is encoded).</param>
    /// <param name="framing">How the body is cut into events (<see cref="StreamFraming.None"/>: a whole body).</param>
    /// <param name="bodyCap">Most bytes of a whole body kept.</param>
    /// <param name="contentLength">The declared length, to tell a disposed body that was read whole.</param>
    /// <param name="time">The clock.</param>
    /// <param name="onComplete">Where the record goes when the body ends.</param>
    public ResponseCapture(CallRecord record, CaptureLimits? parseWith, StreamFraming framing, int bodyCap, long? contentLength, TimeProvider time, Action<CallRecord> onComplete)
    {
        _record = record;
        if (parseWith is not null && framing != StreamFraming.None)
        {
            _events = new DeferredStream(record, parseWith, framing);
            if (framing == StreamFraming.SkimmedJson) _skimmer = new JsonSkimmer(this);
        }
        _wholeBody = framing is StreamFraming.None or StreamFraming.SkimmedJson;
        _bodyCap = bodyCap;
        _contentLength = contentLength;
        _time = time;
        _onComplete = onComplete;
    }

    public void OnBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        lock (_record.Gate)
        {
            if (_done) return;
            _bytesSeen += bytes.Length;
            try
            {
                if (_events is null)
                {
                    // A whole body: kept (capped) and parsed when the payload is built; its first byte is the first token.
                    if (_record.FirstByteTimestamp is null) _record.FirstByteTimestamp = _record.FirstContentTimestamp = _time.GetTimestamp();
                    _record.AppendResponseBody(bytes, _bodyCap, _contentLength);
                    return;
                }
                var now = _time.GetTimestamp();
                if (_record.FirstByteTimestamp is null)
                {
                    _record.FirstByteTimestamp = now;
                    if (_wholeBody) _record.FirstContentTimestamp = now;
                }
                if (_skimmer is not null)
                {
                    _readTimestamp = now;
                    _skimmer.Feed(bytes);
                }
                else
                {
                    // Only copied, with the read's time: framed and parsed when the payload is built.
                    _events.AddRead(bytes, now);
                }
            }
            catch (Exception ex)
            {
                // Our bug, not the caller's problem: stop parsing, keep forwarding.
                _record.AddNote($"response capture stopped: {ex.GetType().Name}: {ex.Message}");
                _skimmer?.Dispose();
                _skimmer = null;
                _events?.Detach();
            }
        }
    }

    /// <summary>The skimmer's one small event (it has no type): copied with the time of the read that completed it, parsed when the payload is built.</summary>
    void IStreamEventHandler.OnEvent(string? eventType, ReadOnlyMemory<byte> data) => _events!.Add(data, _readTimestamp);

    /// <summary>Records how the response ended and enqueues the record; later calls do nothing.</summary>
    public void Complete(CallEnd end, Exception? exception = null)
    {
        // Every end of a response comes here, most of them after the first (the zero-byte read, then the stream's and the
        // content's disposal): once done, they return without taking the lock. _done only ever goes from false to true.
        if (Volatile.Read(ref _done)) return;
        lock (_record.Gate)
        {
            if (_done) return;
            Volatile.Write(ref _done, true);
            _record.EndTimestamp = _time.GetTimestamp();
            _record.End = end;
            _record.Exception = exception;
            if (_events is { } events)
            {
                // Framed and parsed when the payload is built; whether a disposed stream was complete is known only then.
                _record.PendingStream = new PendingStream(events, _skimmer?.OversizedEvents ?? 0, end, LooksCompleteByLength());
            }
            else if (end == CallEnd.Disposed && LooksCompleteByLength())
            {
                _record.End = CallEnd.Completed;
            }
            _skimmer?.Dispose();
            _skimmer = null;
        }
        try
        {
            _onComplete(_record);
        }
        catch (Exception)
        {
            // The hand-over does not throw (the dispatcher counts what it refuses; the priced path logs its own failures).
            // This keeps a bug in it from ever surfacing in the caller's read, dispose or (worse) a continuation on the
            // thread pool, where an exception would end the process.
        }
    }

    /// <summary>The body failed: cancelled when the caller's token asked for it, otherwise an exception.</summary>
    public void Fail(Exception exception, CancellationToken cancellationToken) =>
        Complete(exception is OperationCanceledException && cancellationToken.IsCancellationRequested ? CallEnd.Cancelled : CallEnd.Exception, exception);

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

/// <summary>A finished stream whose reads are still to be framed and parsed, with what its end decided on the caller's path.</summary>
internal sealed class PendingStream(DeferredStream events, int oversizedEvents, CallEnd end, bool completeByLength)
{
    /// <summary>
    /// Frames and parses the reads into the record (on the dispatcher's loop) and settles how the call ended: a caller
    /// may stop reading once it has what it needs (SDKs stop at <c>[DONE]</c>) and dispose without the final zero-byte
    /// read, which is a complete response when the parser saw the stream's end marker.
    /// </summary>
    public void Finish(CallRecord record)
    {
        var sawEnd = events.Finish(end == CallEnd.Completed, oversizedEvents);
        if (end == CallEnd.Disposed && record.End == CallEnd.Disposed && (sawEnd ?? completeByLength)) record.End = CallEnd.Completed;
    }

    /// <summary>Gives the buffers back without parsing.</summary>
    public void Release() => events.Release();
}
