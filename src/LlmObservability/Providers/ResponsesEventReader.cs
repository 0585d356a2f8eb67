using System.Text.Json;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for the events that make up almost all of an OpenAI Responses stream: the deltas
/// (<c>response.output_text.delta</c>, <c>response.refusal.delta</c>, <c>response.function_call_arguments.delta</c>,
/// <c>response.custom_tool_call_input.delta</c>, <c>response.reasoning_summary_text.delta</c>,
/// <c>response.reasoning_text.delta</c>), and the events once per part that the stream parser records nothing of
/// (<c>response.content_part.added</c>/<c>.done</c>, <c>response.output_text.done</c>, ...). One
/// <see cref="FastJsonReader"/> pass, no <see cref="JsonDocument"/>; the delta and the reasoning's item ID are
/// transcoded into one reused buffer, and only for the events whose parser reads them.
/// </summary>
/// <remarks>
/// It only reads: the stream parser applies what it read with the same code as the document path
/// (<c>OpenAiResponsesAdapter.EventParser</c>). It returns false for anything it does not read exactly as the document
/// path does, and the parser then takes that path: JSON that <see cref="FastJsonReader"/> does not accept (it accepts
/// less than the document, never more), a root that is not an object, a <c>type</c> that is missing or not a string
/// (the document path falls back to the SSE event name there), an escaped type, every other event type
/// (<c>response.created</c>, <c>.in_progress</c>, <c>.output_item.added</c>/<c>.done</c>,
/// <c>.function_call_arguments.done</c>, <c>.completed</c>, <c>error</c>, ...: once or twice a stream each), a field
/// it reads given twice or under an escaped name, an index that is not a whole number, text the parser reads that is
/// not valid Unicode once unescaped. Real deltas differ in more than their text (<c>sequence_number</c>, the random
/// <c>obfuscation</c>), so there is no memo of the previous delta as <see cref="DeltaShape"/> keeps for Anthropic.
/// </remarks>
internal sealed class ResponsesEventReader
{
    [ThreadStatic]
    private static ResponsesEventReader? t_reader;

    private readonly CharScratch _chars = new();

    /// <summary>This thread's reader: its buffer is scratch for one event, so one per thread serves every stream.</summary>
    public static ResponsesEventReader ForThisThread => t_reader ??= new ResponsesEventReader();

    private static readonly byte[][] RootNames = FastJsonFields.Names("type", "delta", "output_index", "item_id", "summary_index", "content_index");

    /// <summary>Reads one event's data. False: not read; use the document path.</summary>
    public bool TryRead(ReadOnlySpan<byte> json, out ResponsesEvent read)
    {
        read = default;
        _chars.Reset();
        var type = EventType.None;
        long? outputIndex = null, summaryIndex = null, contentIndex = null;
        RawString delta = default, itemId = default;
        var reader = new FastJsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        var seen = 0;
        while (FastJsonFields.NextMember(ref reader, RootNames, ref seen, out var field))
        {
            var ok = field switch
            {
                1 => reader.TokenType == JsonTokenType.String && TryEventType(ref reader, out type),
                2 => Raw(ref reader, out delta),
                4 => FastJsonFields.ReadLong(ref reader, out outputIndex),
                8 => Raw(ref reader, out itemId),
                16 => FastJsonFields.ReadLong(ref reader, out summaryIndex),
                32 => FastJsonFields.ReadLong(ref reader, out contentIndex),
                _ => reader.Skip(),
            };
            if (!ok) return false;
        }
        if (!FastJsonFields.AtEnd(ref reader) || type == EventType.None) return false;
        if (type == EventType.NoOp)
        {
            read = new ResponsesEvent(type, 0, default, default, 0);
            return true;
        }
        // The document path reads the delta, and the rest only when the delta has text: so does this.
        if (!Chars(json, delta, 0, out var text)) return false;
        var item = 0;
        if (type == EventType.Reasoning && text > 0 && !Chars(json, itemId, text, out item)) return false;
        read = new ResponsesEvent(type, (int)Math.Clamp(outputIndex ?? 0, 0, int.MaxValue), _chars.Slice(0, text), _chars.Slice(text, item), summaryIndex ?? contentIndex ?? 0);
        return true;
    }

    /// <summary>The event types read here; false for the others, which the document path reads (an escaped type is one of them: its raw bytes hold a backslash).</summary>
    private static bool TryEventType(ref FastJsonReader reader, out EventType type)
    {
        type = reader.ValueSpan switch
        {
            var v when v.SequenceEqual("response.output_text.delta"u8) => EventType.OutputText,
            var v when v.SequenceEqual("response.refusal.delta"u8) => EventType.Refusal,
            var v when v.SequenceEqual("response.function_call_arguments.delta"u8) || v.SequenceEqual("response.custom_tool_call_input.delta"u8) => EventType.Arguments,
            var v when v.SequenceEqual("response.reasoning_summary_text.delta"u8) || v.SequenceEqual("response.reasoning_text.delta"u8) => EventType.Reasoning,
            // Once per part or item, and nothing the document path records.
            var v when v.SequenceEqual("response.output_text.done"u8) || v.SequenceEqual("response.content_part.added"u8)
                || v.SequenceEqual("response.content_part.done"u8) || v.SequenceEqual("response.refusal.done"u8)
                || v.SequenceEqual("response.reasoning_summary_part.added"u8) || v.SequenceEqual("response.reasoning_summary_part.done"u8)
                || v.SequenceEqual("response.reasoning_summary_text.done"u8) || v.SequenceEqual("response.reasoning_text.done"u8) => EventType.NoOp,
            _ => EventType.None,
        };
        return type != EventType.None;
    }

    /// <summary>Where a string value lies, to transcode once the event's type says it is read; a value that is not a string is none (as the document path reads it).</summary>
    private static bool Raw(ref FastJsonReader reader, out RawString value)
    {
        value = reader.TokenType == JsonTokenType.String ? new RawString(reader.ValueStart, reader.ValueSpan.Length, reader.ValueIsEscaped) : default;
        return reader.TokenType == JsonTokenType.String || reader.Skip();
    }

    /// <summary>Transcodes a string into the buffer at <paramref name="at"/>; <paramref name="length"/>: its length in chars. False when it is not valid Unicode once unescaped (the document path throws there).</summary>
    private bool Chars(ReadOnlySpan<byte> json, RawString value, int at, out int length)
    {
        length = 0;
        if (value.Length == 0) return true;
        return _chars.Read(json.Slice(value.Start, value.Length), value.Escaped, at, out length);
    }

    /// <summary>A string's raw bytes in the event (between the quotes); length 0: empty, absent or not a string.</summary>
    private readonly record struct RawString(int Start, int Length, bool Escaped);

    /// <summary>The events this reader reads.</summary>
    public enum EventType
    {
        None,
        OutputText,
        Refusal,
        Arguments,
        Reasoning,
        NoOp,
    }
}

/// <summary>One event as <see cref="ResponsesEventReader"/> read it; the text lives in the reader's buffer until its next read.</summary>
internal readonly ref struct ResponsesEvent(ResponsesEventReader.EventType type, int outputIndex, ReadOnlySpan<char> delta, ReadOnlySpan<char> itemId, long partIndex)
{
    public ResponsesEventReader.EventType Type { get; } = type;

    /// <summary><c>output_index</c>, clamped to 0 … <see cref="int.MaxValue"/> as the document path does.</summary>
    public int OutputIndex { get; } = outputIndex;

    /// <summary>The delta's text (empty: absent, empty or not a string).</summary>
    public ReadOnlySpan<char> Delta { get; } = delta;

    /// <summary>A reasoning delta's <c>item_id</c> (empty: absent or not a string), read only when the delta has text.</summary>
    public ReadOnlySpan<char> ItemId { get; } = itemId;

    /// <summary>A reasoning delta's <c>summary_index</c>, else its <c>content_index</c>, else 0.</summary>
    public long PartIndex { get; } = partIndex;
}
