using System.Buffers;
using System.Text;

namespace LlmObservability.Capture;

/// <summary>Receives the events a stream framer finds.</summary>
internal interface IStreamEventHandler
{
    /// <summary>One event: its type where the framing has one (SSE <c>event:</c>), and its payload bytes, valid only during the call.</summary>
    void OnEvent(string? eventType, ReadOnlyMemory<byte> data);
}

/// <summary>Cuts a byte stream, fed in whatever chunks the network delivers, into events.</summary>
internal interface IStreamFramer : IDisposable
{
    /// <summary>Feeds the next bytes.</summary>
    void Feed(ReadOnlySpan<byte> chunk);

    /// <summary>Events skipped because they were larger than the cap.</summary>
    int OversizedEvents { get; }
}

/// <summary>How a provider frames a streamed response.</summary>
internal enum StreamFraming
{
    /// <summary>Not a stream this library parses: the body is kept and parsed whole.</summary>
    None,

    /// <summary>Server-Sent Events (<c>text/event-stream</c>).</summary>
    ServerSentEvents,

    /// <summary>Newline-delimited JSON (<c>application/x-ndjson</c>), one event per line.</summary>
    NewlineDelimitedJson,

    /// <summary>AWS event-stream binary framing (<c>application/vnd.amazon.eventstream</c>), one event per message.</summary>
    AwsEventStream,

    /// <summary>
    /// Not a stream: one whole JSON object too large to keep (embedding vectors), skimmed as it passes by
    /// <see cref="JsonSkimmer"/> into one small event with its top-level arrays replaced by their lengths. Timed and
    /// reported like a whole body (first byte is the first token, <c>stream</c> stays false).
    /// </summary>
    SkimmedJson,
}

/// <summary>
/// An incremental Server-Sent Events parser (WHATWG HTML §9.2.6) fed with whatever byte chunks the network delivers:
/// events and lines may be split anywhere, line ends may be CRLF, LF or CR, <c>:</c> lines are comments, several
/// <c>data:</c> lines join with LF, and an event is dispatched at a blank line when it has data. An event larger than
/// the cap is skipped (and counted) rather than buffered without bound.
/// </summary>
internal sealed class SseReader : IStreamFramer
{
    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];
    private readonly IStreamEventHandler _handler;
    private readonly int _maxEventBytes;
    private byte[] _line = ArrayPool<byte>.Shared.Rent(256);
    private int _lineLength;
    private byte[] _data = ArrayPool<byte>.Shared.Rent(1024);
    private int _dataLength;
    private bool _hasData;
    private bool _overflow;
    private bool _skipLeadingLf;
    private bool _atStart = true;
    private int _bomMatched;
    private string? _eventType;
    private string? _lastEventType; // reused when the same event name repeats, so named streams do not allocate per event

    public SseReader(IStreamEventHandler handler, int maxEventBytes = 8 * 1024 * 1024)
    {
        _handler = handler;
        _maxEventBytes = maxEventBytes;
    }

    /// <summary>Events skipped because they were larger than the cap.</summary>
    public int OversizedEvents { get; private set; }

    /// <summary>Events dispatched so far.</summary>
    public int Events { get; private set; }

    public void Feed(ReadOnlySpan<byte> chunk)
    {
        if (_atStart)
        {
            // The stream may open with a UTF-8 BOM, possibly split across chunks.
            while (chunk.Length > 0 && _bomMatched < Utf8Bom.Length)
            {
                if (chunk[0] != Utf8Bom[_bomMatched])
                {
                    // Not a BOM after all: the bytes held back were the start of the first line.
                    var held = _bomMatched;
                    _atStart = false;
                    if (held > 0) FeedLines(Utf8Bom.AsSpan(0, held));
                    FeedLines(chunk);
                    return;
                }
                _bomMatched++;
                chunk = chunk[1..];
            }
            if (_bomMatched < Utf8Bom.Length) return;
            _atStart = false;
        }
        FeedLines(chunk);
    }

    private void FeedLines(ReadOnlySpan<byte> chunk)
    {
        if (_skipLeadingLf && chunk.Length > 0)
        {
            _skipLeadingLf = false;
            if (chunk[0] == (byte)'\n') chunk = chunk[1..];
        }

        while (chunk.Length > 0)
        {
            var end = chunk.IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                AppendToLine(chunk);
                return;
            }
            AppendToLine(chunk[..end]);
            ProcessLine();
            if (chunk[end] == (byte)'\r')
            {
                if (end + 1 < chunk.Length)
                {
                    if (chunk[end + 1] == (byte)'\n') end++;
                }
                else
                {
                    _skipLeadingLf = true;
                }
            }
            chunk = chunk[(end + 1)..];
        }
    }

    private void AppendToLine(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || _overflow) return;
        if (_lineLength + bytes.Length > _maxEventBytes)
        {
            _overflow = true; // the rest of this event is ignored up to its blank line
            return;
        }
        EnsureCapacity(ref _line, _lineLength + bytes.Length);
        bytes.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += bytes.Length;
    }

    private void ProcessLine()
    {
        var line = _line.AsSpan(0, _lineLength);
        _lineLength = 0;
        if (line.IsEmpty)
        {
            Dispatch();
            return;
        }
        if (_overflow || line[0] == (byte)':') return;

        ReadOnlySpan<byte> field;
        ReadOnlySpan<byte> value;
        var colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            field = line;
            value = [];
        }
        else
        {
            field = line[..colon];
            value = line[(colon + 1)..];
            if (!value.IsEmpty && value[0] == (byte)' ') value = value[1..];
        }

        if (field.SequenceEqual("data"u8))
        {
            var needed = _dataLength + (_hasData ? 1 : 0) + value.Length;
            if (needed > _maxEventBytes)
            {
                _overflow = true;
                return;
            }
            EnsureCapacity(ref _data, needed);
            if (_hasData) _data[_dataLength++] = (byte)'\n';
            value.CopyTo(_data.AsSpan(_dataLength));
            _dataLength += value.Length;
            _hasData = true;
        }
        else if (field.SequenceEqual("event"u8))
        {
            _eventType = _lastEventType is not null && Matches(_lastEventType, value) ? _lastEventType : Encoding.UTF8.GetString(value);
            _lastEventType = _eventType;
        }
        // "id" and "retry" matter to reconnecting clients, not to us; unknown fields are ignored, as the spec says.
    }

    private static bool Matches(string text, ReadOnlySpan<byte> utf8)
    {
        if (text.Length != utf8.Length) return false;
        for (var i = 0; i < utf8.Length; i++)
        {
            if (text[i] != utf8[i]) return false;
        }
        return true;
    }

    private void Dispatch()
    {
        if (_overflow)
        {
            OversizedEvents++;
        }
        else if (_hasData)
        {
            Events++;
            _handler.OnEvent(_eventType, _data.AsMemory(0, _dataLength));
        }
        _overflow = false;
        _hasData = false;
        _dataLength = 0;
        _eventType = null;
    }

    private static void EnsureCapacity(ref byte[] buffer, int needed)
    {
        if (buffer.Length >= needed) return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, buffer.Length * 2));
        buffer.CopyTo(bigger, 0);
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = bigger;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_line);
        ArrayPool<byte>.Shared.Return(_data);
        _line = [];
        _data = [];
    }
}
