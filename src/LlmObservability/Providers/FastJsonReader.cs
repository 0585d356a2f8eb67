using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;

namespace LlmObservability.Providers;

/// <summary>
/// A strict, forward-only JSON tokenizer for the fast paths (the readers that share <see cref="FastJsonFields"/>: whole
/// bodies of OpenAI chat, Responses, Anthropic Messages and Gemini, and the stream events of each). It finds the end
/// of a string with one vectorized search for a quote, backslash or control byte, where <see cref="Utf8JsonReader"/>
/// walks a string byte by byte from its first escape on: chat text escapes every newline, so that walk is most of the
/// time of parsing a chat body. On structure (short members, numbers, nulls) it is no faster than the document.
/// </summary>
/// <remarks>
/// It accepts less than <see cref="Utf8JsonReader"/> with default options, never more: RFC 8259 JSON with no comments
/// or trailing commas, strings of valid UTF-8 with valid escapes, nesting below 64, nothing after the root but
/// whitespace. Anything else makes <see cref="Read"/> return false with <see cref="Failed"/> set, and the caller then
/// takes the <see cref="JsonDocument"/> path, which decides what the input is. Escaped text is not unescaped here.
/// </remarks>
internal ref struct FastJsonReader
{
    private const int MaxDepth = 63;

    // What ends a run of plain string bytes: the closing quote, an escape, or a control byte (invalid in a string).
    private static readonly SearchValues<byte> StringSpecial = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    private readonly ReadOnlySpan<byte> _json;
    private int _position;
    private int _depth;
    private ulong _objects; // bit d: the container at depth d + 1 is an object
    private Expect _expect;
    private bool _emptyAllowed; // just after '{' or '[': the container may close at once

    private enum Expect : byte { Value, Name, CommaOrEnd, End }

    public FastJsonReader(ReadOnlySpan<byte> json)
    {
        _json = json;
        _expect = Expect.Value;
    }

    /// <summary>The token just read.</summary>
    public JsonTokenType TokenType { get; private set; }

    /// <summary>Strings and property names: the bytes between the quotes, still escaped. Numbers and literals: their text.</summary>
    public readonly ReadOnlySpan<byte> ValueSpan => _json.Slice(ValueStart, ValueLength);

    /// <summary>Where <see cref="ValueSpan"/> starts in the input.</summary>
    public int ValueStart { get; private set; }

    private int ValueLength { get; set; }

    /// <summary>The string or property name holds a backslash escape.</summary>
    public bool ValueIsEscaped { get; private set; }

    /// <summary>Where the current token starts (a string's opening quote).</summary>
    public int TokenStart { get; private set; }

    /// <summary>Where reading stopped: the byte after the current token.</summary>
    public readonly int Position => _position;

    /// <summary>The input is not JSON this reader accepts; every later <see cref="Read"/> returns false.</summary>
    public bool Failed { get; private set; }

    /// <summary>The whole input was read and is valid.</summary>
    public bool Finished { get; private set; }

    /// <summary>The input from <paramref name="start"/> (a token's start) to where reading stopped: a value's whole text once it is read or skipped.</summary>
    public readonly ReadOnlySpan<byte> Slice(int start) => _json[start.._position];

    /// <summary>Reads the next token: false at the end of the input (see <see cref="Finished"/>) or on anything invalid (see <see cref="Failed"/>).</summary>
    public bool Read()
    {
        if (Failed || Finished) return false;
        var json = _json;
        var i = SkipWhitespace(json, _position);
        while (true)
        {
            if (i >= json.Length)
            {
                if (_expect == Expect.End)
                {
                    _position = i;
                    Finished = true;
                    return false;
                }
                return Fail();
            }
            var c = json[i];
            switch (_expect)
            {
                case Expect.End:
                    return Fail(); // something after the root value

                case Expect.CommaOrEnd:
                    if (c == ',')
                    {
                        _expect = InObject ? Expect.Name : Expect.Value;
                        _emptyAllowed = false;
                        i = SkipWhitespace(json, i + 1);
                        continue;
                    }
                    return Close(c, i);

                case Expect.Name:
                    if (c == '"')
                    {
                        if (!ReadString(i)) return false;
                        TokenType = JsonTokenType.PropertyName;
                        var colon = SkipWhitespace(json, _position);
                        if (colon >= json.Length || json[colon] != ':') return Fail();
                        _position = colon + 1;
                        _expect = Expect.Value;
                        _emptyAllowed = false;
                        return true;
                    }
                    return _emptyAllowed && c == '}' ? Close(c, i) : Fail();

                default: // Expect.Value
                    return ReadValue(c, i);
            }
        }
    }

    /// <summary>
    /// After a property name, reads its value and skips it whole; after the start of an object or array, skips to its end;
    /// on a scalar, does nothing. False on invalid input.
    /// </summary>
    public bool Skip()
    {
        if (TokenType == JsonTokenType.PropertyName && !Read()) return false;
        if (TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) return true;
        var depth = _depth;
        while (Read())
        {
            if (_depth < depth) return true;
        }
        return false;
    }

    private readonly bool InObject => (_objects >> (_depth - 1) & 1) != 0;

    private bool ReadValue(byte c, int i)
    {
        TokenStart = i;
        switch (c)
        {
            case (byte)'{':
            case (byte)'[':
                if (_depth >= MaxDepth) return Fail();
                var isObject = c == '{';
                if (isObject) _objects |= 1UL << _depth;
                else _objects &= ~(1UL << _depth);
                _depth++;
                TokenType = isObject ? JsonTokenType.StartObject : JsonTokenType.StartArray;
                _position = i + 1;
                _expect = isObject ? Expect.Name : Expect.Value;
                _emptyAllowed = true;
                return true;
            case (byte)']' when _emptyAllowed && _depth > 0 && !InObject:
                return Close(c, i);
            case (byte)'"':
                if (!ReadString(i)) return false;
                TokenType = JsonTokenType.String;
                break;
            case (byte)'t':
                if (!ReadLiteral(i, "true"u8)) return false;
                TokenType = JsonTokenType.True;
                break;
            case (byte)'f':
                if (!ReadLiteral(i, "false"u8)) return false;
                TokenType = JsonTokenType.False;
                break;
            case (byte)'n':
                if (!ReadLiteral(i, "null"u8)) return false;
                TokenType = JsonTokenType.Null;
                break;
            default:
                if (c != '-' && (uint)(c - '0') > 9) return Fail();
                if (!ReadNumber(i)) return false;
                TokenType = JsonTokenType.Number;
                break;
        }
        AfterValue();
        return true;
    }

    private bool Close(byte c, int i)
    {
        if (_depth == 0 || c != (InObject ? (byte)'}' : (byte)']')) return Fail();
        TokenType = c == '}' ? JsonTokenType.EndObject : JsonTokenType.EndArray;
        TokenStart = i;
        _depth--;
        _position = i + 1;
        AfterValue();
        return true;
    }

    private void AfterValue()
    {
        _expect = _depth == 0 ? Expect.End : Expect.CommaOrEnd;
        _emptyAllowed = false;
    }

    /// <summary>The string whose opening quote is at <paramref name="quote"/>: finds its end, checks its escapes and UTF-8.</summary>
    private bool ReadString(int quote)
    {
        var json = _json;
        TokenStart = quote;
        var start = quote + 1;
        var i = start;
        var escaped = false;
        while (true)
        {
            var found = json[i..].IndexOfAny(StringSpecial);
            if (found < 0) return Fail();
            i += found;
            var c = json[i];
            if (c == '"') break;
            if (c != '\\') return Fail(); // a raw control byte
            escaped = true;
            if (i + 1 >= json.Length) return Fail();
            switch (json[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u':
                    if (i + 6 > json.Length || !IsHex(json[i + 2]) || !IsHex(json[i + 3]) || !IsHex(json[i + 4]) || !IsHex(json[i + 5])) return Fail();
                    i += 6;
                    break;
                default:
                    return Fail();
            }
        }
        var value = json[start..i];
        if (!Utf8.IsValid(value)) return Fail();
        ValueStart = start;
        ValueLength = value.Length;
        ValueIsEscaped = escaped;
        _position = i + 1;
        return true;
    }

    private bool ReadLiteral(int i, ReadOnlySpan<byte> literal)
    {
        if (!_json[i..].StartsWith(literal) || !EndsValue(i + literal.Length)) return Fail();
        SetValue(i, literal.Length);
        return true;
    }

    /// <summary>-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, then a delimiter.</summary>
    private bool ReadNumber(int start)
    {
        var json = _json;
        var i = start;
        if (json[i] == '-') i++;
        if (i >= json.Length) return Fail();
        if (json[i] == '0') i++;
        else if (!Digits(json, ref i)) return Fail();
        if (i < json.Length && json[i] == '.')
        {
            i++;
            if (!Digits(json, ref i)) return Fail();
        }
        if (i < json.Length && (json[i] | 0x20) == 'e')
        {
            i++;
            if (i < json.Length && json[i] is (byte)'+' or (byte)'-') i++;
            if (!Digits(json, ref i)) return Fail();
        }
        if (!EndsValue(i)) return Fail();
        SetValue(start, i - start);
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> json, ref int i)
    {
        var start = i;
        while (i < json.Length && (uint)(json[i] - '0') <= 9) i++;
        return i > start;
    }

    /// <summary>A number or literal must be followed by whitespace, a comma, a closing bracket or the end.</summary>
    private readonly bool EndsValue(int i) => i >= _json.Length || _json[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)',' or (byte)'}' or (byte)']';

    private void SetValue(int start, int length)
    {
        ValueStart = start;
        ValueLength = length;
        ValueIsEscaped = false;
        _position = start + length;
    }

    private static int SkipWhitespace(ReadOnlySpan<byte> json, int i)
    {
        while (i < json.Length && json[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r') i++;
        return i;
    }

    private static bool IsHex(byte c) => (uint)(c - '0') <= 9 || (uint)((c | 0x20) - 'a') <= 5;

    /// <summary>Stops reading, for a caller that declines the input: <see cref="Failed"/> is set and every later <see cref="Read"/> returns false. Returns false.</summary>
    public bool Stop() => Fail();

    private bool Fail()
    {
        Failed = true;
        return false;
    }
}
