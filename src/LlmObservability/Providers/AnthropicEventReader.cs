using System.Buffers;
using System.Numerics;
using System.Text.Json;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for the events that make up almost all of an Anthropic stream: <c>content_block_delta</c> (one per
/// piece of text, thinking or tool input), <c>content_block_stop</c>, <c>ping</c> and <c>message_stop</c>. One
/// <see cref="FastJsonReader"/> pass, no <see cref="JsonDocument"/>, the delta's text transcoded into one reused
/// buffer and never made a string. A 50-token stream was parsed in ~26 µs through the
/// document, most of it spent building and querying a document per delta.
/// </summary>
/// <remarks>
/// It only reads: the stream parser applies what it read with the same code as the document path
/// (<c>AnthropicMessagesAdapter.EventParser</c>). It returns false for anything it does not read exactly as the
/// document path does, and the parser then takes that path: JSON that <see cref="FastJsonReader"/> does not accept (it
/// accepts less than the document, never more), a root that is not an object, a <c>type</c> that is missing or not a string (the document path falls back to the SSE event name
/// there), every other event type (<c>message_start</c>, <c>content_block_start</c>, <c>message_delta</c>,
/// <c>error</c>: once or twice a stream each), a field it reads given twice or under an escaped name, an escaped type,
/// an <c>index</c> that is not a whole number, text that is not valid Unicode once unescaped.
/// </remarks>
internal sealed class AnthropicEventReader
{
    [ThreadStatic]
    private static AnthropicEventReader? t_reader;

    private readonly CharScratch _chars = new();

    /// <summary>This thread's reader: its buffer is scratch for one event, so one per thread serves every stream.</summary>
    public static AnthropicEventReader ForThisThread => t_reader ??= new AnthropicEventReader();

    /// <summary>Reads one event's data. False: not read; use the document path.</summary>
    /// <param name="json">The event's data.</param>
    /// <param name="shape">
    /// The stream's memo of its last delta (null: none kept). Consecutive deltas of a block are the same bytes but for
    /// their text: an event that is the remembered one with other plain text (no quote, escape or control byte) is
    /// read from that text alone, without tokenizing the rest again.
    /// </param>
    /// <param name="read">What the event says.</param>
    public bool TryRead(ReadOnlySpan<byte> json, DeltaShape? shape, out AnthropicEvent read)
    {
        read = default;
        _chars.Reset();
        if (shape is not null && shape.Matches(json, out var plain))
        {
            if (_chars.Read(plain, escaped: false, 0, out var count))
            {
                read = new AnthropicEvent(EventType.Delta, shape.Index, shape.Kind, _chars.Slice(0, count));
                return true;
            }
        }
        var type = EventType.None;
        long? index = null;
        var delta = DeltaKind.None;
        Span<Text> values = stackalloc Text[3]; // text, partial_json, thinking: DeltaKind.Text, InputJson, Thinking less one
        var used = 0;
        var reader = new FastJsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        var seen = 0;
        while (FastJsonFields.NextMember(ref reader, RootNames, ref seen, out var field))
        {
            var ok = field switch
            {
                1 => reader.TokenType == JsonTokenType.String && TryEventType(ref reader, out type),
                2 => FastJsonFields.ReadLong(ref reader, out index),
                4 when reader.TokenType == JsonTokenType.StartObject => ReadDelta(ref reader, values, ref used, out delta),
                _ => reader.Skip(), // a delta that is not an object is no delta, as for the document path
            };
            if (!ok) return false;
        }
        if (reader.Failed || reader.TokenType != JsonTokenType.EndObject || reader.Read() || !reader.Finished || type == EventType.None) return false;
        var value = delta is DeltaKind.None or DeltaKind.Other ? default : values[(int)delta - 1];
        read = new AnthropicEvent(type, (int)Math.Clamp(index ?? 0, 0, int.MaxValue), delta, _chars.Slice(value.Start, value.Length));
        if (shape is not null && type == EventType.Delta && value.RawEnd > 0) shape.Remember(json, value.RawStart, value.RawEnd, read.Index, delta);
        return true;
    }

    private static readonly byte[][] RootNames = FastJsonFields.Names("type", "index", "delta");
    private static readonly byte[][] DeltaNames = FastJsonFields.Names("type", "text", "partial_json", "thinking");

    /// <summary>The event types read here; false for the others, which the document path reads (an escaped type is one of them: its raw bytes hold a backslash).</summary>
    private static bool TryEventType(ref FastJsonReader reader, out EventType type)
    {
        var value = reader.ValueSpan;
        type = value.SequenceEqual("content_block_delta"u8) ? EventType.Delta
            : value.SequenceEqual("content_block_stop"u8) ? EventType.Stop
            : value.SequenceEqual("ping"u8) ? EventType.Ping
            : value.SequenceEqual("message_stop"u8) ? EventType.MessageStop
            : EventType.None;
        return type != EventType.None;
    }

    /// <summary>The delta's type and its three text fields; each field's text lands in the buffer, whichever type it turns out to be.</summary>
    private bool ReadDelta(ref FastJsonReader reader, scoped Span<Text> values, ref int used, out DeltaKind kind)
    {
        kind = DeltaKind.Other; // an object without a known type: the document path reads nothing from it
        var seen = 0;
        while (FastJsonFields.NextMember(ref reader, DeltaNames, ref seen, out var field))
        {
            bool ok;
            if (field == 1 && reader.TokenType == JsonTokenType.String)
            {
                if (reader.ValueIsEscaped) return false; // it may unescape to a known type, which the raw bytes would not match
                var value = reader.ValueSpan;
                kind = value.SequenceEqual("text_delta"u8) ? DeltaKind.Text
                    : value.SequenceEqual("input_json_delta"u8) ? DeltaKind.InputJson
                    : value.SequenceEqual("thinking_delta"u8) ? DeltaKind.Thinking
                    : DeltaKind.Other;
                ok = true;
            }
            else if (field is 2 or 4 or 8 && reader.TokenType == JsonTokenType.String)
            {
                ok = ReadString(ref reader, ref used, out values[BitOperations.Log2((uint)field) - 1]);
            }
            else
            {
                ok = reader.Skip();
            }
            if (!ok) return false;
        }
        return !reader.Failed;
    }

    /// <summary>Transcodes the current string into the buffer; false when it is not valid Unicode once unescaped (the document path throws there).</summary>
    private bool ReadString(ref FastJsonReader reader, ref int used, out Text text)
    {
        text = default;
        var raw = reader.ValueSpan; // valid UTF-8 with valid escapes: the reader checked
        if (!_chars.Read(raw, reader.ValueIsEscaped, used, out var written)) return false;
        text = new Text(used, written, reader.ValueStart, reader.ValueStart + raw.Length);
        used += written;
        return true;
    }

    /// <summary>A string's text in the buffer, and where its raw bytes lie in the event (between the quotes).</summary>
    private readonly record struct Text(int Start, int Length, int RawStart, int RawEnd);

    /// <summary>The events this reader reads.</summary>
    public enum EventType
    {
        None,
        Delta,
        Stop,
        Ping,
        MessageStop,
    }

    /// <summary>A <c>content_block_delta</c>'s kind. <see cref="None"/>: no delta object; <see cref="Other"/>: one the parser records nothing of.</summary>
    public enum DeltaKind
    {
        None,
        Text,
        InputJson,
        Thinking,
        Other,
    }
}

/// <summary>
/// One stream's memo for <see cref="AnthropicEventReader"/>: the last delta it read whole, as the bytes before and after
/// the string that carried its text, partial JSON or thinking, with its index and kind.
/// </summary>
internal sealed class DeltaShape
{
    // What a string read as it is cannot hold: its closing quote, an escape, a control byte.
    private static readonly SearchValues<byte> NotPlain = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    private byte[] _bytes = [];
    private int _head = -1; // bytes before the string; -1: nothing remembered
    private int _tail;      // bytes after it, from its closing quote

    public int Index { get; private set; }

    public AnthropicEventReader.DeltaKind Kind { get; private set; }

    /// <summary>Keeps the shape of a delta read whole, whose value is the string between <paramref name="start"/> and <paramref name="end"/>.</summary>
    public void Remember(ReadOnlySpan<byte> json, int start, int end, int index, AnthropicEventReader.DeltaKind kind)
    {
        var tail = json.Length - end;
        if (start + tail > 1024)
        {
            _head = -1; // an unusual delta with a long head is not worth keeping
            return;
        }
        if (_bytes.Length < start + tail) _bytes = new byte[Math.Max(256, (start + tail) * 2)];
        json[..start].CopyTo(_bytes);
        json[end..].CopyTo(_bytes.AsSpan(start));
        (_head, _tail, Index, Kind) = (start, tail, index, kind);
    }

    /// <summary>
    /// This event is the remembered delta with another string made only of plain bytes: then it says the same as that
    /// delta but for the value, which is <paramref name="plain"/>, still to be checked as UTF-8.
    /// </summary>
    public bool Matches(ReadOnlySpan<byte> json, out ReadOnlySpan<byte> plain)
    {
        plain = default;
        if (_head < 0 || json.Length < _head + _tail) return false;
        if (!json.StartsWith(_bytes.AsSpan(0, _head)) || !json.EndsWith(_bytes.AsSpan(_head, _tail))) return false;
        plain = json[_head..^_tail];
        return plain.IndexOfAny(NotPlain) < 0;
    }
}

/// <summary>One event as <see cref="AnthropicEventReader"/> read it; <see cref="Value"/> lives in the reader's buffer until its next read.</summary>
internal readonly ref struct AnthropicEvent(AnthropicEventReader.EventType type, int index, AnthropicEventReader.DeltaKind delta, ReadOnlySpan<char> value)
{
    public AnthropicEventReader.EventType Type { get; } = type;

    /// <summary>The block's index, clamped to 0 … <see cref="int.MaxValue"/> as the document path does.</summary>
    public int Index { get; } = index;

    public AnthropicEventReader.DeltaKind Delta { get; } = delta;

    /// <summary>The delta's text, partial JSON or thinking, as its kind says.</summary>
    public ReadOnlySpan<char> Value { get; } = value;
}
