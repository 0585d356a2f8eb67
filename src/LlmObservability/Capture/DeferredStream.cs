using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>
/// Stream parsing moved off the caller's path. On the caller's thread each framed event is only copied, with the time
/// its read arrived, into a pooled buffer (<see cref="Add"/>); the provider's <see cref="StreamParser"/> reads the
/// events later, on the dispatcher's loop, when the payload is built (<see cref="Finish"/>). The parser sees the same
/// events in the same order, and the first content-bearing event's time (TTFT) and the gaps between content events
/// come from the recorded arrival times, so the record ends up as it would have had the parser run as the bytes came.
/// </summary>
/// <remarks>
/// Memory is bounded: when the buffer would grow past <see cref="MaxBufferedBytes"/>, the events held so far are parsed
/// at once (on the caller's thread, as before this type existed) and the buffer starts over, so a stream of any length
/// keeps its final usage while holding at most that much. The buffer comes from a pool shared across threads, because
/// it is rented on the caller's thread and returned on the dispatcher's (<see cref="CapturePool"/>).
/// </remarks>
internal sealed class DeferredStream
{
    /// <summary>Most bytes (events plus a 16-byte header each) held before the events so far are parsed in place.</summary>
    public const int MaxBufferedBytes = 256 * 1024;

    private const int HeaderBytes = 16; // event length (4), type index (4), arrival timestamp (8)
    private const int InitialBytes = 16 * 1024;
    private const int MaxChunkIntervals = 100_000;

    private static ArrayPool<byte> Pool => CapturePool.Bytes;

    private readonly CallRecord _record;
    private StreamParser? _parser;
    private byte[]? _buffer;
    private int _length;
    private List<string>? _types;
    private int _badEvents;
    private long _lastContentTimestamp;
    private int _finalEventsFrom = -1;
    private int _events;
    private bool _detached;

    public DeferredStream(CallRecord record, StreamParser parser)
    {
        _record = record;
        _parser = parser;
    }

    /// <summary>The parser, while it still reads; null once it failed with an unexpected exception.</summary>
    public StreamParser? Parser => _parser;

    /// <summary>Whether a parser still reads the events (false once the framer failed or the parser did).</summary>
    public bool IsAttached => !_detached && _parser is not null;

    /// <summary>Copies one event with its arrival time. Caller's thread.</summary>
    public void Add(string? eventType, ReadOnlyMemory<byte> data, long timestamp)
    {
        if (_detached || _parser is null) return;
        var size = HeaderBytes + data.Length;
        if (_length + size > MaxBufferedBytes)
        {
            Drain();
            if (size > MaxBufferedBytes)
            {
                Process(eventType, data, timestamp);
                return;
            }
        }
        var buffer = EnsureCapacity(_length + size);
        var header = buffer.AsSpan(_length, HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header, data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], TypeIndex(eventType));
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], timestamp);
        data.Span.CopyTo(buffer.AsSpan(_length + HeaderBytes));
        _length += size;
    }

    /// <summary>Events added from now on are the framer's last (NDJSON's unterminated final line): a parser failure on them is a failure at the end.</summary>
    public void MarkFinalEvents() => _finalEventsFrom = _events + CountBuffered();

    /// <summary>The framer failed: no more events come, and the parser's end is not called (it saw a cut stream).</summary>
    public void Detach() => _detached = true;

    /// <summary>
    /// Parses the events held, ends the parser and notes what went wrong, as the caller's thread did when the stream
    /// ended. Returns the parser's <see cref="StreamParser.SawEnd"/>, or null when no parser read to the end.
    /// </summary>
    public bool? Finish(int oversizedEvents)
    {
        Drain();
        Return();
        bool? sawEnd = null;
        if (!_detached && _parser is { } parser)
        {
            sawEnd = parser.SawEnd;
            try
            {
                parser.OnEnd();
            }
            catch (Exception ex)
            {
                _record.AddNote($"stream parser failed at end: {ex.GetType().Name}");
            }
        }
        if (_badEvents > 0) _record.AddNote($"{_badEvents} stream event(s) could not be parsed");
        if (oversizedEvents > 0) _record.AddNote($"{oversizedEvents} stream event(s) exceeded the size cap and were skipped");
        return sawEnd;
    }

    /// <summary>Gives the buffer back without parsing (the record was dropped).</summary>
    public void Return()
    {
        if (_buffer is null) return;
        Pool.Return(_buffer);
        _buffer = null;
        _length = 0;
    }

    private int CountBuffered()
    {
        var count = 0;
        for (var at = 0; at < _length; at += HeaderBytes + BinaryPrimitives.ReadInt32LittleEndian(_buffer!.AsSpan(at))) count++;
        return count;
    }

    /// <summary>Parses the events held so far, in order, and empties the buffer.</summary>
    private void Drain()
    {
        if (_buffer is not { } buffer) return;
        var at = 0;
        while (at < _length && _parser is not null)
        {
            var header = buffer.AsSpan(at, HeaderBytes);
            var length = BinaryPrimitives.ReadInt32LittleEndian(header);
            var type = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
            var timestamp = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
            Process(type < 0 ? null : _types![type], buffer.AsMemory(at + HeaderBytes, length), timestamp);
            at += HeaderBytes + length;
        }
        _length = 0;
    }

    private void Process(string? eventType, ReadOnlyMemory<byte> data, long timestamp)
    {
        var parser = _parser;
        if (parser is null) return;
        var index = _events++;
        try
        {
            parser.OnEvent(eventType, data);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            _badEvents++;
            return;
        }
        catch (Exception ex)
        {
            // Our bug, not the caller's problem: stop parsing, as the caller's path did.
            if (_finalEventsFrom >= 0 && index >= _finalEventsFrom)
            {
                // The framer's last event, emitted as the stream ended: the parser still gets its end.
                _record.AddNote($"stream parser failed at end: {ex.GetType().Name}");
                return;
            }
            _record.AddNote($"response capture stopped: {ex.GetType().Name}: {ex.Message}");
            _parser = null;
            return;
        }
        if (!parser.LastEventHadContent) return;
        if (_record.FirstContentTimestamp is null)
        {
            _record.FirstContentTimestamp = timestamp;
        }
        else if ((_record.ChunkIntervals ??= []).Count < MaxChunkIntervals)
        {
            _record.ChunkIntervals.Add((timestamp - _lastContentTimestamp) / (double)_record.TimestampFrequency);
        }
        _lastContentTimestamp = timestamp;
    }

    private int TypeIndex(string? eventType)
    {
        if (eventType is null) return -1;
        var types = _types ??= [];
        for (var i = types.Count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(types[i], eventType)) return i;
        }
        for (var i = types.Count - 1; i >= 0; i--)
        {
            if (string.Equals(types[i], eventType, StringComparison.Ordinal)) return i;
        }
        types.Add(eventType);
        return types.Count - 1;
    }

    private byte[] EnsureCapacity(int needed)
    {
        if (_buffer is { } current && current.Length >= needed) return current;
        var bigger = Pool.Rent(Math.Max(needed, Math.Max(InitialBytes, (_buffer?.Length ?? 0) * 2)));
        if (_buffer is not null)
        {
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            Pool.Return(_buffer);
        }
        _buffer = bigger;
        return bigger;
    }
}
