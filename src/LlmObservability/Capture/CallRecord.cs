using System.Text;
using System.Text.Json;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>How a response ended, as far as the handler could see.</summary>
internal enum CallEnd
{
    /// <summary>Still in progress.</summary>
    Pending,

    /// <summary>The body was read to its end.</summary>
    Completed,

    /// <summary>The request or the body read threw.</summary>
    Exception,

    /// <summary>The caller cancelled the request or a read.</summary>
    Cancelled,

    /// <summary>The caller disposed the response before its end.</summary>
    Disposed,
}

/// <summary>
/// The raw, mutable facts of one call, gathered on the caller's path (request bytes, response bytes or streamed
/// deltas, timestamps) and turned into an immutable <see cref="StandardLoggingPayload"/> by <see cref="PayloadBuilder"/>
/// on the dispatcher's loop. Touched by one thread at a time: the response stream's reads and its completion are
/// serialised by <see cref="Gate"/>, and the enqueue hands it over to the dispatcher.
/// </summary>
internal sealed class CallRecord : PendingRecord
{
    public CallRecord(ProviderRoute route, PayloadBuilder builder)
    {
        Route = route;
        Builder = builder;
    }

    public ProviderRoute Route { get; }

    public PayloadBuilder Builder { get; }

    public Lock Gate { get; } = new();

    // identity and context
    public required string Id { get; init; }
    public string? TraceId { get; set; }
    public string? SpanId { get; set; }
    public string? ParentSpanId { get; set; }
    public int Attempt { get; set; } = 1;
    public LlmObservabilityScope? Scope { get; set; }
    public string? ApiKey { get; set; }

    // timing (TimeProvider timestamps)
    public DateTimeOffset StartTime { get; set; }
    public long StartTimestamp { get; set; }
    public long? FirstByteTimestamp { get; set; }
    public long? FirstContentTimestamp { get; set; }
    public long EndTimestamp { get; set; }

    // request
    public byte[]? RequestBody { get; set; }
    public List<string>? Notes { get; private set; }

    // request, as parsed by the adapter
    public string? RequestedModel { get; set; }
    public bool Stream { get; set; }
    public Dictionary<string, JsonElement>? ModelParameters { get; set; }
    public List<LlmMessage>? Messages { get; set; }

    // response envelope
    public int? HttpStatus { get; set; }
    public string? RequestId { get; set; }
    public Dictionary<string, string>? RateLimit { get; set; }
    public string? ContentEncoding { get; set; }
    public bool IsEventStream { get; set; }
    public byte[]? ResponseBody { get; private set; }
    public int ResponseBodyLength { get; private set; }
    public bool ResponseBodyTruncated { get; private set; }

    // response, as parsed by the adapter
    public string? ResponseId { get; set; }
    public string? ResponseModel { get; set; }
    public TextAccumulator? OutputText { get; set; }
    public TextAccumulator? ReasoningText { get; set; }
    public TextAccumulator? RefusalText { get; set; }
    public ToolCallAccumulator? ToolCalls { get; set; }
    public List<string>? FinishReasons { get; set; }
    public long? PromptTokens { get; set; }
    public long? CompletionTokens { get; set; }
    public long? TotalTokens { get; set; }
    public long? CachedPromptTokens { get; set; }
    public long? CacheCreationTokens { get; set; }

    // The part of CacheCreationTokens written with a one-hour lifetime (Anthropic cache_creation.ephemeral_1h_input_tokens),
    // billed at a higher rate than the default five-minute writes; the cost calculation reads it (LlmUsage.CacheCreation1hTokens).
    public long? CacheCreation1hTokens { get; set; }
    public long? ReasoningTokens { get; set; }

    // outcome
    public CallEnd End { get; set; }
    public Exception? Exception { get; set; }
    public string? ErrorType { get; set; }
    public string? ErrorMessage { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorBody { get; set; }

    public void AddNote(string note) => (Notes ??= []).Add(note);

    public TextAccumulator Output(int maxChars) => OutputText ??= new TextAccumulator(maxChars);

    public void AddFinishReason(string? reason)
    {
        if (string.IsNullOrEmpty(reason)) return;
        (FinishReasons ??= []).Add(reason);
    }

    /// <summary>
    /// Keeps a copy of response body bytes up to the cap. Plain arrays, sized from Content-Length when known: the
    /// buffer is filled on the caller's thread and dropped on the dispatcher's, which pooled arrays handle badly.
    /// </summary>
    public void AppendResponseBody(ReadOnlySpan<byte> bytes, int cap, long? expectedLength = null)
    {
        if (ResponseBodyTruncated) return;
        var room = cap - ResponseBodyLength;
        if (bytes.Length > room)
        {
            ResponseBodyTruncated = true;
            bytes = bytes[..Math.Max(room, 0)];
        }
        if (bytes.IsEmpty) return;
        var needed = ResponseBodyLength + bytes.Length;
        if (ResponseBody is null || ResponseBody.Length < needed)
        {
            var size = ResponseBody is null && expectedLength is long expected && expected >= needed && expected <= cap
                ? (int)expected
                : Math.Min(cap, Math.Max(needed, Math.Max(1024, (ResponseBody?.Length ?? 0) * 2)));
            var bigger = new byte[size];
            ResponseBody?.AsSpan(0, ResponseBodyLength).CopyTo(bigger);
            ResponseBody = bigger;
        }
        bytes.CopyTo(ResponseBody.AsSpan(ResponseBodyLength));
        ResponseBodyLength = needed;
    }

    public ReadOnlyMemory<byte> ResponseBodyMemory => ResponseBody is null ? default : ResponseBody.AsMemory(0, ResponseBodyLength);

    public override StandardLoggingPayload Build() => Builder.Build(this);

    public override void Release()
    {
        ResponseBody = null;
        RequestBody = null;
    }
}

/// <summary>A string builder with a cap: text past the cap is counted, not kept.</summary>
internal sealed class TextAccumulator(int maxChars)
{
    private readonly StringBuilder _text = new();

    public bool Truncated { get; private set; }

    public int Length => _text.Length;

    public void Append(string? text)
    {
        if (string.IsNullOrEmpty(text)) return;
        Append(text.AsSpan());
    }

    public void Append(ReadOnlySpan<char> text)
    {
        var room = maxChars - _text.Length;
        if (text.Length > room)
        {
            Truncated = true;
            text = text[..Math.Max(room, 0)];
        }
        _text.Append(text);
    }

    public override string ToString() => Truncated ? _text + "…[truncated]" : _text.ToString();
}

/// <summary>Assembles tool calls whose id, name and arguments arrive in pieces across stream deltas, keyed by index.</summary>
internal sealed class ToolCallAccumulator(int maxChars)
{
    private readonly List<(int Index, Builder Call)> _calls = [];

    public int Count => _calls.Count;

    public Builder this[int index]
    {
        get
        {
            foreach (var (i, call) in _calls)
            {
                if (i == index) return call;
            }
            var created = new Builder(maxChars);
            _calls.Add((index, created));
            return created;
        }
    }

    public Builder Add() => this[_calls.Count == 0 ? 0 : _calls[^1].Index + 1];

    public List<LlmToolCall> ToList()
    {
        var list = new List<LlmToolCall>(_calls.Count);
        foreach (var (_, call) in _calls.OrderBy(c => c.Index))
        {
            list.Add(new LlmToolCall { Id = call.Id, Type = call.Type ?? "function", Name = call.Name, Arguments = call.Arguments.ToString() });
        }
        return list;
    }

    internal sealed class Builder(int maxChars)
    {
        public string? Id { get; set; }
        public string? Type { get; set; }
        public string? Name { get; set; }
        public TextAccumulator Arguments { get; } = new(maxChars);
    }
}
