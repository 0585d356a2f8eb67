using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using LlmObservability.Payload;

namespace LlmObservability.Providers;

/// <summary>
/// What the fast readers over <see cref="FastJsonReader"/> share (<see cref="OpenAiChatBodyReader"/>,
/// <see cref="AnthropicEventReader"/>, <see cref="AnthropicBodyReader"/>, <see cref="ResponsesEventReader"/>, <see cref="ResponsesBodyReader"/>,
/// <see cref="GeminiResponseReader"/>, <see cref="GeminiRequestReader"/>): walking an object's members by name, and
/// reading a value exactly as the document path's <see cref="Json"/> readers do, or declining it.
/// </summary>
internal static class FastJsonFields
{
    /// <summary>Member names as the UTF-8 that <c>NextMember</c> compares.</summary>
    internal static byte[][] Names(params string[] names) => [.. names.Select(Encoding.UTF8.GetBytes)];

    /// <summary>
    /// Moves to the object's next member and reads the first token of its value: <paramref name="field"/> is
    /// 1 &lt;&lt; the index of its name in <paramref name="names"/>, 0 for another name. False at the object's end, and
    /// when the reader stopped: on invalid input, or on a name that is escaped or one of <paramref name="names"/> given
    /// twice (the document path reads those, so the reader is stopped). A loop over the members ends at one of the two;
    /// <see cref="FastJsonReader.Failed"/> tells which.
    /// </summary>
    internal static bool NextMember(ref FastJsonReader reader, byte[][] names, ref int seen, out int field, out ReadOnlySpan<byte> name) =>
        NextMember(ref reader, names, null, ref seen, out field, out name);

    /// <summary>
    /// As <see cref="NextMember(ref FastJsonReader, byte[][], ref int, out int, out ReadOnlySpan{byte})"/>, with each
    /// name's field given in <paramref name="fields"/> (null: 1 &lt;&lt; its index). Names that share a field are one member
    /// under two spellings (Gemini's <c>systemInstruction</c> and <c>system_instruction</c>): given under both, it is
    /// given twice.
    /// </summary>
    internal static bool NextMember(ref FastJsonReader reader, byte[][] names, int[]? fields, ref int seen, out int field, out ReadOnlySpan<byte> name)
    {
        field = 0;
        name = default;
        if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName) return false;
        if (reader.ValueIsEscaped) return reader.Stop();
        name = reader.ValueSpan;
        for (var i = 0; i < names.Length; i++)
        {
            if (!name.SequenceEqual(names[i])) continue;
            field = fields is null ? 1 << i : fields[i];
            break;
        }
        if ((seen & field) != 0) return reader.Stop();
        seen |= field;
        return reader.Read();
    }

    /// <inheritdoc cref="NextMember(ref FastJsonReader, byte[][], ref int, out int, out ReadOnlySpan{byte})"/>
    internal static bool NextMember(ref FastJsonReader reader, byte[][] names, ref int seen, out int field) =>
        NextMember(ref reader, names, ref seen, out field, out _);

    /// <summary>After the root object's end: nothing but whitespace may follow.</summary>
    internal static bool AtEnd(ref FastJsonReader reader) =>
        !reader.Failed && reader.TokenType == JsonTokenType.EndObject && !reader.Read() && reader.Finished;

    // ---- values --------------------------------------------------------------------------------------------------

    /// <summary>The current string's text; false when it is not valid Unicode once unescaped (the document path throws there).</summary>
    internal static bool ReadString(ref FastJsonReader reader, out string? value)
    {
        value = null;
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped)
        {
            value = Encoding.UTF8.GetString(raw); // the reader checked the UTF-8
            return true;
        }
        // As Utf8Text.FromJsonStringValue, unescaped into a pooled buffer: the string is the only copy made.
        // Unescaped text is never longer than escaped text (\uXXXX is 6 bytes for at most 3).
        var rented = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            var written = Utf8Text.Unescape(raw, rented);
            if (written < 0 || !Utf8.IsValid(rented.AsSpan(0, written))) return false;
            value = Encoding.UTF8.GetString(rented, 0, written);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// A string's raw bytes (between the quotes, valid UTF-8 with valid escapes: the reader checked them) as UTF-16 in
    /// <paramref name="destination"/>, which must hold <paramref name="raw"/>'s length in chars (unescaped text is never
    /// longer); false when it is not valid Unicode once unescaped (the document path throws there).
    /// </summary>
    internal static bool ReadChars(ReadOnlySpan<byte> raw, bool escaped, Span<char> destination, out int written)
    {
        if (!escaped) return Utf8.ToUtf16(raw, destination, out _, out written, replaceInvalidSequences: false) == OperationStatus.Done;
        // Unescaped text is never longer than escaped text (\uXXXX is 6 bytes for at most 3).
        var bytes = ArrayPool<byte>.Shared.Rent(raw.Length);
        try
        {
            var length = Utf8Text.Unescape(raw, bytes);
            written = 0;
            return length >= 0 && Utf8.ToUtf16(bytes.AsSpan(0, length), destination, out _, out written, replaceInvalidSequences: false) == OperationStatus.Done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>The current string as unescaped UTF-8 (see <see cref="Utf8Text.FromJsonStringValue"/>); false when it is not valid Unicode.</summary>
    internal static bool ReadUtf8(ref FastJsonReader reader, out byte[]? value)
    {
        value = Utf8Text.FromJsonStringValue(reader.ValueSpan);
        return value is not null;
    }

    /// <summary>
    /// The object's one member of interest, <paramref name="name"/>, as a shared name (<see cref="ReadName"/>) when it
    /// is a string, the reader on the object's <c>{</c> (<c>incomplete_details.reason</c>, <c>promptFeedback.blockReason</c>,
    /// a format's <c>type</c>); null when absent or not a string.
    /// </summary>
    internal static bool ReadNameMember(ref FastJsonReader reader, byte[][] name, out string? value)
    {
        value = null;
        var seen = 0;
        while (NextMember(ref reader, name, ref seen, out var field))
        {
            var read = field == 1 && reader.TokenType == JsonTokenType.String ? ReadName(ref reader, out value) : reader.Skip();
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>
    /// A details object's counts (<c>prompt_tokens_details</c>, <c>cache_creation</c>, ...): the members named first
    /// and second in <paramref name="names"/>, each as <see cref="ReadLong"/> reads it, the reader on the object's <c>{</c>.
    /// </summary>
    internal static bool ReadCounts(ref FastJsonReader reader, byte[][] names, out long? first, out long? second)
    {
        first = second = null;
        var seen = 0;
        while (NextMember(ref reader, names, ref seen, out var field))
        {
            var read = field switch
            {
                1 => ReadLong(ref reader, out first),
                2 => ReadLong(ref reader, out second),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>The current <c>true</c> or <c>false</c> (the caller checked it is one of them).</summary>
    internal static bool ReadBool(ref FastJsonReader reader, out bool? value)
    {
        value = reader.TokenType == JsonTokenType.True;
        return true;
    }

    /// <summary>The value's JSON text, as <see cref="JsonElement.GetRawText"/> gives it (the reader checked the UTF-8).</summary>
    internal static bool ReadRawText(ref FastJsonReader reader, out string? text)
    {
        text = null;
        var start = reader.TokenStart;
        if (!reader.Skip()) return false;
        text = Encoding.UTF8.GetString(reader.Slice(start));
        return true;
    }

    /// <summary>A short name shared as <see cref="Json.Name(JsonElement, string)"/> shares it.</summary>
    internal static bool ReadName(ref FastJsonReader reader, out string? value)
    {
        if (reader.ValueIsEscaped || reader.ValueSpan.Length > 64) return ReadString(ref reader, out value);
        value = NameOf(reader.ValueSpan);
        return true;
    }

    /// <summary>A name given as UTF-8 (at most 64 bytes are shared), as <see cref="Json.Name(ReadOnlySpan{char})"/> makes it.</summary>
    internal static string NameOf(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > 64) return Encoding.UTF8.GetString(utf8);
        Span<char> text = stackalloc char[64];
        return Json.Name(text[..Encoding.UTF8.GetChars(utf8, text)]);
    }

    /// <summary>A count as <see cref="Json.Long"/> reads a whole number; false for anything it reads otherwise (a fraction, a numeric string).</summary>
    internal static bool ReadLong(ref FastJsonReader reader, out long? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (!Utf8Parser.TryParse(reader.ValueSpan, out long number, out var consumed) || consumed != reader.ValueSpan.Length) return false;
                value = number;
                return true;
            case JsonTokenType.String:
                return false;
            default:
                return reader.Skip();
        }
    }
}

/// <summary>
/// A fast event reader's reused UTF-16 buffer (<see cref="AnthropicEventReader"/>, <see cref="ResponsesEventReader"/>, <see cref="GeminiResponseReader"/>):
/// each string an event needs as text is transcoded into it at a position, the buffer growing (keeping what it holds)
/// when the string might not fit. A buffer one huge event grew is let go at the next, so it does not stay on its thread.
/// </summary>
internal sealed class CharScratch
{
    private char[] _chars = new char[256];

    /// <summary>Starts an event: lets go of a buffer grown past 64K chars by an earlier one.</summary>
    public void Reset()
    {
        if (_chars.Length > 64 * 1024) _chars = new char[256];
    }

    /// <summary>A string's raw bytes as text at <paramref name="at"/>, as <see cref="FastJsonFields.ReadChars"/> reads them; false when they are not valid Unicode once unescaped.</summary>
    public bool Read(ReadOnlySpan<byte> raw, bool escaped, int at, out int written)
    {
        if (_chars.Length - at < raw.Length) Array.Resize(ref _chars, Math.Max(_chars.Length * 2, at + raw.Length));
        return FastJsonFields.ReadChars(raw, escaped, _chars.AsSpan(at), out written);
    }

    /// <summary>Text read into the buffer, valid until the event's reader reads again.</summary>
    public ReadOnlySpan<char> Slice(int start, int length) => _chars.AsSpan(start, length);
}
