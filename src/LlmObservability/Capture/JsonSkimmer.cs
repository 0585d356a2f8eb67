using System.Buffers;
using System.Buffers.Text;

namespace LlmObservability.Capture;

/// <summary>
/// Reads one JSON object as it passes without keeping it: its members are copied, except that the value of each
/// top-level array member is replaced by the array's element count. When the object closes, the skimmed document
/// (e.g. <c>{"object":"list","data":3,"model":"…","usage":{…}}</c>) is handed over as one event and the rest of the
/// body is ignored. Made for bodies whose bulk is arrays nobody needs (embedding vectors): the scan looks only at
/// structural bytes inside the skipped arrays, with vectorised searches, and keeps no copy of them.
/// </summary>
/// <remarks>
/// Not a validator: it trusts the body to be JSON and only tracks strings (with escapes) and nesting. A skimmed
/// document larger than the cap, or a body whose top level is not an object, is dropped and counted as oversized.
/// </remarks>
internal sealed class JsonSkimmer(IStreamEventHandler handler, int maxSkimmedBytes = 64 * 1024) : IStreamFramer
{
    private static readonly SearchValues<byte> StringStops = SearchValues.Create("\"\\"u8);
    private static readonly SearchValues<byte> Structure = SearchValues.Create("\"[]{}"u8);
    private static readonly SearchValues<byte> ArrayLevel = SearchValues.Create("\"[]{},"u8);
    private static readonly SearchValues<byte> Whitespace = SearchValues.Create(" \t\r\n"u8);

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1024);
    private int _length;
    private int _depth;
    private bool _inString;
    private bool _escaped;
    private bool _skipping;       // inside a top-level array member (depth >= 2)
    private bool _sawElement;     // the skipped array has at least one element
    private long _commas;         // commas directly inside the skipped array
    private bool _done;

    public int OversizedEvents { get; private set; }

    public void Feed(ReadOnlySpan<byte> chunk)
    {
        while (!chunk.IsEmpty && !_done)
        {
            if (_escaped)
            {
                Take(ref chunk, 1);
                _escaped = false;
                continue;
            }
            if (_inString)
            {
                var stop = chunk.IndexOfAny(StringStops);
                if (stop < 0)
                {
                    Take(ref chunk, chunk.Length);
                    return;
                }
                if (chunk[stop] == (byte)'\\') _escaped = true;
                else _inString = false;
                Take(ref chunk, stop + 1);
                continue;
            }
            if (_skipping && _depth == 2 && !_sawElement)
            {
                // Whether the array is empty: its first non-blank byte is ']' or an element.
                var first = chunk.IndexOfAnyExcept(Whitespace);
                if (first < 0) return;
                _sawElement = chunk[first] != (byte)']';
                chunk = chunk[first..];
            }
            var next = chunk.IndexOfAny(_skipping && _depth == 2 ? ArrayLevel : Structure);
            if (next < 0)
            {
                Take(ref chunk, chunk.Length);
                return;
            }
            Take(ref chunk, next);
            Structural(ref chunk);
        }
    }

    /// <summary>Handles the structural byte at the start of <paramref name="chunk"/> and moves past it.</summary>
    private void Structural(ref ReadOnlySpan<byte> chunk)
    {
        switch (chunk[0])
        {
            case (byte)'"':
                _inString = true;
                Take(ref chunk, 1);
                return;
            case (byte)'[' when _depth == 1 && !_skipping:
                _skipping = true;
                _sawElement = false;
                _commas = 0;
                _depth = 2;
                chunk = chunk[1..];
                return;
            case (byte)'[' or (byte)'{':
                if (_depth == 0 && chunk[0] == (byte)'[')
                {
                    Drop(); // not an object: nothing this framer knows how to skim
                    return;
                }
                _depth++;
                Take(ref chunk, 1);
                return;
            case (byte)']' or (byte)'}':
                _depth--;
                if (_skipping && _depth == 1)
                {
                    _skipping = false;
                    chunk = chunk[1..];
                    Span<byte> digits = stackalloc byte[20];
                    Utf8Formatter.TryFormat(_sawElement ? _commas + 1 : 0, digits, out var written);
                    Append(digits[..written]);
                    return;
                }
                Take(ref chunk, 1);
                if (_depth <= 0 && !_done)
                {
                    _done = true;
                    handler.OnEvent(null, _buffer.AsMemory(0, _length));
                }
                return;
            default: // ',' directly inside the skipped array
                _commas++;
                chunk = chunk[1..];
                return;
        }
    }

    /// <summary>Moves past <paramref name="count"/> bytes, copying them unless they are inside a skipped array.</summary>
    private void Take(ref ReadOnlySpan<byte> chunk, int count)
    {
        if (!_skipping) Append(chunk[..count]);
        chunk = chunk[count..];
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || _done) return;
        if (_length + bytes.Length > maxSkimmedBytes)
        {
            Drop();
            return;
        }
        if (_buffer.Length < _length + bytes.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_length + bytes.Length, _buffer.Length * 2));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Drop()
    {
        OversizedEvents++;
        _done = true;
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
