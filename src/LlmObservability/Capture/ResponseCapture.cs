using System.Text.Json;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>
/// Watches the bytes of one response as the caller reads them: stamps the first byte and the first content-bearing
/// event, feeds SSE streams to the adapter's parser, keeps a capped copy of whole bodies, and hands the record over
/// exactly once when the body ends, fails, is cancelled or is disposed. Nothing here may throw into the caller: a
/// parsing problem turns capture off for the rest of the response and leaves a note in the record.
/// </summary>
internal sealed class ResponseCapture : IStreamEventHandler
{
    private readonly CallRecord _record;
    private readonly TimeProvider _time;
    private readonly int _bodyCap;
    private readonly Action<CallRecord> _onComplete;
    private readonly long? _contentLength;
    private IStreamFramer? _sse;
    private StreamParser? _parser;
    private long _bytesSeen;
    private int _badEvents;
    private bool _done;
    private long _lastContentTimestamp;
    private const int MaxChunkIntervals = 100_000;
    private readonly bool _wholeBody; // not a stream: the first byte is the first token

    public ResponseCapture(CallRecord record, StreamParser? streamParser, StreamFraming framing, int bodyCap, long? contentLength, TimeProvider time, Action<CallRecord> onComplete)
    {
        _record = record;
        _parser = streamParser;
        _sse = streamParser is null ? null : framing switch
        {
            StreamFraming.ServerSentEvents => new SseReader(this),
            StreamFraming.NewlineDelimitedJson => new NdjsonReader(this),
            StreamFraming.AwsEventStream => new AwsEventStreamReader(this),
            StreamFraming.SkimmedJson => new JsonSkimmer(this),
            _ => null,
        };
        _wholeBody = framing is StreamFraming.None or StreamFraming.SkimmedJson;
        if (_sse is null) _parser = null;
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
            if (_record.FirstByteTimestamp is null)
            {
                var now = _time.GetTimestamp();
                _record.FirstByteTimestamp = now;
                if ((_sse is null && _parser is null) || _wholeBody) _record.FirstContentTimestamp = now;
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
                _parser = null;
            }
        }
    }

    void IStreamEventHandler.OnEvent(string? eventType, ReadOnlyMemory<byte> data)
    {
        var parser = _parser!;
        try
        {
            parser.OnEvent(eventType, data);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            _badEvents++;
            return;
        }
        if (!parser.LastEventHadContent) return;
        var now = _time.GetTimestamp();
        if (_record.FirstContentTimestamp is null)
        {
            _record.FirstContentTimestamp = now;
        }
        else if ((_record.ChunkIntervals ??= []).Count < MaxChunkIntervals)
        {
            _record.ChunkIntervals.Add((now - _lastContentTimestamp) / (double)_record.TimestampFrequency);
        }
        _lastContentTimestamp = now;
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
            if (end == CallEnd.Disposed && LooksComplete()) end = CallEnd.Completed;
            _record.End = end;
            _record.Exception = exception;
            if (_parser is not null)
            {
                try
                {
                    _parser.OnEnd();
                }
                catch (Exception ex)
                {
                    _record.AddNote($"stream parser failed at end: {ex.GetType().Name}");
                }
            }
            if (_badEvents > 0) _record.AddNote($"{_badEvents} stream event(s) could not be parsed");
            if (_sse is { OversizedEvents: > 0 } sse) _record.AddNote($"{sse.OversizedEvents} stream event(s) exceeded the size cap and were skipped");
            _sse?.Dispose();
            _sse = null;
        }
        _onComplete(_record);
    }

    private void FinishQuietly(NdjsonReader reader)
    {
        try
        {
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
    private bool LooksComplete()
    {
        if (_parser is not null) return _parser.SawEnd;
        if (_contentLength is long length) return _bytesSeen >= length;
        return false; // unknown length: the builder decides from whether the body parses
    }
}
