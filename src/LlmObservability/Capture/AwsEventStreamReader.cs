using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace LlmObservability.Capture;

/// <summary>
/// An incremental reader of the AWS event-stream binary framing (<c>application/vnd.amazon.eventstream</c>, used by
/// Bedrock's <c>ConverseStream</c> and <c>InvokeModelWithResponseStream</c>), fed with whatever byte chunks the network
/// delivers. Each message is
/// <c>[total length: u32][headers length: u32][prelude CRC: u32][headers][payload][message CRC: u32]</c>, big-endian,
/// where the prelude CRC covers the first 8 bytes and the message CRC everything before it (CRC-32, IEEE 802.3).
/// A header is <c>[name length: u8][name][value type: u8][value]</c>.
/// </summary>
/// <remarks>
/// What the handler receives per message, by its <c>:message-type</c> header:
/// <list type="bullet">
/// <item><c>event</c> (or none): the <c>:event-type</c> header and the payload.</item>
/// <item><c>exception</c>: <see cref="ExceptionPrefix"/> + the <c>:exception-type</c> header, and the payload (JSON with a <c>message</c>).</item>
/// <item><c>error</c>: <see cref="ErrorPrefix"/> + the <c>:error-code</c> header, and the <c>:error-message</c> header as UTF-8.</item>
/// </list>
/// A message larger than the cap is skipped and counted. A CRC mismatch or an impossible prelude means the stream can
/// no longer be cut into messages: <see cref="Feed"/> throws <see cref="InvalidDataException"/>, which stops capture of
/// this response (the caller's bytes are unaffected).
/// </remarks>
internal sealed class AwsEventStreamReader(IStreamEventHandler handler, int maxMessageBytes = 8 * 1024 * 1024) : IStreamFramer
{
    /// <summary>Event type prefix for <c>:message-type exception</c> messages.</summary>
    public const string ExceptionPrefix = "exception:";

    /// <summary>Event type prefix for <c>:message-type error</c> messages.</summary>
    public const string ErrorPrefix = "error:";

    private const int PreludeLength = 12; // total length, headers length, prelude CRC
    private const int MinimumMessageLength = PreludeLength + 4;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1024);
    private int _length;
    private int _total;
    private long _skip;
    private readonly List<string> _names = new(8); // header values seen before, so repeated event types do not allocate

    public int OversizedEvents { get; private set; }

    /// <summary>Messages delivered so far.</summary>
    public int Messages { get; private set; }

    public void Feed(ReadOnlySpan<byte> chunk)
    {
        while (chunk.Length > 0)
        {
            if (_skip > 0)
            {
                var skipped = (int)Math.Min(_skip, chunk.Length);
                _skip -= skipped;
                chunk = chunk[skipped..];
                continue;
            }
            if (_length < PreludeLength)
            {
                var take = Math.Min(PreludeLength - _length, chunk.Length);
                chunk[..take].CopyTo(_buffer.AsSpan(_length));
                _length += take;
                chunk = chunk[take..];
                if (_length < PreludeLength) return;
                if (!ReadPrelude()) continue;
            }
            var needed = Math.Min(_total - _length, chunk.Length);
            chunk[..needed].CopyTo(_buffer.AsSpan(_length));
            _length += needed;
            chunk = chunk[needed..];
            if (_length == _total)
            {
                Dispatch(_buffer.AsSpan(0, _total));
                _length = 0;
                _total = 0;
            }
        }
    }

    /// <summary>Validates the 12-byte prelude; false when the message is over the cap and is being skipped.</summary>
    private bool ReadPrelude()
    {
        var prelude = _buffer.AsSpan(0, PreludeLength);
        var total = BinaryPrimitives.ReadUInt32BigEndian(prelude);
        var headers = BinaryPrimitives.ReadUInt32BigEndian(prelude[4..]);
        var crc = BinaryPrimitives.ReadUInt32BigEndian(prelude[8..]);
        if (Crc32.Compute(prelude[..8]) != crc) throw new InvalidDataException("event-stream prelude CRC mismatch");
        if (total < MinimumMessageLength || headers > total - MinimumMessageLength)
        {
            throw new InvalidDataException($"event-stream prelude is impossible (total {total}, headers {headers})");
        }
        if (total > maxMessageBytes)
        {
            OversizedEvents++;
            _skip = total - PreludeLength;
            _length = 0;
            return false;
        }
        _total = (int)total;
        if (_buffer.Length < _total)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(_total);
            prelude.CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        return true;
    }

    private void Dispatch(ReadOnlySpan<byte> message)
    {
        var expected = BinaryPrimitives.ReadUInt32BigEndian(message[^4..]);
        if (Crc32.Compute(message[..^4]) != expected) throw new InvalidDataException("event-stream message CRC mismatch");

        var headersLength = (int)BinaryPrimitives.ReadUInt32BigEndian(message[4..]);
        var headers = message.Slice(PreludeLength, headersLength);
        var payloadStart = PreludeLength + headersLength;
        var payloadLength = message.Length - payloadStart - 4;

        string? messageType = null, eventType = null, exceptionType = null, errorCode = null, errorMessage = null;
        while (headers.Length > 0)
        {
            var nameLength = headers[0];
            if (headers.Length < 2 + nameLength) throw new InvalidDataException("event-stream header is cut short");
            var name = headers.Slice(1, nameLength);
            var type = headers[1 + nameLength];
            headers = headers[(2 + nameLength)..];
            var valueLength = type switch
            {
                0 or 1 => 0,     // bool true / false
                2 => 1,          // byte
                3 => 2,          // short
                4 => 4,          // int
                5 or 8 => 8,     // long, timestamp
                9 => 16,         // uuid
                6 or 7 => headers.Length >= 2 ? 2 + BinaryPrimitives.ReadUInt16BigEndian(headers) : int.MaxValue, // bytes, string
                _ => throw new InvalidDataException($"event-stream header value type {type} is unknown"),
            };
            if (valueLength > headers.Length) throw new InvalidDataException("event-stream header is cut short");
            if (type == 7)
            {
                var value = headers[2..valueLength];
                if (name.SequenceEqual(":message-type"u8)) messageType = Intern(value);
                else if (name.SequenceEqual(":event-type"u8)) eventType = Intern(value);
                else if (name.SequenceEqual(":exception-type"u8)) exceptionType = Intern(value);
                else if (name.SequenceEqual(":error-code"u8)) errorCode = Intern(value);
                else if (name.SequenceEqual(":error-message"u8)) errorMessage = Encoding.UTF8.GetString(value);
            }
            headers = headers[valueLength..];
        }

        Messages++;
        var payload = _buffer.AsMemory(payloadStart, payloadLength);
        switch (messageType)
        {
            case "exception":
                handler.OnEvent(ExceptionPrefix + exceptionType, payload);
                break;
            case "error":
                handler.OnEvent(ErrorPrefix + errorCode, Encoding.UTF8.GetBytes(errorMessage ?? string.Empty));
                break;
            default:
                handler.OnEvent(eventType, payload);
                break;
        }
    }

    private string Intern(ReadOnlySpan<byte> utf8)
    {
        foreach (var known in _names)
        {
            if (Matches(known, utf8)) return known;
        }
        var created = Encoding.UTF8.GetString(utf8);
        if (_names.Count < 32) _names.Add(created);
        return created;
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

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as gzip and the AWS event-stream framing use it.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = CreateTable();

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    /// <summary>Continues a CRC over more bytes (<paramref name="crc"/> is a previous result, 0 to start).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        crc = ~crc;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return ~crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }
}
