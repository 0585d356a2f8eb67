using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmObservability.Payload;

/// <summary>
/// One recorded call to an LLM provider (schema version 1). Built once per call, redacted once, and shared read-only by
/// every sink; a sink that needs less receives a trimmed copy made with <c>with</c>, never a mutated shared instance.
/// Unknown values stay <see langword="null"/>: an unknown price is a null <see cref="Cost"/>, never 0.
/// </summary>
public sealed record StandardLoggingPayload
{
    /// <summary>The version of this schema; see <see cref="CurrentSchemaVersion"/>.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    /// <summary>The schema version this library writes.</summary>
    public const int CurrentSchemaVersion = 1;

    // identity

    /// <summary>The call ID (a UUIDv7), also returned to the caller in the <c>x-llm-call-id</c> response header.</summary>
    public required string Id { get; init; }

    /// <summary>W3C trace ID (32 hex characters) of the trace the call belongs to.</summary>
    public string? TraceId { get; init; }

    /// <summary>W3C span ID (16 hex characters) that identifies this call within its trace.</summary>
    public string? SpanId { get; init; }

    /// <summary>The span ID of the caller's span, when the call was made inside one.</summary>
    public string? ParentSpanId { get; init; }

    /// <summary>1 for the first attempt; higher when the client reported a retry (e.g. <c>x-stainless-retry-count</c>).</summary>
    public int Attempt { get; init; } = 1;

    // call

    /// <summary>The kind of call, e.g. <c>chat_completion</c>, <c>responses</c>, <c>embedding</c>, <c>messages</c>.</summary>
    public string? CallType { get; init; }

    /// <summary>The provider, e.g. <c>openai</c>, <c>anthropic</c>, <c>azure_openai</c>.</summary>
    public string? Provider { get; init; }

    /// <summary>The base address the call went to (scheme, host, port, path prefix), with secrets in the query masked.</summary>
    public string? ApiBase { get; init; }

    /// <summary>The operation path below <see cref="ApiBase"/>, e.g. <c>/chat/completions</c>.</summary>
    public string? Endpoint { get; init; }

    /// <summary>Whether the call asked for a streamed response.</summary>
    public bool Stream { get; init; }

    // model

    /// <summary>The model named in the request.</summary>
    public string? RequestedModel { get; init; }

    /// <summary>The model that actually served the call, as the response reports it.</summary>
    public string? ResponseModel { get; init; }

    /// <summary>
    /// Request parameters other than the input: temperature, max_tokens, top_p, tools count, ... With message content,
    /// strings are capped like it; without, only settings are kept (numbers, booleans, short strings, flat lists of
    /// them) and anything else is a size note such as <c>[object, 2.5 KB]</c>.
    /// </summary>
    public IReadOnlyDictionary<string, JsonElement>? ModelParameters { get; init; }

    // timing

    /// <summary>When the handler saw the request (UTC).</summary>
    public DateTimeOffset StartTime { get; init; }

    /// <summary>First content-bearing chunk for streams, first body byte otherwise; null if none arrived.</summary>
    public DateTimeOffset? CompletionStartTime { get; init; }

    /// <summary>When the response ended (end of body, error, cancellation or disposal).</summary>
    public DateTimeOffset EndTime { get; init; }

    /// <summary>Milliseconds from <see cref="StartTime"/> to <see cref="CompletionStartTime"/>; null when there was none.</summary>
    public double? TtftMs { get; init; }

    /// <summary>Milliseconds from <see cref="StartTime"/> to <see cref="EndTime"/>.</summary>
    public double LatencyMs { get; init; }

    /// <summary>Completion tokens divided by the generation time (end minus completion start); null when unknown.</summary>
    public double? OutputTokensPerSecond { get; init; }

    // usage

    /// <summary>Input tokens as the provider counts them (OpenAI: including cached tokens).</summary>
    public long? PromptTokens { get; init; }

    /// <summary>Output tokens (including reasoning tokens where the provider counts them there).</summary>
    public long? CompletionTokens { get; init; }

    /// <summary>Total tokens.</summary>
    public long? TotalTokens { get; init; }

    /// <summary>Input tokens served from the provider's prompt cache.</summary>
    public long? CachedPromptTokens { get; init; }

    /// <summary>Input tokens written to the provider's prompt cache.</summary>
    public long? CacheCreationTokens { get; init; }

    /// <summary>Reasoning ("thinking") tokens, part of <see cref="CompletionTokens"/> for OpenAI.</summary>
    public long? ReasoningTokens { get; init; }

    /// <summary>True when token counts were estimated by this library because the provider reported none.</summary>
    public bool UsageEstimated { get; init; }

    // cost

    /// <summary>The cost of the call in USD, or null when the model's price is unknown.</summary>
    public LlmCost? Cost { get; init; }

    // outcome

    /// <summary>Whether the call succeeded.</summary>
    public LlmCallStatus Status { get; init; }

    /// <summary>The HTTP status code, or null when no response arrived.</summary>
    public int? HttpStatus { get; init; }

    /// <summary>Finish (stop) reasons, one per choice, as the provider names them.</summary>
    public IReadOnlyList<string>? FinishReasons { get; init; }

    /// <summary>What went wrong, for failed calls (and notes on what could not be read).</summary>
    public LlmError? Error { get; init; }

    // content

    /// <summary>The request's input messages; absent when message logging is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<LlmMessage>? Messages { get; init; }

    /// <summary>The output; absent when message logging is off.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LlmResponseOutput? Response { get; init; }

    /// <summary>Tool calls the model asked for; absent when message logging is off or there were none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<LlmToolCall>? ToolCalls { get; init; }

    // context

    /// <summary>Ambient metadata from <c>LlmObservabilityScope</c>.</summary>
    public LlmCallMetadata? Metadata { get; init; }

    /// <summary>The service name configured in options.</summary>
    public string? ServiceName { get; init; }

    /// <summary>The environment configured in options (e.g. production).</summary>
    public string? Environment { get; init; }

    /// <summary>The provider's request ID (<c>x-request-id</c>, <c>request-id</c>, ...).</summary>
    public string? RequestId { get; init; }

    /// <summary>
    /// The provider's ID of the response it returned (<c>chatcmpl-…</c>, <c>msg_…</c>, <c>resp_…</c>, Gemini's
    /// <c>responseId</c>), as the SDK shows it to the caller; null when the provider sends none (embeddings, Bedrock, Ollama).
    /// </summary>
    public string? ResponseId { get; init; }

    /// <summary>Rate-limit response headers (names lower-cased) as the provider sent them.</summary>
    public IReadOnlyDictionary<string, string>? RateLimit { get; init; }

    /// <summary>Identifies the API key used without revealing it.</summary>
    public LlmApiKeyInfo? ApiKey { get; init; }

    // privacy

    /// <summary>What redaction did to this payload.</summary>
    public LlmRedactionSummary? Redaction { get; init; }

    /// <summary>The call's scope override of message logging, which beats a sink's own setting. Not serialized.</summary>
    internal bool? ScopeLogMessages { get; init; }

    /// <summary>
    /// For a payload that keeps message content: the notes that replace its model parameters that are not settings in
    /// <see cref="WithoutContent"/>, made from the parameters as sent (the kept ones are capped). Null when there are
    /// none or the payload has no content. Not serialized.
    /// </summary>
    internal IReadOnlyDictionary<string, JsonElement>? ContentParameterNotes { get; init; }

    /// <summary>
    /// This payload without message content (for a sink that must not get it): no messages, response or tool calls, and
    /// model parameters cut to settings (see <see cref="ModelParameterPolicy"/>). Itself when it has none.
    /// </summary>
    internal StandardLoggingPayload WithoutContent()
    {
        // A payload made elsewhere (tests, a sink's own copy) has no notes: its parameters are judged as they are.
        var parameters = ContentParameterNotes is { } notes
            ? ModelParameterPolicy.WithNotes(ModelParameters, notes)
            : ModelParameterPolicy.SettingsOnly(ModelParameters);
        return Messages is null && Response is null && ToolCalls is null && ReferenceEquals(parameters, ModelParameters)
            ? this
            : this with
            {
                Messages = null,
                Response = null,
                ToolCalls = null,
                ModelParameters = parameters,
                ContentParameterNotes = null,
                Redaction = (Redaction ?? new LlmRedactionSummary()) with { MessageLogging = false },
            };
    }
}

/// <summary>Outcome of a call.</summary>
public enum LlmCallStatus
{
    /// <summary>The provider answered with a 2xx status and the body was received in full.</summary>
    [JsonStringEnumMemberName("success")]
    Success,

    /// <summary>Error status, exception, cancellation, or a body cut short.</summary>
    [JsonStringEnumMemberName("failure")]
    Failure,
}

/// <summary>The cost of one call in USD, broken down by token class.</summary>
public sealed record LlmCost
{
    /// <summary>Sum of the parts.</summary>
    public decimal Total { get; init; }

    /// <summary>Uncached input tokens.</summary>
    public decimal Input { get; init; }

    /// <summary>Input tokens read from the prompt cache.</summary>
    public decimal CacheRead { get; init; }

    /// <summary>Input tokens written to the prompt cache.</summary>
    public decimal CacheCreation { get; init; }

    /// <summary>Output tokens (excluding reasoning when that is priced separately).</summary>
    public decimal Output { get; init; }

    /// <summary>Reasoning tokens when priced separately, otherwise 0.</summary>
    public decimal Reasoning { get; init; }

    /// <summary>The price-table entry that matched.</summary>
    public string? PriceKey { get; init; }

    /// <summary>Where the price came from (built-in, file, override).</summary>
    public string? PriceSource { get; init; }
}

/// <summary>What went wrong in a call.</summary>
public sealed record LlmError
{
    /// <summary>Provider error type, or the exception kind (e.g. <c>timeout</c>, <c>cancelled</c>, <c>connection_error</c>).</summary>
    public string? Type { get; init; }

    /// <summary>Human-readable message.</summary>
    public string? Message { get; init; }

    /// <summary>Provider error code when it sends one.</summary>
    public string? Code { get; init; }

    /// <summary>The error body, capped in size and redacted.</summary>
    public string? Body { get; init; }
}

/// <summary>One input message, normalised across providers.</summary>
/// <remarks>
/// A message read from a provider's JSON may keep its content as the UTF-8 bytes it arrived in: the string is made the
/// first time <see cref="Content"/> is read, and the payload's JSON writes the bytes without making it. Equality compares
/// the text, whichever form it is in.
/// </remarks>
[JsonConverter(typeof(LlmMessageJsonConverter))]
public sealed record LlmMessage
{
    private string? _content;
    private byte[]? _contentUtf8;

    /// <summary>system, developer, user, assistant, tool, ...</summary>
    public string? Role { get; init; }

    /// <summary>The text content; multi-part content is joined, non-text parts are replaced by a short note such as <c>[image]</c>.</summary>
    public string? Content
    {
        get => _content ??= Utf8Text.ToStringOrNull(_contentUtf8);
        init => (_content, _contentUtf8) = (value, null);
    }

    /// <summary>
    /// The content as valid UTF-8 when it was captured so and no other content was set; null otherwise. Setting it
    /// replaces <see cref="Content"/>; setting null leaves <see cref="Content"/> as it is.
    /// </summary>
    internal byte[]? ContentUtf8
    {
        get => _contentUtf8;
        init => (_content, _contentUtf8) = (value is null ? _content : null, value);
    }

    /// <summary>Participant name, when given.</summary>
    public string? Name { get; init; }

    /// <summary>For tool results: the tool call this message answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>Tool calls an assistant message made.</summary>
    public IReadOnlyList<LlmToolCall>? ToolCalls { get; init; }

    /// <summary>
    /// True for system instructions the API takes apart from the chat history (Anthropic's and Bedrock's <c>system</c>,
    /// Gemini's <c>systemInstruction</c>, the Responses API's <c>instructions</c>, Ollama's <c>system</c>): spans record
    /// them as <c>gen_ai.system_instructions</c>, while a system message in the history stays in
    /// <c>gen_ai.input.messages</c>, as the GenAI conventions ask. Not serialized, and not part of equality.
    /// </summary>
    internal bool IsSystemInstruction { get; init; }

    /// <inheritdoc/>
    public bool Equals(LlmMessage? other) =>
        other is not null && (ReferenceEquals(this, other)
            || (Role == other.Role && Name == other.Name && ToolCallId == other.ToolCallId
                && Utf8Text.Equal(_content, _contentUtf8, other._content, other._contentUtf8)
                && EqualityComparer<IReadOnlyList<LlmToolCall>?>.Default.Equals(ToolCalls, other.ToolCalls)));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Role, Content, Name, ToolCallId, ToolCalls);
}

/// <summary>A tool (function) call requested by the model.</summary>
public sealed record LlmToolCall
{
    /// <summary>The provider's tool-call ID.</summary>
    public string? Id { get; init; }

    /// <summary>The kind of tool, usually <c>function</c>.</summary>
    public string? Type { get; init; }

    /// <summary>The function name.</summary>
    public string? Name { get; init; }

    /// <summary>The arguments as the model wrote them (normally JSON text).</summary>
    public string? Arguments { get; init; }
}

/// <summary>The model's output.</summary>
/// <remarks>
/// As with <see cref="LlmMessage"/>, the text may be kept as the UTF-8 it arrived in until <see cref="Text"/> is read.
/// </remarks>
[JsonConverter(typeof(LlmResponseOutputJsonConverter))]
public sealed record LlmResponseOutput
{
    private string? _text;
    private byte[]? _textUtf8;

    /// <summary>The output text (the first choice when several were asked for).</summary>
    public string? Text
    {
        get => _text ??= Utf8Text.ToStringOrNull(_textUtf8);
        init => (_text, _textUtf8) = (value, null);
    }

    /// <summary>
    /// The text as valid UTF-8 when it was captured so and no other text was set; null otherwise. Setting it replaces
    /// <see cref="Text"/>; setting null leaves <see cref="Text"/> as it is.
    /// </summary>
    internal byte[]? TextUtf8
    {
        get => _textUtf8;
        init => (_text, _textUtf8) = (value is null ? _text : null, value);
    }

    /// <summary>Reasoning text, when the provider returns it.</summary>
    public string? Reasoning { get; init; }

    /// <summary>A refusal message, when the model refused.</summary>
    public string? Refusal { get; init; }

    /// <inheritdoc/>
    public bool Equals(LlmResponseOutput? other) =>
        other is not null && (ReferenceEquals(this, other)
            || (Reasoning == other.Reasoning && Refusal == other.Refusal && Utf8Text.Equal(_text, _textUtf8, other._text, other._textUtf8)));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Text, Reasoning, Refusal);
}

/// <summary>Ambient metadata attached to a call.</summary>
public sealed record LlmCallMetadata
{
    /// <summary>The end user on whose behalf the call was made.</summary>
    public string? UserId { get; init; }

    /// <summary>A conversation or session identifier.</summary>
    public string? SessionId { get; init; }

    /// <summary>Free-form tags.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Custom key/values.</summary>
    public IReadOnlyDictionary<string, string>? Custom { get; init; }
}

/// <summary>Identifies an API key without revealing it.</summary>
public sealed record LlmApiKeyInfo
{
    /// <summary>A short, non-secret prefix of the key (e.g. <c>sk-proj-</c>).</summary>
    public string? Prefix { get; init; }

    /// <summary>Lower-case hex SHA-256 of the whole key.</summary>
    public string? Sha256 { get; init; }
}

/// <summary>What redaction did to a payload.</summary>
public sealed record LlmRedactionSummary
{
    /// <summary>Whether message content was logged.</summary>
    public bool MessageLogging { get; init; }

    /// <summary>How many matches of each entity were replaced.</summary>
    public IReadOnlyDictionary<string, int>? Entities { get; init; }
}
