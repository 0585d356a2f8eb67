using System.Buffers.Binary;
using System.Security.Cryptography;

namespace LlmObservability.Capture;

/// <summary>
/// Call IDs: UUIDv7 (RFC 9562), the call's start in Unix milliseconds followed by 74 bits from the operating system's
/// cryptographic random source, as <see cref="Guid.CreateVersion7(DateTimeOffset)"/> makes them. The random bytes are
/// drawn 64 IDs at a time into a per-thread buffer: on Linux every <see cref="Guid.NewGuid"/> is a read from
/// <c>/dev/urandom</c>, a system call on the caller's path for each call; here it is one per 64 calls a thread makes.
/// </summary>
internal static class CallIds
{
    private const int RandomBytesPerId = 10; // 12 bits rand_a + 62 bits rand_b, rounded up to whole bytes
    private const int IdsPerRefill = 64;

    [ThreadStatic]
    private static byte[]? t_random;

    [ThreadStatic]
    private static int t_next;

    /// <summary>A new version 7 ID for a call that started at <paramref name="start"/>, formatted as <see cref="Guid.ToString()"/> does.</summary>
    public static string New(DateTimeOffset start) => NewGuid(start).ToString();

    internal static Guid NewGuid(DateTimeOffset start)
    {
        var random = t_random;
        if (random is null || t_next + RandomBytesPerId > random.Length)
        {
            random = t_random ??= new byte[RandomBytesPerId * IdsPerRefill];
            RandomNumberGenerator.Fill(random);
            t_next = 0;
        }
        Span<byte> bytes = stackalloc byte[16];
        var milliseconds = start.ToUnixTimeMilliseconds();
        if (milliseconds < 0) throw new ArgumentOutOfRangeException(nameof(start), start, "A call ID's time must not be before 1970.");
        BinaryPrimitives.WriteInt64BigEndian(bytes[..8], milliseconds << 16); // the 48-bit timestamp in bytes 0-5
        random.AsSpan(t_next, RandomBytesPerId).CopyTo(bytes[6..]);
        random.AsSpan(t_next, RandomBytesPerId).Clear(); // used bytes do not linger in memory
        t_next += RandomBytesPerId;
        bytes[6] = (byte)(0x70 | (bytes[6] & 0x0F)); // version 7
        bytes[8] = (byte)(0x80 | (bytes[8] & 0x3F)); // variant 10
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>
    /// Random bits for a W3C trace ID (16 bytes) or span ID (8 bytes, the low half), never all zeros (W3C's "none"):
    /// from <see cref="Random.Shared"/>, the kind of source <see cref="System.Diagnostics.ActivityTraceId.CreateRandom"/>
    /// uses. They are written as hex (<see cref="Hex"/>) only when the payload is built.
    /// </summary>
    public static UInt128 NewW3CBits(int bytes)
    {
        Span<byte> bits = stackalloc byte[16];
        bits.Clear();
        Random.Shared.NextBytes(bits[(16 - bytes)..]);
        var value = BinaryPrimitives.ReadUInt128BigEndian(bits);
        return value == UInt128.Zero ? UInt128.One : value;
    }

    /// <summary>The low <paramref name="bytes"/> bytes of <paramref name="bits"/> as lowercase hex, as W3C trace context writes IDs.</summary>
    public static string Hex(UInt128 bits, int bytes)
    {
        Span<byte> big = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(big, bits);
        return Convert.ToHexStringLower(big[(16 - bytes)..]);
    }
}
