using System.ComponentModel.DataAnnotations;
using LlmObservability.Pricing;
using LlmObservability.Redaction;

namespace LlmObservability;

/// <summary>
/// Options for capture and payload building. Bound from the <c>LlmObservability</c> configuration section by
/// <c>AddLlmObservability(IConfigurationSection)</c>; validated at start-up.
/// </summary>
public sealed class LlmObservabilityOptions
{
    /// <summary>Turns capture off without removing the handler: calls pass through untouched. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The name of the calling service, written to every payload's <c>service_name</c>. Default: null.</summary>
    public string? ServiceName { get; set; }

    /// <summary>The deployment environment (e.g. <c>production</c>), written to <c>environment</c>. Default: null.</summary>
    public string? Environment { get; set; }

    /// <summary>
    /// Whether request messages, response text and tool calls are recorded. When false, payloads keep metadata only
    /// (tokens, cost, timing, status), and model parameters keep settings only (numbers, booleans, short strings; the
    /// rest becomes a size note). Default: true.
    /// </summary>
    public bool LogMessages { get; set; } = true;

    /// <summary>Largest request body, in bytes, that is read for logging; larger bodies pass through unread. Default: 1 MiB.</summary>
    [Range(0, int.MaxValue)]
    public int MaxRequestCaptureBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Largest non-streamed response body, in bytes, kept for parsing; the caller still receives every byte.
    /// Default: 1 MiB.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxResponseCaptureBytes { get; set; } = 1024 * 1024;

    /// <summary>Longest text, in characters, kept for one message, the response text, one tool call's arguments, or one string in the model parameters. Default: 256 KiB.</summary>
    [Range(0, int.MaxValue)]
    public int MaxContentChars { get; set; } = 256 * 1024;

    /// <summary>Longest error body, in characters, kept in <c>error.body</c>. Default: 4,096.</summary>
    [Range(0, int.MaxValue)]
    public int MaxErrorBodyChars { get; set; } = 4096;

    /// <summary>Records awaiting payload building before new ones are dropped (and counted). Default: 10,000.</summary>
    [Range(1, int.MaxValue)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>How long host shutdown or <c>DisposeAsync</c> waits for queued records to reach the sinks. Default: 10 seconds.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Adds the <c>x-llm-call-id</c> response header carrying the call ID. Default: true.</summary>
    public bool AddCallIdResponseHeader { get; set; } = true;

    /// <summary>
    /// Prices for the payload's <c>cost</c>: overrides, a LiteLLM price file, Azure deployment names, and whether the
    /// built-in table is used. Precedence: overrides, then the LiteLLM file, then the built-in table.
    /// </summary>
    public LlmPricingOptions Pricing { get; set; } = new();

    /// <summary>
    /// Adds an <c>x-llm-cost</c> response header (USD) to successful non-streamed responses, as gateways do. To know the
    /// cost before returning the response, the handler reads such bodies in full first (HttpClient does so by default
    /// anyway); streamed responses never get the header, since their headers leave before their usage. Default: false.
    /// </summary>
    public bool AddCostResponseHeader { get; set; }

    /// <summary>
    /// Puts message content (<c>gen_ai.system_instructions</c>, <c>gen_ai.input.messages</c>,
    /// <c>gen_ai.output.messages</c>, as JSON strings in the GenAI conventions' schemas) on the OpenTelemetry spans,
    /// always after redaction. Null (the default) follows the <c>OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT</c>
    /// environment variable (<c>true</c> opts in); otherwise off. Message logging off (<see cref="LogMessages"/>) wins.
    /// </summary>
    public bool? CaptureMessageContentOnSpans { get; set; }

    internal bool ShouldCaptureMessageContentOnSpans =>
        CaptureMessageContentOnSpans ?? string.Equals(System.Environment.GetEnvironmentVariable(Telemetry.LlmTelemetry.CaptureMessageContentVariable), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>PII and secret redaction, applied to every payload before any sink sees it. On by default.</summary>
    public LlmRedactionOptions Redaction { get; set; } = new();

    /// <summary>
    /// Hosts and paths to treat as a given provider's wire format (gateways, private deployments), or never to record
    /// (<c>Format = "none"</c>); checked in order before the built-in detection. Default: empty.
    /// </summary>
    public IList<LlmProviderMapping> ProviderMappings { get; } = [];

    /// <summary>Describes every invalid setting; empty when the options are valid.</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (Redaction is null) errors.Add("Redaction must not be null.");
        else errors.AddRange(Redaction.GetValidationErrors());
        if (Pricing is null) errors.Add("Pricing must not be null.");
        else errors.AddRange(Pricing.GetValidationErrors().Select(e => "Pricing: " + e));
        if (MaxRequestCaptureBytes < 0) errors.Add($"MaxRequestCaptureBytes must not be negative (was {MaxRequestCaptureBytes}).");
        if (MaxResponseCaptureBytes < 0) errors.Add($"MaxResponseCaptureBytes must not be negative (was {MaxResponseCaptureBytes}).");
        if (MaxContentChars < 0) errors.Add($"MaxContentChars must not be negative (was {MaxContentChars}).");
        if (MaxErrorBodyChars < 0) errors.Add($"MaxErrorBodyChars must not be negative (was {MaxErrorBodyChars}).");
        if (QueueCapacity < 1) errors.Add($"QueueCapacity must be at least 1 (was {QueueCapacity}).");
        for (var i = 0; i < ProviderMappings.Count; i++)
        {
            var mapping = ProviderMappings[i];
            if (mapping is null) errors.Add($"ProviderMappings[{i}] is null.");
            else if (!Providers.ProviderDetector.IsKnownFormat(mapping.Format)) errors.Add($"ProviderMappings[{i}].Format '{mapping.Format}' is not one of: {string.Join(", ", LlmProviderMapping.KnownFormats)}.");
            else if (string.IsNullOrEmpty(mapping.Host) && string.IsNullOrEmpty(mapping.PathPrefix)) errors.Add($"ProviderMappings[{i}] needs a Host or a PathPrefix; otherwise it would claim every request.");
            else if (Providers.ProviderDetector.OperationError(mapping) is { } operationError) errors.Add($"ProviderMappings[{i}].{operationError}");
        }
        if (ShutdownTimeout < TimeSpan.Zero) errors.Add($"ShutdownTimeout must not be negative (was {ShutdownTimeout}).");
        return errors;
    }

    internal void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid LlmObservability options: {string.Join(" ", errors)}");
    }
}
