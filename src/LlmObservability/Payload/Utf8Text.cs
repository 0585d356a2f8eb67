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
        var raw = JsonMarshal.GetRawUtf8Value(value); // with its quotes
        var inner = raw[1..^1];
        if (inner.IndexOf((byte)'\\') < 0) return Utf8.IsValid(inner) ? inner.ToArray() : null;
        var rented = ArrayPool<byte>.Shared.Rent(inner.Length);
        try
        {
            var reader = new Utf8JsonReader(raw);
            reader.Read();
            var unescaped = rented.AsSpan(0, reader.CopyString(rented));
            return Utf8.IsValid(unescaped) ? unescaped.ToArray() : null;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

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
