namespace LlmObservability.Sinks.Http;

/// <summary>Options for <see cref="HttpLlmLogSink"/>. Bound from configuration by <c>AddHttpSink(IConfigurationSection)</c>.</summary>
public sealed class HttpSinkOptions
{
    /// <summary>The name of the <see cref="IHttpClientFactory"/> client the sink uses unless <see cref="HttpClientName"/> says otherwise.</summary>
    public const string DefaultHttpClientName = "LlmObservability.HttpSink";

    /// <summary>The absolute http or https address each batch is POSTed to. Required.</summary>
    public string? Url { get; set; }

    /// <summary>How a batch is framed in the request body. Default: <see cref="HttpSinkFormat.JsonArray"/>.</summary>
    public HttpSinkFormat Format { get; set; } = HttpSinkFormat.JsonArray;

    /// <summary>Which field names each record uses. Default: <see cref="HttpSinkFieldNames.Standard"/>.</summary>
    public HttpSinkFieldNames FieldNames { get; set; } = HttpSinkFieldNames.Standard;

    /// <summary>
    /// Headers added to every request, e.g. <c>Authorization</c> or an API-key header. Their values are never logged.
    /// A <c>Content-Type</c> here replaces the one the format implies.
    /// </summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The largest request body in bytes. A batch that would be larger is sent in several requests; a single record
    /// that is larger on its own has its longest text fields cut (marked <c>…[truncated N bytes]</c>) until it fits.
    /// Default: 4 MiB.
    /// </summary>
    public int MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long one attempt of a request may take before it is abandoned and retried. Default: 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Retries of one request on 408, 429, 5xx, network errors and timed-out attempts, with exponential backoff and
    /// jitter, waiting as long as a <c>Retry-After</c> header says (up to 30 seconds; a longer pause is left to the
    /// dispatcher). When they are spent the batch goes back to the dispatcher, which tries it again later per
    /// <see cref="Dispatch.LlmSinkOptions"/>. 0 turns these retries off. Default: 3.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry delay; it doubles per retry, with jitter. At most 30 seconds. Default: 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the circuit stays open after most requests in a minute failed (at least 10 of them): requests fail at
    /// once meanwhile and the dispatcher keeps the records for later. At least 0.5 seconds. Default: 30 seconds.
    /// </summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The <see cref="IHttpClientFactory"/> client to use, so that handlers, a proxy or certificates can be configured with
    /// <c>services.AddHttpClient(name)</c>; <c>AddHttpSink</c> gives it the resilience pipeline. Default:
    /// <see cref="DefaultHttpClientName"/>.
    /// </summary>
    public string HttpClientName { get; set; } = DefaultHttpClientName;

    /// <summary>Describes every invalid setting; empty when the options are valid.</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Url))
        {
            errors.Add("Url is required.");
        }
        else if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"Url must be an absolute http or https address (was '{Url}').");
        }
        if (!Enum.IsDefined(Format)) errors.Add($"Format '{Format}' is not one of JsonArray, Ndjson.");
        if (!Enum.IsDefined(FieldNames)) errors.Add($"FieldNames '{FieldNames}' is not one of Standard, LiteLlm.");
        if (MaxRequestBytes < 1024) errors.Add($"MaxRequestBytes must be at least 1024 (was {MaxRequestBytes}).");
        SinkResilience.Validate(errors, MaxRetries, RetryBaseDelay, CircuitBreakDuration, Timeout);
        if (string.IsNullOrWhiteSpace(HttpClientName)) errors.Add("HttpClientName is required.");
        return errors;
    }

    internal void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid HTTP sink options: {string.Join(" ", errors)}");
    }
}

/// <summary>How <see cref="HttpLlmLogSink"/> frames a batch.</summary>
public enum HttpSinkFormat
{
    /// <summary>One JSON array of records, <c>Content-Type: application/json</c> (LiteLLM's <c>json_array</c>).</summary>
    JsonArray,

    /// <summary>One record per line, <c>Content-Type: application/x-ndjson</c> (LiteLLM's <c>ndjson</c>).</summary>
    Ndjson,
}

/// <summary>Which field names <see cref="HttpLlmLogSink"/> writes.</summary>
public enum HttpSinkFieldNames
{
    /// <summary>This library's payload schema (snake_case, ISO-8601 times, milliseconds).</summary>
    Standard,

    /// <summary>
    /// LiteLLM's <c>StandardLoggingPayload</c> shape (epoch-second times, <c>response_cost</c>, <c>metadata.user_api_key_*</c>,
    /// OpenAI-style <c>messages</c> and <c>response</c>), for receivers written for LiteLLM's generic API logger.
    /// </summary>
    LiteLlm,
}
