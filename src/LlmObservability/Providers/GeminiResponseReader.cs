using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using static LlmObservability.Providers.FastJsonFields;

namespace LlmObservability.Providers;

/// <summary>
/// The fast path for a Gemini <c>GenerateContentResponse</c>, which is both a whole <c>generateContent</c> body and
/// each chunk of a <c>streamGenerateContent?alt=sse</c> stream: one <see cref="FastJsonReader"/> pass, no
/// <see cref="JsonDocument"/>. A stream made one document per chunk, each a few hundred bytes of which the record
/// takes a short piece of text and the running usage; the text is transcoded into one reused buffer here, the
/// response ID is made a string only while the record has none, the model version and finish reasons are shared names.
/// </summary>
/// <remarks>
/// It reads everything first and changes the record only when the whole object was understood, applying it with the
/// adapter's own helpers in <c>ReadChunk</c>'s order (the ID and model version if the record has none, each candidate's
/// finish reason then, for candidate 0, its parts, the prompt's block reason, the usage as running totals). Whatever it
/// does not handle exactly as <c>GeminiGenerateContentAdapter.ReadChunk</c> does makes it return false with the record
/// untouched, and the caller takes the document path: JSON that <see cref="FastJsonReader"/> does not accept, a root
/// that is not an object (a whole <c>streamGenerateContent</c> body without <c>alt=sse</c> is an array), an
/// <c>error</c> member that is not null (the stream parser reads it as an error), any escaped member name, a member it
/// reads given twice, a string it reads that is not valid Unicode once unescaped, an index or token count that is not
/// a whole number. Being stricter than the document path costs only speed, never what is recorded: it also declines
/// some bodies the document path reads without trouble (bad text in a second candidate, which that path never looks at).
/// </remarks>
internal sealed class GeminiResponseReader
{
    [ThreadStatic]
    private static GeminiResponseReader? t_reader;

    private readonly CharScratch _chars = new();
    private readonly List<Candidate> _candidates = [];
    private readonly List<Part> _parts = [];
    private int _used; // chars of the scratch buffer taken by this read's texts

    /// <summary>This thread's reader: its buffers are scratch for one read, so one per thread serves every call.</summary>
    public static GeminiResponseReader ForThisThread => t_reader ??= new GeminiResponseReader();

    /// <summary>Reads a whole <c>generateContent</c> body into the record as <c>ParseResponse</c> does. False: not read, nothing changed.</summary>
    public static bool TryReadResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) =>
        ForThisThread.TryRead(body, record, limits, out _, out _);

    /// <summary>Reads one <c>GenerateContentResponse</c> into the record as <c>ReadChunk</c> does. False: not read, nothing changed.</summary>
    /// <param name="json">The object: a whole body or one SSE event's data.</param>
    /// <param name="record">The call it belongs to.</param>
    /// <param name="limits">Caps on the text kept.</param>
    /// <param name="hadContent">Candidate 0 carried text (thought or not) or a function call: <c>ReadChunk</c>'s result.</param>
    /// <param name="hadUsage">It carried a <c>usageMetadata</c> object (with a finish reason, the stream's end).</param>
    public bool TryRead(ReadOnlySpan<byte> json, CallRecord record, CaptureLimits limits, out bool hadContent, out bool hadUsage)
    {
        hadContent = hadUsage = false;
        _chars.Reset();
        _candidates.Clear();
        _parts.Clear();
        _used = 0;
        if (!Read(json, record, out var chunk)) return false;
        hadUsage = chunk.Usage is not null;
        hadContent = Apply(json, chunk, record, limits);
        return true;
    }

    // The members each object's reader takes, by position: a member's field is 1 << its index here.
    private static readonly byte[][] RootNames = Names("candidates", "responseId", "modelVersion", "promptFeedback", "usageMetadata", "error");
    private static readonly byte[][] CandidateNames = Names("index", "finishReason", "content");
    private static readonly byte[][] ContentNames = Names("parts");
    private static readonly byte[][] PartNames = Names("text", "thought", "functionCall");
    private static readonly byte[][] CallNames = Names("id", "name", "args");
    private static readonly byte[][] FeedbackNames = Names("blockReason");
    private static readonly byte[][] UsageNames = Names(
        "promptTokenCount", "toolUsePromptTokenCount", "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount", "thoughtsTokenCount", "trafficType");

    /// <summary>What the root says beside its candidates and parts (which are in the reader's lists).</summary>
    private struct Chunk
    {
        public string? Id;
        public string? Model;
        public string? BlockReason;
        public GeminiGenerateContentAdapter.UsageCounts? Usage;
    }

    /// <summary>One candidate as read: its index (given, or its position), finish reason, and its parts in <see cref="_parts"/>.</summary>
    private readonly record struct Candidate(long Index, string? FinishReason, int FirstPart, int PartCount);

    /// <summary>
    /// A part that records something: text (in the scratch buffer) or a function call (its arguments as their JSON's
    /// place in the object; -1: none given).
    /// </summary>
    private readonly record struct Part(PartKind Kind, int TextStart, int TextLength, string? Id, string? Name, int ArgsStart, int ArgsLength);

    private enum PartKind : byte { Text, Thought, Call }

    private bool Read(ReadOnlySpan<byte> json, CallRecord record, out Chunk chunk)
    {
        chunk = default;
        var reader = new FastJsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
        var seen = 0;
        while (NextMember(ref reader, RootNames, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            var read = field switch
            {
                1 when reader.TokenType == JsonTokenType.StartArray => ReadCandidates(ref reader),
                // Read only while the record has none: ReadChunk's ??= does not look at it otherwise.
                2 when isString && record.ResponseId is null => ReadString(ref reader, out chunk.Id),
                4 when isString && record.ResponseModel is null => ReadName(ref reader, out chunk.Model),
                8 when reader.TokenType == JsonTokenType.StartObject => ReadNameMember(ref reader, FeedbackNames, out chunk.BlockReason),
                16 when reader.TokenType == JsonTokenType.StartObject => ReadUsage(ref reader, out chunk.Usage),
                32 => reader.TokenType == JsonTokenType.Null, // an error: the stream parser reads it as one, through the document
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        return AtEnd(ref reader);
    }

    private bool ReadCandidates(ref FastJsonReader reader)
    {
        var position = 0L;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Not an object: no index, reason or content, but it takes its position.
                if (!reader.Skip()) return false;
                _candidates.Add(new Candidate(position++, null, _parts.Count, 0));
                continue;
            }
            if (!ReadCandidate(ref reader, position++)) return false;
        }
        return !reader.Failed;
    }

    /// <summary>
    /// One candidate. Its parts are read whatever its index (which may come after its content), and recorded only for
    /// candidate 0, as ReadChunk does.
    /// </summary>
    private bool ReadCandidate(ref FastJsonReader reader, long position)
    {
        long? index = null;
        string? finishReason = null;
        var firstPart = _parts.Count;
        var seen = 0;
        while (NextMember(ref reader, CandidateNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 => ReadLong(ref reader, out index),
                2 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out finishReason),
                4 when reader.TokenType == JsonTokenType.StartObject => ReadContent(ref reader),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        _candidates.Add(new Candidate(index ?? position, finishReason, firstPart, _parts.Count - firstPart));
        return true;
    }

    private bool ReadContent(ref FastJsonReader reader)
    {
        var seen = 0;
        while (NextMember(ref reader, ContentNames, ref seen, out var field))
        {
            var read = field == 1 && reader.TokenType == JsonTokenType.StartArray ? ReadParts(ref reader) : reader.Skip();
            if (!read) return false;
        }
        return !reader.Failed;
    }

    private bool ReadParts(ref FastJsonReader reader)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var read = reader.TokenType == JsonTokenType.StartObject ? ReadPart(ref reader) : reader.Skip(); // not an object: nothing to record
            if (!read) return false;
        }
        return !reader.Failed;
    }

    /// <summary>
    /// One part: text that is not empty (a thought when <c>thought</c> is true), else a function call object, else
    /// nothing (inline data, executable code, a thought signature alone, ...).
    /// </summary>
    private bool ReadPart(ref FastJsonReader reader)
    {
        int textStart = 0, textLength = 0;
        var thought = false;
        var call = false;
        string? id = null, name = null;
        int argsStart = 0, argsLength = -1;
        var seen = 0;
        while (NextMember(ref reader, PartNames, ref seen, out var field))
        {
            bool read;
            switch (field)
            {
                case 1 when reader.TokenType == JsonTokenType.String:
                    textStart = _used;
                    read = _chars.Read(reader.ValueSpan, reader.ValueIsEscaped, _used, out textLength);
                    _used += textLength;
                    break;
                case 2 when reader.TokenType == JsonTokenType.True:
                    thought = true;
                    read = true;
                    break;
                case 4 when reader.TokenType == JsonTokenType.StartObject:
                    call = true;
                    read = ReadCall(ref reader, out id, out name, out argsStart, out argsLength);
                    break;
                default:
                    read = reader.Skip();
                    break;
            }
            if (!read) return false;
        }
        if (reader.Failed) return false;
        if (textLength > 0) _parts.Add(new Part(thought ? PartKind.Thought : PartKind.Text, textStart, textLength, null, null, 0, -1));
        else if (call) _parts.Add(new Part(PartKind.Call, 0, 0, id, name, argsStart, argsLength));
        return true;
    }

    /// <summary>A function call's ID, name and arguments, the arguments as their JSON text (null or absent: none).</summary>
    private static bool ReadCall(ref FastJsonReader reader, out string? id, out string? name, out int argsStart, out int argsLength)
    {
        id = name = null;
        argsStart = 0;
        argsLength = -1;
        var seen = 0;
        while (NextMember(ref reader, CallNames, ref seen, out var field))
        {
            var isString = reader.TokenType == JsonTokenType.String;
            bool read;
            if (field == 1 && isString) read = ReadString(ref reader, out id);
            else if (field == 2 && isString) read = ReadString(ref reader, out name);
            else if (field == 4 && reader.TokenType != JsonTokenType.Null)
            {
                argsStart = reader.TokenStart;
                read = reader.Skip();
                argsLength = reader.Position - argsStart;
            }
            else read = reader.Skip();
            if (!read) return false;
        }
        return !reader.Failed;
    }

    private static bool ReadUsage(ref FastJsonReader reader, out GeminiGenerateContentAdapter.UsageCounts? usage)
    {
        usage = null;
        long? prompt = null, toolUse = null, candidates = null, total = null, cached = null, thoughts = null;
        string? trafficType = null;
        var seen = 0;
        while (NextMember(ref reader, UsageNames, ref seen, out var field))
        {
            var read = field switch
            {
                1 => ReadLong(ref reader, out prompt),
                2 => ReadLong(ref reader, out toolUse),
                4 => ReadLong(ref reader, out candidates),
                8 => ReadLong(ref reader, out total),
                16 => ReadLong(ref reader, out cached),
                32 => ReadLong(ref reader, out thoughts),
                64 when reader.TokenType == JsonTokenType.String => ReadName(ref reader, out trafficType),
                _ => reader.Skip(),
            };
            if (!read) return false;
        }
        if (reader.Failed) return false;
        usage = new GeminiGenerateContentAdapter.UsageCounts(prompt, toolUse, candidates, total, cached, thoughts, trafficType);
        return true;
    }

    /// <summary>The whole object was understood: applies it in ReadChunk's order. True when it carried content.</summary>
    private bool Apply(ReadOnlySpan<byte> json, in Chunk chunk, CallRecord record, CaptureLimits limits)
    {
        record.ResponseId ??= chunk.Id;
        record.ResponseModel ??= chunk.Model;
        var hadContent = false;
        foreach (var candidate in _candidates)
        {
            record.AddFinishReason(candidate.FinishReason);
            if (candidate.Index != 0) continue;
            for (var i = candidate.FirstPart; i < candidate.FirstPart + candidate.PartCount; i++)
            {
                var part = _parts[i];
                if (part.Kind == PartKind.Call)
                {
                    var args = part.ArgsLength < 0 ? null : Encoding.UTF8.GetString(json.Slice(part.ArgsStart, part.ArgsLength)); // as GetRawText gives it
                    GeminiGenerateContentAdapter.StartFunctionCall((record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars)).Add(), part.Id, part.Name, args);
                }
                else
                {
                    GeminiGenerateContentAdapter.PartText(record, limits, part.Kind == PartKind.Thought).Append(_chars.Slice(part.TextStart, part.TextLength));
                }
                hadContent = true;
            }
        }
        record.AddFinishReason(chunk.BlockReason);
        chunk.Usage?.ApplyTo(record);
        return hadContent;
    }
}
