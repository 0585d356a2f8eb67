using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LlmObservability.Redaction;

/// <summary>
/// Finds the scanner's trigger characters 64 at a time: one bit per character of a block, computed with two range
/// compares and four equality compares per vector. Iterating the set bits costs a couple of nanoseconds per trigger,
/// against several for a fresh <c>IndexOfAny</c> call per trigger.
/// </summary>
/// <remarks>
/// The mask covers every trigger of every built-in entity ('0'-'9', ':', '=', '@', 'A', 'B', 'J', '-', '_'); the
/// scanner filters it with <see cref="TriggerSet"/> for the entities actually enabled.
/// </remarks>
internal static class TriggerMask
{
    public const int BlockSize = 64;

    public const string AllTriggers = "0123456789:=@ABJ-_";

    /// <summary>Bit k is set when <c>text[start + k]</c> is a trigger; bits past the end of the text are clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Compute(ReadOnlySpan<char> text, int start)
    {
        var length = Math.Min(BlockSize, text.Length - start);
        ref var first = ref Unsafe.As<char, ushort>(ref MemoryMarshal.GetReference(text[start..]));
        if (length == BlockSize)
        {
            if (Avx2.IsSupported)
            {
                ref var shorts = ref Unsafe.As<ushort, short>(ref first);
                return NibbleMatch(Vector256.LoadUnsafe(ref shorts), Vector256.LoadUnsafe(ref shorts, 16))
                    | ((ulong)NibbleMatch(Vector256.LoadUnsafe(ref shorts, 32), Vector256.LoadUnsafe(ref shorts, 48)) << 32);
            }

            if (Vector256.IsHardwareAccelerated)
            {
                return Match(Vector256.LoadUnsafe(ref first))
                    | ((ulong)Match(Vector256.LoadUnsafe(ref first, 16)) << 16)
                    | ((ulong)Match(Vector256.LoadUnsafe(ref first, 32)) << 32)
                    | ((ulong)Match(Vector256.LoadUnsafe(ref first, 48)) << 48);
            }

            if (Vector128.IsHardwareAccelerated)
            {
                ulong mask = 0;
                for (var k = 0; k < 8; k++) mask |= (ulong)Match(Vector128.LoadUnsafe(ref first, (nuint)(k * 8))) << (k * 8);
                return mask;
            }
        }

        ulong scalar = 0;
        for (var k = 0; k < length; k++)
        {
            if (IsTrigger(Unsafe.Add(ref first, k))) scalar |= 1UL << k;
        }

        return scalar;
    }

    /// <summary>For each low nibble (both 128-bit lanes), bit h is set when the byte (h &lt;&lt; 4 | low) is a trigger.</summary>
    private static readonly Vector256<byte> LowNibbleTable = BuildLowNibbleTable();

    /// <summary>1 &lt;&lt; h for high nibbles 0-7 (ASCII); 0 for 8-15, so bytes from saturated non-ASCII never match.</summary>
    private static readonly Vector256<byte> HighNibbleBits = Vector256.Create(
        (byte)1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 0, 0, 0, 0, 0, 0, 0, 0);

    private static Vector256<byte> BuildLowNibbleTable()
    {
        Span<byte> table = stackalloc byte[32];
        foreach (var c in AllTriggers)
        {
            table[c & 0xF] |= (byte)(1 << (c >> 4));
            table[16 + (c & 0xF)] |= (byte)(1 << (c >> 4));
        }

        return Vector256.Create((ReadOnlySpan<byte>)table);
    }

    /// <summary>
    /// 32 characters to 32 bits with a nibble lookup: pack to bytes (characters above 0xFF saturate to 0 or 0xFF, which
    /// are not triggers), then two in-lane shuffles classify each byte by its low and high nibble.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NibbleMatch(Vector256<short> first, Vector256<short> second)
    {
        var packed = Avx2.PackUnsignedSaturate(first, second);
        packed = Avx2.Permute4x64(packed.AsUInt64(), 0b11_01_10_00).AsByte(); // undo the in-lane interleaving of the pack
        var low = packed & Vector256.Create((byte)0x0F);
        var high = Avx2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & Vector256.Create((byte)0x0F);
        var bits = Avx2.Shuffle(LowNibbleTable, low) & Avx2.Shuffle(HighNibbleBits, high);
        return ~Vector256.Equals(bits, Vector256<byte>.Zero).ExtractMostSignificantBits();
    }

    /// <summary>The scalar definition every vector path must agree with.</summary>
    internal static bool IsTrigger(ushort c)
        => (uint)(c - '0') <= 10 || (uint)(c - '@') <= 2 || c is '=' or 'J' or '-' or '_';

    private static uint Match(Vector256<ushort> v)
    {
        var digitsOrColon = Vector256.LessThanOrEqual(v - Vector256.Create((ushort)'0'), Vector256.Create((ushort)10));
        var atAOrB = Vector256.LessThanOrEqual(v - Vector256.Create((ushort)'@'), Vector256.Create((ushort)2));
        var any = digitsOrColon | atAOrB
            | Vector256.Equals(v, Vector256.Create((ushort)'='))
            | Vector256.Equals(v, Vector256.Create((ushort)'J'))
            | Vector256.Equals(v, Vector256.Create((ushort)'-'))
            | Vector256.Equals(v, Vector256.Create((ushort)'_'));
        return any.ExtractMostSignificantBits();
    }

    private static uint Match(Vector128<ushort> v)
    {
        var digitsOrColon = Vector128.LessThanOrEqual(v - Vector128.Create((ushort)'0'), Vector128.Create((ushort)10));
        var atAOrB = Vector128.LessThanOrEqual(v - Vector128.Create((ushort)'@'), Vector128.Create((ushort)2));
        var any = digitsOrColon | atAOrB
            | Vector128.Equals(v, Vector128.Create((ushort)'='))
            | Vector128.Equals(v, Vector128.Create((ushort)'J'))
            | Vector128.Equals(v, Vector128.Create((ushort)'-'))
            | Vector128.Equals(v, Vector128.Create((ushort)'_'));
        return any.ExtractMostSignificantBits();
    }

    /// <summary>Index of the lowest set bit.</summary>
    public static int Lowest(ulong mask) => BitOperations.TrailingZeroCount(mask);
}

/// <summary>The trigger characters of one configuration, as a bitmap over ASCII.</summary>
internal readonly struct TriggerSet
{
    private readonly ulong _low;
    private readonly ulong _high;

    public TriggerSet(string triggers)
    {
        foreach (var c in triggers)
        {
            if (c < 64) _low |= 1UL << c;
            else if (c < 128) _high |= 1UL << (c - 64);
            else throw new ArgumentException("Triggers must be ASCII.", nameof(triggers));
            if (!TriggerMask.AllTriggers.Contains(c, StringComparison.Ordinal))
                throw new ArgumentException($"'{c}' is not covered by the trigger mask.", nameof(triggers));
        }

        IsAll = true;
        foreach (var c in TriggerMask.AllTriggers) IsAll &= Contains(c);
    }

    public bool IsEmpty => (_low | _high) == 0;

    /// <summary>Whether every character of <see cref="TriggerMask.AllTriggers"/> is a trigger (no filtering needed).</summary>
    public bool IsAll { get; }

    public bool Contains(char c) => c < 64 ? ((_low >> c) & 1) != 0 : c < 128 && ((_high >> (c - 64)) & 1) != 0;
}
