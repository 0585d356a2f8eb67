using System.Buffers;
using System.Buffers.Binary;
using System.Text.Json;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>
/// Stream framing and parsing moved off the caller's path. On the caller's thread each read is only copied, with the
/// time it arrived, into a pooled buffer (<see cref="AddRead"/>); when the payload is built (<see cref="Finish"/>, on
/// the dispatcher's loop) the reads are fed, in order, to the framer (SSE, NDJSON or AWS event-stream), and each event
/// it cuts goes to the provider's <see cref="StreamParser"/> with the time of the read that completed it. The parser
/// sees the same events in the same order, and the first content-bearing event's time (TTFT) and the gaps between
/// content events come from the recorded arrival times, so the record ends up as it would have had the framer and the
/// parser run as the bytes came.
/// </summary>
/// <remarks>
/// <para>
/// A framer that must keep no copy (<see cref="JsonSkimmer"/>, for bodies of any size) still runs on the caller's
/// path; its events are copied with <see cref="Add"/> and parsed later in the same way.
/// </para>
/// <para>
/// Memory is bounded: when the buffer would grow past <see cref="MaxBufferedBytes"/>, what it holds is framed and
/// parsed at once (on the caller's thread) and the buffer starts over, so a stream of any length keeps its final usage
/// while holding at most that much. The buffer comes from a pool shared across threads, because it is rented on the
/// caller's thread and returned on the dispatcher's (<see cref="CapturePool"/>).
/// </para>
/// </remarks>
internal sealed class DeferredStream : IStreamEventHandler
{
    /// <summary>Most bytes (reads or events, plus a 12-byte header each) held before they are parsed in place.</summary>
    public const int MaxBufferedBytes = 256 * 1024;

    private const int HeaderBytes = 12; // length (4), arrival timestamp (8)
    private const int InitialBytes = 16 * 1024;
    private const int MaxChunkIntervals = 100_000;

    private static ArrayPool<byte> Pool => CapturePool.Bytes;

    private readonly CallRecord _record;
    private readonly CaptureLimits _limits;
    private readonly StreamFraming _framing;
    private StreamParser? _parser; // made by the first event, at the build: nothing of it on the caller's path
    private bool _parserFailed;
    private IStreamFramer? _framer;
    private byte[]? _buffer;
    private int _length;
    private int _badEvents;
    private long _lastContentTimestamp;
    private long _readTimestamp;
    private bool _finalEvents;
    private bool _detached;     // the caller's-path framer failed: nothing more is held, what was held is still parsed
    private bool _framerFailed; // the framer failed on a held read: nothing more is fed

    /// <summary>The framer or the parser failed: nothing reads what comes any more.</summary>
    private bool Stopped => _framerFailed || _parserFailed;

    /// <param name="record">The call the events belong to; its adapter's parser reads them.</param>
    /// <param name="limits">The caps the parser keeps to.</param>
    /// <param name="framing">How the reads are cut into events at the build; <see cref="StreamFraming.SkimmedJson"/>: the caller's path already cut them, and what is held are events (<see cref="Add"/>).</param>
    public DeferredStream(CallRecord record, CaptureLimits limits, StreamFraming framing)
    {
        _record = record;
        _limits = limits;
        _framing = framing;
    }

    /// <summary>
    /// A buffer for a stream's first reads, rented and cleared by the handler while the request is in flight
    /// (<see cref="CallRecord.StreamBuffer"/>): the clearing brings its lines into the cache of the core that will most
    /// likely copy the reads into it.
    /// </summary>
    public static byte[] PrepareBuffer()
    {
        var buffer = Pool.Rent(InitialBytes);
        buffer.AsSpan(0, InitialBytes).Clear();
        return buffer;
    }

    private StreamParser Parser => _parser ??= _record.Route.Adapter.CreateStreamParser(_record, _limits);

    /// <summary>Whether the parser exists yet: it is made by the first event parsed, or by <see cref="Finish"/> (for tests).</summary>
    internal bool ParserMade => _parser is not null;

    /// <summary>Bytes held now (reads or events and their headers); never more than <see cref="MaxBufferedBytes"/>.</summary>
    internal int BufferedBytes => _length;

    /// <summary>Copies one read with its arrival time; it is framed when the payload is built. Caller's thread.</summary>
    public void AddRead(ReadOnlySpan<byte> bytes, long timestamp)
    {
        if (!TryHold(bytes, timestamp)) Feed(bytes, timestamp);
    }

    /// <summary>Copies one event already framed on the caller's path (<see cref="JsonSkimmer"/>, whose events have no type) with its arrival time. Caller's thread.</summary>
    public void Add(ReadOnlyMemory<byte> data, long timestamp)
    {
        if (!TryHold(data.Span, timestamp)) Parse(null, data, timestamp);
    }

    /// <summary>The framer failed on the caller's path: no more events come (those held are still parsed), and the parser's end is not called (it saw a cut stream).</summary>
    public void Detach() => _detached = true;

    /// <summary>
    /// Frames and parses what is held, ends the parser and notes what went wrong, as the caller's thread did when the
    /// stream ended. <paramref name="completed"/>: the body was read to its end, so a framer with an unterminated last
    /// event (NDJSON) emits it. Returns the parser's <see cref="StreamParser.SawEnd"/>, or null when no parser read to
    /// the end.
    /// </summary>
    public bool? Finish(bool completed, int oversizedEvents)
    {
        Drain();
        Return();
        if (completed && _framer is NdjsonReader ndjson && !_framerFailed)
        {
            _finalEvents = true;
            try
            {
                ndjson.Finish();
            }
            catch (Exception ex)
            {
                _record.AddNote($"stream parser failed at end: {ex.GetType().Name}");
            }
        }
        oversizedEvents += _framer?.OversizedEvents ?? 0;
        _framer?.Dispose();
        _framer = null;
        bool? sawEnd = null;
        if (!_detached && !Stopped)
        {
            var parser = Parser;
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
        // Read to its end, but the provider's end-of-stream event ([DONE], message_stop, response.completed, ...) never
        // came: a proxy or the server closed the stream early, or the server is one that never sends it (some
        // OpenAI-compatible ones). The caller got what came and no error, so the call stays a success, with a note. A
        // stream that ended on an error event is a failure anyway.
        if (completed && sawEnd == false && _record.ErrorType is null && _record.ErrorMessage is null)
        {
            _record.AddNote(_framing == StreamFraming.SkimmedJson
                ? "response body ended before its JSON did: cut short"
                : "stream ended without its end-of-stream event: cut short, or a server that never sends one");
        }
        if (_badEvents > 0) _record.AddNote($"{_badEvents} stream event(s) could not be parsed");
        if (oversizedEvents > 0) _record.AddNote($"{oversizedEvents} stream event(s) exceeded the size cap and were skipped");
        return sawEnd;
    }

    /// <summary>Gives the held buffer back (once it is parsed, or unparsed for a dropped record).</summary>
    private void Return()
    {
        if (_buffer is null) return;
        Pool.Return(_buffer);
        _buffer = null;
        _length = 0;
    }

    /// <summary>Releases everything held, for a record that is dropped unbuilt.</summary>
    public void Release()
    {
        Return();
        _framer?.Dispose();
        _framer = null;
    }

    /// <summary>
    /// Copies an entry into the buffer; when the buffer is full, what it holds is processed first. False (nothing held)
    /// for an entry larger than the whole buffer, which the caller then processes at once. True without copying once
    /// nothing reads any more (the framer or the parser failed).
    /// </summary>
    private bool TryHold(ReadOnlySpan<byte> data, long timestamp)
    {
        if (_detached || Stopped) return true;
        var size = HeaderBytes + data.Length;
        if (_length + size > MaxBufferedBytes)
        {
            Drain();
            if (Stopped) return true; // the drain's framer or parser failed: nothing reads this
            if (size > MaxBufferedBytes) return false;
        }
        var buffer = EnsureCapacity(_length + size);
        var header = buffer.AsSpan(_length, HeaderBytes);
        BinaryPrimitives.WriteInt32LittleEndian(header, data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[4..], timestamp);
        data.CopyTo(buffer.AsSpan(_length + HeaderBytes));
        _length += size;
        return true;
    }

    /// <summary>Frames and parses what is held so far, in order, and empties the buffer.</summary>
    private void Drain()
    {
        if (_buffer is not { } buffer) return;
        var at = 0;
        while (at < _length && !Stopped)
        {
            var header = buffer.AsSpan(at, HeaderBytes);
            var length = BinaryPrimitives.ReadInt32LittleEndian(header);
            var timestamp = BinaryPrimitives.ReadInt64LittleEndian(header[4..]);
            if (_framing == StreamFraming.SkimmedJson) Parse(null, buffer.AsMemory(at + HeaderBytes, length), timestamp);
            else Feed(buffer.AsSpan(at + HeaderBytes, length), timestamp);
            at += HeaderBytes + length;
        }
        _length = 0;
    }

    /// <summary>Feeds one read to the framer, whose events come back to <see cref="IStreamEventHandler.OnEvent"/> with the read's time.</summary>
    private void Feed(ReadOnlySpan<byte> read, long timestamp)
    {
        if (Stopped) return;
        _readTimestamp = timestamp;
        try
        {
            (_framer ??= CreateFramer()).Feed(read);
        }
        catch (Exception ex)
        {
            // The framer's bug (the parser's own failures stop in Parse): stop here, as the caller's path did.
            _record.AddNote($"response capture stopped: {ex.GetType().Name}: {ex.Message}");
            _framerFailed = true;
        }
    }

    private IStreamFramer CreateFramer() => _framing switch
    {
        StreamFraming.ServerSentEvents => new SseReader(this),
        StreamFraming.NewlineDelimitedJson => new NdjsonReader(this),
        StreamFraming.AwsEventStream => new AwsEventStreamReader(this),
        _ => throw new InvalidOperationException($"no deferred framer for {_framing}"),
    };

    /// <summary>An event the framer cut from the read being replayed: it arrived with that read.</summary>
    void IStreamEventHandler.OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Parse(eventType, data, _readTimestamp);

    private void Parse(string? eventType, ReadOnlyMemory<byte> data, long timestamp)
    {
        if (_parserFailed) return;
        // A keep-alive: relays and gateways hold long streams open with an empty or blank `data:`, which SSE dispatches
        // as an event. It carries nothing to parse, so it is no event at all, not a bad one (no note on the record).
        if (data.Span.IndexOfAnyExcept(" \t\r\n"u8) < 0) return;
        var parser = Parser;
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
            if (_finalEvents)
            {
                // The framer's last event, emitted as the stream ended: the parser still gets its end.
                _record.AddNote($"stream parser failed at end: {ex.GetType().Name}");
                return;
            }
            _record.AddNote($"response capture stopped: {ex.GetType().Name}: {ex.Message}");
            _parserFailed = true;
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

    private byte[] EnsureCapacity(int needed)
    {
        if (_buffer is { } current && current.Length >= needed) return current;
        if (_buffer is null && _record.StreamBuffer is { } prepared && prepared.Length >= needed)
        {
            _record.StreamBuffer = null;
            return _buffer = prepared;
        }
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
