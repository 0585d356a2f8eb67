using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using LlmObservability.Capture;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for the common <c>chat.completion.chunk</c>: one forward-only <see cref="Utf8JsonReader"/> pass with
/// UTF-8 property names, no <see cref="JsonDocument"/>, strings transcoded into one reused buffer and turned into
/// .NET strings only when the record takes them (the first id and model, a finish reason, a new service tier).
/// </summary>
/// <remarks>
/// It reads everything first and changes the record only when the whole chunk was understood; anything it does not
/// handle exactly as the <see cref="JsonDocument"/> path does (invalid JSON or UTF-8, a field it reads given twice, an
/// <c>error</c>, a <c>usage</c> or <c>x_groq</c> object, a tool call that is not an object, a root that is not an
/// object, a <c>delta.content</c> given as an array of parts (Mistral's reasoning models, whose thinking parts are
/// reasoning), a legacy <c>delta.function_call</c>) makes <see cref="TryRead"/> return false with the record
/// untouched, and the caller then takes that path.
/// So the fast path changes the cost of a chunk, never what is recorded from it.
/// </remarks>
internal sealed class OpenAiChatChunkReader
{
    [ThreadStatic]
    private static OpenAiChatChunkReader? t_reader;

    private readonly List<Choice> _choices = [];
    private readonly List<ToolCall> _toolCalls = [];
    private char[] _chars = new char[512];
    private int _charCount;
    private int _base; // where the reader's span starts in the chunk (the prefix length when resumed)

    /// <summary>
    /// This thread's reader. Its buffers are only scratch for one <see cref="TryRead"/> call, so one per thread serves
    /// every stream (chunks are parsed on the dispatcher's loop) without allocating per call.
    /// </summary>
    public static OpenAiChatChunkReader ForThisThread => t_reader ??= new OpenAiChatChunkReader();

    /// <summary>Reads one chunk into the record. False: not read, nothing changed; use the general path.</summary>
    /// <param name="json">The chunk: one SSE event's data.</param>
    /// <param name="record">The call the stream belongs to.</param>
    /// <param name="limits">Caps on the text kept.</param>
    /// <param name="hadContent">The chunk carried text, reasoning, a refusal or tool calls.</param>
    /// <param name="prefix">
    /// The stream's memo of its previous chunk (null: none). Consecutive chunks of a stream repeat their bytes up to the
    /// <c>choices</c> array (id, object, created, model, service tier, fingerprint); when this chunk starts with the same
    /// bytes as the previous one, which this reader took whole, those fields change nothing now (the record already
    /// holds what they say) and the read resumes at <c>choices</c> with the reader state saved there.
    /// </param>
    public bool TryRead(ReadOnlySpan<byte> json, CallRecord record, CaptureLimits limits, out bool hadContent, ChunkPrefix? prefix = null)
    {
        if (TryReadChunk(json, record, limits, out hadContent, prefix)) return true;
        prefix?.Forget(); // the general path reads this chunk and may change what the saved prefix stood for
        return false;
    }

    private bool TryReadChunk(ReadOnlySpan<byte> json, CallRecord record, CaptureLimits limits, out bool hadContent, ChunkPrefix? prefix)
    {
        hadContent = false;
        if (_chars.Length > 64 * 1024) _chars = new char[512]; // a huge chunk once does not pin its buffer on this thread
        _choices.Clear();
        _toolCalls.Clear();
        _charCount = 0;
        Text id = default, model = default, serviceTier = default;
        var resumed = prefix is not null && prefix.Matches(json);
        if (resumed && prefix!.MatchesContentShape(json, out var plainContent) && TryAppendPlainContent(plainContent, record, limits, out hadContent)) return true;
        _base = resumed ? prefix!.Length : 0;
        int prefixLength = 0, prefixSeen = 0;
        JsonReaderState prefixState = default;
        try
        {
            var reader = resumed ? new Utf8JsonReader(json[prefix!.Length..], isFinalBlock: true, prefix.State) : new Utf8JsonReader(json);
            var seen = resumed ? prefix!.Seen : 0;
            var pending = resumed ? 1 : 0; // resumed: positioned just after the name "choices"
            if (!resumed && (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)) return false;
            while (true)
            {
                var field = pending;
                if (pending != 0)
                {
                    pending = 0;
                }
                else
                {
                    if (!reader.Read() || reader.TokenType != JsonTokenType.PropertyName) break;
                    field = reader.ValueTextEquals("choices"u8) ? 1
                        : reader.ValueTextEquals("id"u8) ? 2
                        : reader.ValueTextEquals("model"u8) ? 4
                        : reader.ValueTextEquals("service_tier"u8) ? 8
                        : reader.ValueTextEquals("usage"u8) ? 16
                        : reader.ValueTextEquals("error"u8) ? 32
                        : reader.ValueTextEquals("x_groq"u8) ? 64
                        : 0;
                    if ((seen & field) != 0) return false;
                    seen |= field;
                    if (field == 1 && !resumed)
                    {
                        prefixLength = (int)reader.BytesConsumed;
                        prefixState = reader.CurrentState;
                        prefixSeen = seen;
                    }
                }
                reader.Read();
                switch (field)
                {
                    case 1 when reader.TokenType == JsonTokenType.StartArray:
                        if (!ReadChoices(ref reader)) return false;
                        break;
                    // Only taken while the record has none, as the general path does (??=).
                    case 2 when reader.TokenType == JsonTokenType.String && record.ResponseId is null:
                        if (!ReadString(ref reader, out id)) return false;
                        break;
                    case 4 when reader.TokenType == JsonTokenType.String && record.ResponseModel is null:
                        if (!ReadString(ref reader, out model)) return false;
                        break;
                    case 8 when reader.TokenType == JsonTokenType.String:
                        if (!ReadString(ref reader, out serviceTier)) return false;
                        break;
                    case 16 or 64 when reader.TokenType == JsonTokenType.StartObject:
                        return false; // usage: once per stream, read by the general path
                    case 32 when reader.TokenType != JsonTokenType.Null:
                        return false; // an error inside the stream
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or FormatException)
        {
            return false;
        }

        if (prefix is not null && !resumed)
        {
            if (prefixLength > 0) prefix.Remember(json[..prefixLength], prefixState, prefixSeen);
            else prefix.Forget();
        }
        if (prefix is { Length: > 0 })
        {
            // The shape is kept only from the chunk just read, so the record is always in the state that chunk left it.
            if (ContentOnly() is { } content) prefix.RememberContentShape(json, content.Start, content.End);
            else prefix.ForgetContentShape();
        }

        // The whole chunk was understood: apply it in the general path's order.
        if (id.Length > 0) record.ResponseId ??= Chars(id).ToString();
        if (model.Length > 0) record.ResponseModel ??= Json.Name(Chars(model));
        if (serviceTier.Present && (record.ServiceTier is null || !Chars(serviceTier).SequenceEqual(record.ServiceTier))) record.ServiceTier = Json.Name(Chars(serviceTier));
        foreach (var choice in _choices)
        {
            if (choice.FinishReason.Length > 0) record.AddFinishReason(Json.Name(Chars(choice.FinishReason)));
            if ((choice.Index ?? 0) != 0 || !choice.HasDelta) continue;
            if (choice.Content.Length > 0)
            {
                record.Output(limits.MaxContentChars).Append(Chars(choice.Content));
                hadContent = true;
            }
            if (choice.Refusal.Length > 0)
            {
                (record.RefusalText ??= new TextAccumulator(limits.MaxContentChars)).Append(Chars(choice.Refusal));
                hadContent = true;
            }
            var reasoning = choice.ReasoningContentPresent ? choice.ReasoningContent : choice.Reasoning;
            if (reasoning.Length > 0)
            {
                (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(Chars(reasoning));
                hadContent = true;
            }
            if (choice.HasToolCalls)
            {
                record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                for (var i = choice.FirstToolCall; i < choice.FirstToolCall + choice.ToolCallCount; i++)
                {
                    var call = _toolCalls[i];
                    var builder = record.ToolCalls[(int)(call.Index ?? 0)];
                    if (call.Id.Present) builder.Id ??= Chars(call.Id).ToString();
                    if (call.Type.Present) builder.Type ??= Chars(call.Type).ToString();
                    if (call.HasFunction)
                    {
                        if (call.Name.Present) builder.Name ??= Chars(call.Name).ToString();
                        if (call.Arguments.Length > 0) builder.Arguments.Append(Chars(call.Arguments));
                    }
                }
                hadContent = true;
            }
        }
        return true;
    }

    /// <summary>
    /// The content's byte range when the chunk just read changed the record only by its content: one choice, index 0,
    /// a delta with a content string and nothing else that adds to the record (no finish reason, refusal, reasoning or
    /// tool calls). A chunk equal to it outside the content string then has exactly the same effect but its content.
    /// </summary>
    private (int Start, int End)? ContentOnly()
    {
        if (_choices.Count != 1 || _toolCalls.Count != 0) return null;
        var choice = _choices[0];
        if ((choice.Index ?? 0) != 0 || !choice.HasDelta || !choice.Content.Present || choice.ContentEnd == 0) return null;
        if (choice.FinishReason.Length > 0 || choice.Refusal.Length > 0 || choice.ReasoningContent.Length > 0 || choice.Reasoning.Length > 0 || choice.HasToolCalls) return null;
        return (choice.ContentStart, choice.ContentEnd);
    }

    /// <summary>
    /// Appends the content of a chunk shaped like the previous one (<see cref="ChunkPrefix.MatchesContentShape"/>): the
    /// plain bytes of its content string, which the reader would have read as they are. False for invalid UTF-8 (the
    /// reader declines those too), nothing changed.
    /// </summary>
    private bool TryAppendPlainContent(ReadOnlySpan<byte> content, CallRecord record, CaptureLimits limits, out bool hadContent)
    {
        hadContent = false;
        if (_chars.Length < content.Length) _chars = new char[Math.Max(_chars.Length * 2, content.Length)];
        if (Utf8.ToUtf16(content, _chars, out _, out var written, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done) return false;
        if (written == 0) return true;
        record.Output(limits.MaxContentChars).Append(_chars.AsSpan(0, written));
        hadContent = true;
        return true;
    }

    private bool ReadChoices(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip(); // not an object: the general path reads nothing from it
                continue;
            }
            var choice = new Choice();
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("delta"u8) ? 1
                    : reader.ValueTextEquals("index"u8) ? 2
                    : reader.ValueTextEquals("finish_reason"u8) ? 4
                    : 0;
                if ((seen & field) != 0) return false;
                seen |= field;
                reader.Read();
                switch (field)
                {
                    case 1 when reader.TokenType == JsonTokenType.StartObject:
                        choice.HasDelta = true;
                        if (!ReadDelta(ref reader, ref choice)) return false;
                        break;
                    case 2:
                        if (!ReadLong(ref reader, out choice.Index)) return false;
                        break;
                    case 4 when reader.TokenType == JsonTokenType.String:
                        if (!ReadString(ref reader, out choice.FinishReason)) return false;
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            _choices.Add(choice);
        }
        return true;
    }

    private bool ReadDelta(ref Utf8JsonReader reader, ref Choice choice)
    {
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("content"u8) ? 1
                : reader.ValueTextEquals("tool_calls"u8) ? 2
                : reader.ValueTextEquals("refusal"u8) ? 4
                : reader.ValueTextEquals("reasoning_content"u8) ? 8
                : reader.ValueTextEquals("reasoning"u8) ? 16
                : reader.ValueTextEquals("function_call"u8) ? 32
                : 0;
            if ((seen & field) != 0) return false;
            seen |= field;
            reader.Read();
            if (field == 8) choice.ReasoningContentPresent = reader.TokenType != JsonTokenType.Null;
            switch (field)
            {
                case 1 when reader.TokenType == JsonTokenType.String:
                    if (!reader.HasValueSequence)
                    {
                        choice.ContentStart = _base + (int)reader.TokenStartIndex + 1; // after the opening quote
                        choice.ContentEnd = choice.ContentStart + reader.ValueSpan.Length;
                    }
                    if (!ReadString(ref reader, out choice.Content)) return false;
                    break;
                case 1 when reader.TokenType == JsonTokenType.StartArray:
                    return false; // content parts (thinking and text): rare enough to leave to the document path
                case 32 when reader.TokenType == JsonTokenType.StartObject:
                    return false; // the legacy function call: likewise
                case 2 when reader.TokenType == JsonTokenType.StartArray:
                    choice.HasToolCalls = true;
                    choice.FirstToolCall = _toolCalls.Count;
                    if (!ReadToolCalls(ref reader)) return false;
                    choice.ToolCallCount = _toolCalls.Count - choice.FirstToolCall;
                    break;
                case 4 when reader.TokenType == JsonTokenType.String:
                    if (!ReadString(ref reader, out choice.Refusal)) return false;
                    break;
                case 8 when reader.TokenType == JsonTokenType.String:
                    if (!ReadString(ref reader, out choice.ReasoningContent)) return false;
                    break;
                case 16 when reader.TokenType == JsonTokenType.String:
                    if (!ReadString(ref reader, out choice.Reasoning)) return false;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return true;
    }

    private bool ReadToolCalls(ref Utf8JsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject) return false;
            var call = new ToolCall();
            var seen = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("index"u8) ? 1
                    : reader.ValueTextEquals("function"u8) ? 2
                    : reader.ValueTextEquals("id"u8) ? 4
                    : reader.ValueTextEquals("type"u8) ? 8
                    : 0;
                if ((seen & field) != 0) return false;
                seen |= field;
                reader.Read();
                switch (field)
                {
                    case 1:
                        if (!ReadLong(ref reader, out call.Index)) return false;
                        break;
                    case 2 when reader.TokenType == JsonTokenType.StartObject:
                        call.HasFunction = true;
                        if (!ReadFunction(ref reader, ref call)) return false;
                        break;
                    case 4 when reader.TokenType == JsonTokenType.String:
                        if (!ReadString(ref reader, out call.Id)) return false;
                        break;
                    case 8 when reader.TokenType == JsonTokenType.String:
                        if (!ReadString(ref reader, out call.Type)) return false;
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            _toolCalls.Add(call);
        }
        return true;
    }

    private bool ReadFunction(ref Utf8JsonReader reader, ref ToolCall call)
    {
        var seen = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("arguments"u8) ? 1 : reader.ValueTextEquals("name"u8) ? 2 : 0;
            if ((seen & field) != 0) return false;
            seen |= field;
            reader.Read();
            switch (field)
            {
                case 1 when reader.TokenType == JsonTokenType.String:
                    if (!ReadString(ref reader, out call.Arguments)) return false;
                    break;
                case 2 when reader.TokenType == JsonTokenType.String:
                    if (!ReadString(ref reader, out call.Name)) return false;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return true;
    }

    /// <summary>A number as <see cref="Json.Long"/> reads it (integer, else a double in range, else a numeric string); JSON null and other kinds are none.</summary>
    private bool ReadLong(ref Utf8JsonReader reader, out long? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (reader.TryGetInt64(out var l)) value = l;
                else if (reader.TryGetDouble(out var d) && d >= long.MinValue && d <= long.MaxValue) value = (long)d;
                return true;
            case JsonTokenType.String:
                if (!ReadString(ref reader, out var text)) return false;
                if (long.TryParse(Chars(text), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed)) value = parsed;
                return true;
            default:
                reader.Skip();
                return true;
        }
    }

    /// <summary>Transcodes the current string into the buffer; false when it is not valid UTF-8 (the general path throws there).</summary>
    private bool ReadString(ref Utf8JsonReader reader, out Text text)
    {
        text = default;
        var raw = reader.HasValueSequence ? (int)reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (_chars.Length - _charCount < raw) Array.Resize(ref _chars, Math.Max(_chars.Length * 2, _charCount + raw));
        var destination = _chars.AsSpan(_charCount);
        int written;
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            if (Utf8.ToUtf16(reader.ValueSpan, destination, out _, out written, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done) return false;
        }
        else
        {
            written = reader.CopyString(destination); // throws InvalidOperationException on invalid UTF-8
        }
        text = new Text(_charCount, written);
        _charCount += written;
        return true;
    }

    private ReadOnlySpan<char> Chars(Text text) => _chars.AsSpan(text.Start, text.Length);

    /// <summary>A string transcoded into the buffer; default: absent.</summary>
    private readonly record struct Text(int Start, int Length)
    {
        private readonly bool _present = true;

        public bool Present => _present;
    }

    private struct Choice
    {
        public long? Index;
        public bool HasDelta;
        public Text FinishReason;
        public Text Content;
        public int ContentStart; // the content string's raw bytes in the chunk (0, 0: not known)
        public int ContentEnd;
        public Text Refusal;
        public Text ReasoningContent;
        public Text Reasoning;
        public bool ReasoningContentPresent;
        public bool HasToolCalls;
        public int FirstToolCall;
        public int ToolCallCount;
    }

    private struct ToolCall
    {
        public long? Index;
        public Text Id;
        public Text Type;
        public bool HasFunction;
        public Text Name;
        public Text Arguments;
    }
}

/// <summary>
/// One stream's memo for <see cref="OpenAiChatChunkReader"/>: the previous chunk's bytes up to and including the name
/// <c>choices</c>, the reader's state there and the top-level fields seen before it. Valid only while every chunk of
/// the stream since it was saved was taken whole by the reader (a declined chunk forgets it).
/// </summary>
internal sealed class ChunkPrefix
{
    private byte[] _bytes = [];

    public int Length { get; private set; }

    public JsonReaderState State { get; private set; }

    public int Seen { get; private set; }

    /// <summary>This chunk starts with the saved bytes and has more after them.</summary>
    public bool Matches(ReadOnlySpan<byte> json) => Length > 0 && json.Length > Length && json.StartsWith(_bytes.AsSpan(0, Length));

    public void Remember(ReadOnlySpan<byte> bytes, JsonReaderState state, int seen)
    {
        if (bytes.Length > 1024)
        {
            Forget(); // an unusual chunk with a long head is not worth keeping
            return;
        }
        // Room for the content shape after the prefix too (RememberContentShape), one array for both.
        if (_bytes.Length < bytes.Length) _bytes = new byte[Math.Max(bytes.Length + 128, 256)];
        bytes.CopyTo(_bytes);
        Length = bytes.Length;
        State = state;
        Seen = seen;
    }

    public void Forget()
    {
        Length = 0;
        ForgetContentShape();
    }

    // The previous chunk's bytes between the prefix and its content string, and after the content's closing quote,
    // kept in _bytes after the prefix.
    private int _before = -1;
    private int _after;

    // What a content string read as it is cannot hold: its closing quote, an escape, a control character.
    private static readonly System.Buffers.SearchValues<byte> NotPlain = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    /// <summary>
    /// Keeps the shape of a chunk (already matched by this prefix) whose only effect was its content between
    /// <paramref name="contentStart"/> and <paramref name="contentEnd"/>.
    /// </summary>
    public void RememberContentShape(ReadOnlySpan<byte> json, int contentStart, int contentEnd)
    {
        if (contentStart < Length || contentEnd > json.Length || contentStart - Length + json.Length - contentEnd > 2048)
        {
            ForgetContentShape();
            return;
        }
        var before = json[Length..contentStart];
        var after = json[contentEnd..]; // the closing quote and the rest
        var needed = Length + before.Length + after.Length;
        if (_bytes.Length < needed) Array.Resize(ref _bytes, needed * 2);
        before.CopyTo(_bytes.AsSpan(Length));
        after.CopyTo(_bytes.AsSpan(Length + before.Length));
        (_before, _after) = (before.Length, after.Length);
    }

    public void ForgetContentShape() => _before = -1;

    /// <summary>
    /// This chunk (which <see cref="Matches"/>) is the remembered chunk with another content string, one made only of
    /// plain bytes (no quote, escape or control character): then <paramref name="content"/> is that string's bytes.
    /// </summary>
    public bool MatchesContentShape(ReadOnlySpan<byte> json, out ReadOnlySpan<byte> content)
    {
        content = default;
        if (_before < 0) return false;
        var rest = json[Length..];
        var before = _bytes.AsSpan(Length, _before);
        var after = _bytes.AsSpan(Length + _before, _after);
        if (rest.Length < before.Length + after.Length || !rest.StartsWith(before) || !rest.EndsWith(after)) return false;
        content = rest[before.Length..^after.Length];
        return content.IndexOfAny(NotPlain) < 0;
    }
}
