using System.Net.Http.Headers;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Pricing;

namespace LlmObservability.Providers;

/// <summary>
/// Knows one wire format: how to read its request, its response (whole or streamed) and its errors into a
/// <see cref="CallRecord"/>. Adapters are stateless singletons; per-call stream state lives in a <see cref="StreamParser"/>.
/// A new provider is one subclass in this folder plus a line in <see cref="ProviderDetector"/>.
/// </summary>
internal abstract class ProviderAdapter
{
    /// <summary>The payload's <c>call_type</c>.</summary>
    public abstract string CallType { get; }

    /// <summary>
    /// Decides from the request line and headers alone (never the body) whether this adapter reads the call, and how the
    /// call is named. Runs for every POST the handler sees, so it must be cheap. Null: not this adapter's call.
    /// </summary>
    public abstract ProviderRoute? Match(HttpRequestMessage request, Uri uri);

    /// <summary>
    /// Whether <see cref="Match"/> may look at the request's headers, not only its URL. The detector remembers a URL's
    /// route only when no adapter that reads headers took part in the decision (see <see cref="ProviderDetector"/>).
    /// </summary>
    public virtual bool MatchReadsHeaders => false;

    /// <summary>
    /// The model named by the request, read in passing for the span's name and sampling attributes (only when something
    /// listens). The default scans the body's top level for <c>"model"</c> without building a document.
    /// </summary>
    public virtual string? PeekModel(Uri uri, ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty) return null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isModel = reader.ValueTextEquals("model"u8);
                if (!reader.Read()) return null;
                if (isModel) return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>
    /// Matches a request whose host the user has declared to speak this format (<see cref="LlmProviderMapping"/>): the
    /// path still decides the operation, but signatures that guard against other APIs (well-known hosts, provider
    /// headers, default ports) are not required. The default is <see cref="Match"/>. A path that names no operation is
    /// left to the mapping's <see cref="LlmProviderMapping.Operation"/> (see <see cref="ProviderDetector"/>).
    /// </summary>
    public virtual ProviderRoute? MatchTrusted(HttpRequestMessage request, Uri uri) => Match(request, uri);

    /// <summary>
    /// How a 2xx response with this media type (without parameters; empty when there is none) is streamed;
    /// <see cref="StreamFraming.None"/> keeps the body whole.
    /// </summary>
    public virtual StreamFraming StreamFramingFor(ReadOnlySpan<char> mediaType) =>
        mediaType.Equals("text/event-stream", StringComparison.OrdinalIgnoreCase) ? StreamFraming.ServerSentEvents : StreamFraming.None;

    /// <summary>Reads model, parameters and input messages from the request body (<paramref name="root"/> is a JSON object: the builder notes any other body and does not call this).</summary>
    public abstract void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits);

    /// <summary>Reads a whole (non-streamed) success body.</summary>
    public abstract void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits);

    /// <summary>
    /// Reads the request body without a <see cref="JsonDocument"/> when it can, with exactly the result
    /// <see cref="ParseRequest"/> would have; false (the default) when it cannot, having changed nothing.
    /// </summary>
    public virtual bool TryParseRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) => false;

    /// <summary>
    /// Reads a whole success body without a <see cref="JsonDocument"/> when it can, with exactly the result
    /// <see cref="ParseResponse"/> would have; false (the default) when it cannot, having changed nothing.
    /// </summary>
    public virtual bool TryParseResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) => false;

    /// <summary>Starts parsing one streamed response.</summary>
    public abstract StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits);

    /// <summary>
    /// The call's token counts with the provider's accounting, for pricing. The default is OpenAI's: cached tokens inside
    /// prompt tokens, reasoning tokens inside completion tokens. Null when the provider reported no usage.
    /// </summary>
    public virtual LlmUsage? ToUsage(CallRecord record)
    {
        if (record.PromptTokens is null && record.CompletionTokens is null) return null;
        return LlmUsage.ForOpenAi(record.PromptTokens ?? 0, record.CompletionTokens ?? 0, record.CachedPromptTokens ?? 0, record.ReasoningTokens ?? 0);
    }

    /// <summary>
    /// The service tier the call is priced at (<see cref="PriceCatalog.Calculate"/>): the one the response reported
    /// (<see cref="CallRecord.ServiceTier"/>, which says what actually served the call), else the request's
    /// <c>service_tier</c> when it is a string. Null: neither says, the standard prices.
    /// </summary>
    public virtual string? PricedServiceTier(CallRecord record) => record.ServiceTier ?? RequestString(record, "service_tier");

    /// <summary>A model parameter of the request that is a string, else null.</summary>
    internal static string? RequestString(CallRecord record, string name) =>
        record.ModelParameters?.TryGetValue(name, out var value) == true && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// Whether a 2xx body whose root holds a non-null <c>error</c> member is an error body. Gateways answer so when the
    /// model fails after the request was accepted (OpenRouter documents a 200 with <c>{"error": {"code", "message"}}</c>).
    /// False where <c>error</c> belongs to the success body's own schema and <see cref="ParseResponse"/> reads it.
    /// </summary>
    public virtual bool ErrorMemberMarksFailedSuccessBody => true;

    /// <summary>Whether a 2xx body's root holds a non-null <c>error</c> that makes it an error body (<see cref="ErrorMemberMarksFailedSuccessBody"/>).</summary>
    internal bool HasErrorAtRoot(JsonElement root) =>
        ErrorMemberMarksFailedSuccessBody && root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null;

    /// <summary>Reads a 2xx body that <see cref="HasErrorAtRoot"/> as an error body: the call is a failure with the error's type, code, message and the body.</summary>
    internal void ReadErrorInSuccessBody(JsonElement root, ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        record.ErrorBody = limits.ErrorBodyText(body);
        record.ErrorType ??= "response_error";
        ParseError(root, record);
    }

    /// <summary>Reads an error body. The default understands <c>{"error": {"type", "code", "message"}}</c>.</summary>
    public virtual void ParseError(JsonElement root, CallRecord record)
    {
        var error = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) ? e : root;
        if (error.ValueKind == JsonValueKind.String)
        {
            record.ErrorMessage = error.GetString();
            return;
        }
        if (error.ValueKind != JsonValueKind.Object) return;
        record.ErrorType = Json.String(error, "type") ?? record.ErrorType;
        record.ErrorCode = Json.Scalar(error, "code") ?? record.ErrorCode;
        record.ErrorMessage = Json.String(error, "message") ?? record.ErrorMessage;
    }

    /// <summary>Reads the provider's request ID and rate-limit headers. The default knows the common names.</summary>
    public virtual void ReadResponseHeaders(HttpResponseHeaders headers, CallRecord record)
    {
        // One pass over the raw values (NonValidated: nothing parsed on the caller's path), instead of a lookup per name.
        // The request ID is the first of x-request-id, request-id, x-amzn-requestid that has a value.
        string? requestId = null;
        var rank = int.MaxValue;
        foreach (var header in headers.NonValidated)
        {
            var name = header.Key;
            if (name.Length == 0) continue;
            switch (name[0] | 0x20)
            {
                case 'x':
                    if (name.Equals("x-request-id", StringComparison.OrdinalIgnoreCase)) Consider(ref requestId, ref rank, 0, header.Value);
                    else if (name.Equals("x-amzn-requestid", StringComparison.OrdinalIgnoreCase)) Consider(ref requestId, ref rank, 2, header.Value);
                    else if (name.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase)) AddRateLimit(record, name, header.Value);
                    break;
                case 'r':
                    if (name.Equals("request-id", StringComparison.OrdinalIgnoreCase)) Consider(ref requestId, ref rank, 1, header.Value);
                    else if (name.Equals("retry-after", StringComparison.OrdinalIgnoreCase) || name.Equals("retry-after-ms", StringComparison.OrdinalIgnoreCase)) AddRateLimit(record, name, header.Value);
                    break;
                case 'a':
                    if (name.StartsWith("anthropic-ratelimit-", StringComparison.OrdinalIgnoreCase)) AddRateLimit(record, name, header.Value);
                    break;
            }
        }
        record.RequestId = requestId;
    }

    private static void Consider(ref string? requestId, ref int rank, int candidateRank, HeaderStringValues values)
    {
        if (candidateRank >= rank || values.Count == 0) return;
        requestId = values.ToString();
        rank = candidateRank;
    }

    private static void AddRateLimit(CallRecord record, string name, HeaderStringValues values) =>
        (record.RateLimit ??= new Dictionary<string, string>(StringComparer.Ordinal))[name.ToLowerInvariant()] = values.ToString();
}

/// <summary>Per-call state for one streamed response.</summary>
internal abstract class StreamParser : IStreamEventHandler
{
    /// <summary>Set when the last event carried content (text, tool call, reasoning): the first one marks TTFT.</summary>
    public bool LastEventHadContent { get; protected set; }

    /// <summary>Set when the stream's own end marker arrived (<c>[DONE]</c>, <c>message_stop</c>, ...).</summary>
    public bool SawEnd { get; protected set; }

    /// <inheritdoc/>
    public abstract void OnEvent(string? eventType, ReadOnlyMemory<byte> data);

    /// <summary>Called once when the stream ends, however it ends.</summary>
    public virtual void OnEnd()
    {
    }
}

/// <summary>
/// A stream whose events are each one JSON object, where an object with an <c>error</c> member is an error inside a
/// 200 stream (OpenAI-style and Gemini SSE, Ollama NDJSON): the error is read by the adapter (typed <c>stream_error</c>
/// when it names no type); subclasses read the other objects.
/// </summary>
internal abstract class JsonChunkParser(ProviderAdapter adapter, CallRecord record) : StreamParser
{
    /// <summary>The call the chunks belong to.</summary>
    protected CallRecord Record { get; } = record;

    public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
    {
        LastEventHadContent = false;
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) return;
        if (Json.Get(root, "error") is not null)
        {
            adapter.ParseError(root, Record);
            Record.ErrorType ??= "stream_error";
            if (ReadsChunkBesideError) OnChunk(root);
            return;
        }
        OnChunk(root);
    }

    /// <summary>
    /// Whether an error object is also read as a chunk, for streams whose error event is a whole chunk whose choices
    /// still report something (OpenRouter ends a failed generation with <c>finish_reason: "error"</c> beside the error).
    /// </summary>
    protected virtual bool ReadsChunkBesideError => false;

    /// <summary>One chunk (a JSON object that is not an error); set <see cref="StreamParser.LastEventHadContent"/> when it carried content.</summary>
    protected abstract void OnChunk(JsonElement root);
}

/// <summary>The caps that apply while capturing.</summary>
internal sealed record CaptureLimits(int MaxContentChars, int MaxErrorBodyChars)
{
    /// <summary><paramref name="text"/> cut to <paramref name="max"/> characters and marked <c>…[truncated]</c> when longer.</summary>
    public static string? Cap(string? text, int max) => text is null || text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…[truncated]");

    /// <summary>An error body as it is kept in the record: its UTF-8 text, capped at <see cref="MaxErrorBodyChars"/>.</summary>
    public string? ErrorBodyText(ReadOnlySpan<byte> body) => Cap(System.Text.Encoding.UTF8.GetString(body), MaxErrorBodyChars);
}
