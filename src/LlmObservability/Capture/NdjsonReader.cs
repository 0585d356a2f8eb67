using System.Buffers;

namespace LlmObservability.Capture;

/// <summary>
/// An incremental newline-delimited JSON framer (Ollama's streaming format): each non-empty line is one event, lines may
/// be split across reads anywhere, CRLF or LF ends a line, and a final line without a newline is an event too (the
/// stream's end terminates it). A line larger than the cap is skipped and counted.
/// </summary>
internal sealed class NdjsonReader(IStreamEventHandler handler, int maxEventBytes = 8 * 1024 * 1024) : IStreamFramer
{
    private byte[] _line = ArrayPool<byte>.Shared.Rent(1024);
    private int _length;
    private bool _overflow;

    public int OversizedEvents { get; private set; }

    public void Feed(ReadOnlySpan<byte> chunk)
    {
        while (chunk.Length > 0)
        {
            var end = chunk.IndexOf((byte)'\n');
            if (end < 0)
            {
                Append(chunk);
                return;
            }
            Append(chunk[..end]);
            EmitLine();
            chunk = chunk[(end + 1)..];
        }
    }

    /// <summary>The stream ended: a last line without a newline is still an event.</summary>
    public void Finish() => EmitLine();

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || _overflow) return;
        if (_length + bytes.Length > maxEventBytes)
        {
            _overflow = true;
            return;
        }
        if (_line.Length < _length + bytes.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + bytes.Length, _line.Length * 2));
            _line.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_line);
            _line = bigger;
        }
        bytes.CopyTo(_line.AsSpan(_length));
        _length += bytes.Length;
    }

    private void EmitLine()
    {
        if (_overflow)
        {
            OversizedEvents++;
        }
        else
        {
            var line = _line.AsMemory(0, _length);
            if (line.Span.Length > 0 && line.Span[^1] == (byte)'\r') line = line[..^1];
            if (!line.Span.Trim((byte)' ').IsEmpty) handler.OnEvent(null, line);
        }
        _overflow = false;
        _length = 0;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_line);
        _line = [];
    }
}
