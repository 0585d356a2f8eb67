using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace LlmObservability.Payload;

/// <summary>
/// Message and output text kept as the UTF-8 it arrived in. A provider's JSON carries the text as UTF-8; the payload
/// holds those bytes (half the size of a .NET string for ASCII text), redaction reads them through a pooled buffer, the
/// payload's JSON writes them as they are, and a string is made only when a sink reads the property.
/// Every byte array handed out here is valid UTF-8, so making the string can neither fail nor change the text.
/// </summary>
internal static class Utf8Text
{
    public static string? ToStringOrNull(byte[]? utf8) => utf8 is null ? null : Encoding.UTF8.GetString(utf8);

    /// <summary>Whether two texts, each held as a string or as UTF-8 (or null), are the same.</summary>
    public static bool Equal(string? a, byte[]? aUtf8, string? b, byte[]? bUtf8)
    {
        if (aUtf8 is not null && bUtf8 is not null) return aUtf8.AsSpan().SequenceEqual(bUtf8);
        return (a ?? ToStringOrNull(aUtf8)) == (b ?? ToStringOrNull(bUtf8));
    }

    /// <summary>
    /// The unescaped value of a JSON string as UTF-8, or null when it is not a string or its text is not valid Unicode
    /// (an escaped lone surrogate, invalid bytes): the caller then reads it as a string, which reports the problem as it
    /// always did.
    /// </summary>
    public static byte[]? FromJsonString(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.String) return null;
        return FromJsonStringValue(JsonMarshal.GetRawUtf8Value(value)[1..^1]); // the raw value without its quotes
    }

    /// <summary>
    /// <see cref="FromJsonString"/> for the raw bytes between a JSON string's quotes, already checked to be a valid JSON
    /// string (escapes, no control bytes): its unescaped UTF-8, or null when that is not valid Unicode.
    /// </summary>
    public static byte[]? FromJsonStringValue(ReadOnlySpan<byte> inner)
    {
        if (inner.IndexOf((byte)'\\') < 0) return Utf8.IsValid(inner) ? inner.ToArray() : null;
        // Unescaped text is never longer than escaped text (\uXXXX is 6 bytes for at most 3).
        var rented = ArrayPool<byte>.Shared.Rent(inner.Length);
        try
        {
            var written = Unescape(inner, rented);
            return written >= 0 && Utf8.IsValid(rented.AsSpan(0, written)) ? rented.AsSpan(0, written).ToArray() : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Unescapes the inside of a JSON string (which the document has already checked) into <paramref name="destination"/>
    /// and returns the bytes written, or -1 for an escape that is not text (a lone surrogate). Copies the runs between
    /// backslashes whole: much faster than <see cref="Utf8JsonReader.CopyString(Span{byte})"/> on prose with newlines.
    /// </summary>
    internal static int Unescape(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var written = 0;
        while (true)
        {
            var at = source.IndexOf((byte)'\\');
            if (at < 0)
            {
                source.CopyTo(destination[written..]);
                return written + source.Length;
            }
            source[..at].CopyTo(destination[written..]);
            written += at;
            if (at + 1 >= source.Length) return -1;
            var consumed = 2;
            switch (source[at + 1])
            {
                case (byte)'"': destination[written++] = (byte)'"'; break;
                case (byte)'\\': destination[written++] = (byte)'\\'; break;
                case (byte)'/': destination[written++] = (byte)'/'; break;
                case (byte)'b': destination[written++] = (byte)'\b'; break;
                case (byte)'f': destination[written++] = (byte)'\f'; break;
                case (byte)'n': destination[written++] = (byte)'\n'; break;
                case (byte)'r': destination[written++] = (byte)'\r'; break;
                case (byte)'t': destination[written++] = (byte)'\t'; break;
                case (byte)'u':
                    if (!TryHex4(source[(at + 2)..], out var unit)) return -1;
                    consumed = 6;
                    int scalar = unit;
                    if (char.IsHighSurrogate((char)unit))
                    {
                        // A pair is two escapes in a row: \uD83D\uDE80.
                        if (source.Length < at + 12 || source[at + 6] != '\\' || source[at + 7] != 'u'
                            || !TryHex4(source[(at + 8)..], out var low) || !char.IsLowSurrogate((char)low)) return -1;
                        scalar = char.ConvertToUtf32((char)unit, (char)low);
                        consumed = 12;
                    }
                    else if (char.IsLowSurrogate((char)unit))
                    {
                        return -1;
                    }
                    written += new Rune(scalar).EncodeToUtf8(destination[written..]);
                    break;
                default:
                    return -1;
            }
            source = source[(at + consumed)..];
        }
    }

    /// <summary>
    /// JSON text (valid JSON) whose strings all hold valid Unicode: bytes that are not UTF-8 become U+FFFD, and so does
    /// each escaped lone surrogate (<c>\ud800</c> without its pair), which a JSON writer refuses to write. Null when
    /// the text is already clean. Structure is untouched: outside strings JSON is ASCII, and an escape keeps its length.
    /// </summary>
    public static byte[]? CleanJsonText(ReadOnlySpan<byte> json)
    {
        byte[]? copy = Utf8.IsValid(json) ? null : Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json));
        ReadOnlySpan<byte> text = copy ?? json;
        for (var i = text.IndexOf((byte)'\\'); i >= 0 && i + 1 < text.Length; i = Next(text, i))
        {
            if (text[i + 1] != 'u' || !TryHex4(text[(i + 2)..], out var unit) || !char.IsSurrogate(unit)) continue;
            if (char.IsHighSurrogate(unit) && text.Length >= i + 12 && text[i + 6] == '\\' && text[i + 7] == 'u'
                && TryHex4(text[(i + 8)..], out var low) && char.IsLowSurrogate(low))
            {
                i += 6; // the pair's second half is skipped with it
                continue;
            }
            if (copy is null)
            {
                copy = text.ToArray();
                text = copy;
            }
            "uFFFD"u8.CopyTo(copy.AsSpan(i + 1));
        }
        return copy;

        // The next backslash after the escape at i (an escaped backslash is skipped whole).
        static int Next(ReadOnlySpan<byte> text, int i)
        {
            var from = i + (text[i + 1] == 'u' ? 6 : 2);
            if (from >= text.Length) return -1;
            var next = text[from..].IndexOf((byte)'\\');
            return next < 0 ? -1 : from + next;
        }
    }

    private static bool TryHex4(ReadOnlySpan<byte> source, out char value)
    {
        value = '\0';
        if (source.Length < 4) return false;
        var result = 0;
        for (var i = 0; i < 4; i++)
        {
            var digit = HexDigit(source[i]);
            if (digit < 0) return false;
            result = (result << 4) | digit;
        }
        value = (char)result;
        return true;
    }

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>The text as UTF-8, or null when it holds a lone surrogate (which UTF-8 cannot carry unchanged).</summary>
    public static byte[]? FromChars(ReadOnlySpan<char> text)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        try
        {
            return Utf8.FromUtf16(text, rented, out _, out var written, replaceInvalidSequences: false) == OperationStatus.Done
                ? rented.AsSpan(0, written).ToArray()
                : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
