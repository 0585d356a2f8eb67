using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LlmObservability.Langfuse.Otlp;
using LlmObservability.Payload;
using LlmObservability.Telemetry;

namespace LlmObservability.Langfuse;

/// <summary>
/// Turns one payload into one OTLP span (kind CLIENT) carrying the OpenTelemetry <c>gen_ai.*</c> attributes and the
/// <c>langfuse.*</c> attributes Langfuse's OTel ingestion reads (they take precedence there over <c>gen_ai.*</c>).
/// Names follow Langfuse's <c>packages/shared/src/server/otel/attributes.ts</c> and its property-mapping docs.
/// </summary>
internal static class LangfuseSpanMapper
{
    /// <summary>Attribute that lists the attributes shortened by truncation.</summary>
    public const string TruncatedAttribute = "langfuse.observation.metadata.truncated";

    public const string MetadataPrefix = "langfuse.observation.metadata.";

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // The JSON ends up in span attributes, never in HTML: escaping non-ASCII would only make it larger.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // Providers whose prompt-token count excludes cache reads and writes (reported beside it).
    private static readonly HashSet<string> CacheBesidePrompt = new(StringComparer.OrdinalIgnoreCase)
    {
        "anthropic", "bedrock", "aws_bedrock", "amazon_bedrock",
    };

    // Providers whose reasoning tokens are reported beside the completion count rather than inside it.
    private static readonly HashSet<string> ReasoningBesideCompletion = new(StringComparer.OrdinalIgnoreCase)
    {
        "gemini", "google", "google_ai", "vertex_ai", "gcp.gemini", "gcp.vertex_ai",
    };

    // Payload provider names → OpenTelemetry gen_ai.provider.name well-known values.
    private static readonly Dictionary<string, string> SemconvProviders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["azure_openai"] = "azure.ai.openai",
        ["azure"] = "azure.ai.openai",
        ["azure_ai_inference"] = "azure.ai.inference",
        ["gemini"] = "gcp.gemini",
        ["google"] = "gcp.gemini",
        ["google_ai"] = "gcp.gemini",
        ["vertex_ai"] = "gcp.vertex_ai",
        ["bedrock"] = "aws.bedrock",
        ["aws_bedrock"] = "aws.bedrock",
        ["mistral"] = "mistral_ai",
        ["xai"] = "x_ai",
        ["watsonx"] = "ibm.watsonx.ai",
    };

    public static OtlpSpan Map(StandardLoggingPayload payload, LangfuseSinkOptions options)
    {
        var operation = OperationName(payload.CallType);
        var model = payload.ResponseModel ?? payload.RequestedModel;
        var name = model is null ? operation : $"{operation} {model}";
        var parent = ParseId(payload.ParentSpanId, 8);
        var failed = payload.Status == LlmCallStatus.Failure;
        var statusMessage = failed ? FailureMessage(payload) : payload.Error is { } notes ? Describe(notes) : null;

        var span = new OtlpSpan
        {
            TraceId = ParseId(payload.TraceId, 16) ?? FallbackTraceId(payload.Id),
            SpanId = ParseId(payload.SpanId, 8) ?? FallbackSpanId(payload.Id),
            ParentSpanId = parent,
            Name = name,
            Kind = OtlpSpanKind.Client,
            StartTimeUnixNano = UnixNanos(payload.StartTime),
            EndTimeUnixNano = UnixNanos(payload.EndTime < payload.StartTime ? payload.StartTime : payload.EndTime),
            StatusCode = failed ? OtlpStatusCode.Error : OtlpStatusCode.Unset,
            StatusMessage = failed ? statusMessage : null,
            ServiceName = string.IsNullOrWhiteSpace(payload.ServiceName) ? "unknown_service" : payload.ServiceName,
        };
        var attributes = span.Attributes;

        // OpenTelemetry GenAI semantic conventions.
        attributes.Add(new("gen_ai.operation.name", OtlpValue.String(operation)));
        if (payload.Provider is { Length: > 0 } provider)
        {
            var semconv = SemconvProviders.GetValueOrDefault(provider, provider);
            attributes.Add(new("gen_ai.provider.name", OtlpValue.String(semconv)));
            attributes.Add(new("gen_ai.system", OtlpValue.String(semconv))); // the name before semconv 1.37, still widely read
        }
        if (payload.RequestedModel is { } requested) attributes.Add(new("gen_ai.request.model", OtlpValue.String(requested)));
        if (payload.ResponseId is { } responseId) attributes.Add(new("gen_ai.response.id", OtlpValue.String(responseId)));
        if (payload.ResponseModel is { } served) attributes.Add(new("gen_ai.response.model", OtlpValue.String(served)));
        AddRequestParameters(attributes, payload.ModelParameters);
        var usage = UsageBuckets.From(payload);
        if (usage.InputTotal is { } inputTotal) attributes.Add(new("gen_ai.usage.input_tokens", OtlpValue.Int(inputTotal)));
        if (usage.OutputTotal is { } outputTotal) attributes.Add(new("gen_ai.usage.output_tokens", OtlpValue.Int(outputTotal)));
        if (payload.FinishReasons is { Count: > 0 } reasons) attributes.Add(new("gen_ai.response.finish_reasons", OtlpValue.StringArray(reasons)));

        // Langfuse observation.
        attributes.Add(new("langfuse.observation.type", OtlpValue.String(operation == "embeddings" ? "embedding" : "generation")));
        if (model is not null) attributes.Add(new("langfuse.observation.model.name", OtlpValue.String(model)));
        if (ModelParametersJson(payload.ModelParameters) is { } parameters) attributes.Add(new("langfuse.observation.model.parameters", OtlpValue.String(parameters)));
        if (payload.CompletionStartTime is { } completionStart) attributes.Add(new("langfuse.observation.completion_start_time", OtlpValue.String(Iso(completionStart))));
        if (usage.ToJson() is { } usageJson) attributes.Add(new("langfuse.observation.usage_details", OtlpValue.String(usageJson)));
        if (payload.Cost is { } cost) attributes.Add(new("langfuse.observation.cost_details", OtlpValue.String(CostJson(cost))));
        var level = failed ? "ERROR" : payload.Error is not null ? "WARNING" : "DEFAULT";
        attributes.Add(new("langfuse.observation.level", OtlpValue.String(level)));
        if (statusMessage is not null) attributes.Add(new("langfuse.observation.status_message", OtlpValue.String(statusMessage)));
        if (options.IncludeInputOutput)
        {
            if (payload.Messages is { } messages) attributes.Add(new("langfuse.observation.input", OtlpValue.String(InputJson(messages))));
            if (OutputJson(payload) is { } output) attributes.Add(new("langfuse.observation.output", OtlpValue.String(output)));
        }
        AddMetadata(attributes, payload);

        // Trace-level attributes, on every span as Langfuse recommends, so filters work per observation too.
        if (payload.Metadata?.UserId is { Length: > 0 } userId) attributes.Add(new("user.id", OtlpValue.String(userId)));
        if (payload.Metadata?.SessionId is { Length: > 0 } sessionId) attributes.Add(new("session.id", OtlpValue.String(sessionId)));
        if (payload.Metadata?.Tags is { Count: > 0 } tags) attributes.Add(new("langfuse.trace.tags", OtlpValue.StringArray(tags)));
        // The service names the trace; without one, a root span names it after itself. A child span of the caller's
        // own span leaves the name to the caller (setting it would overwrite theirs).
        var traceName = !string.IsNullOrWhiteSpace(payload.ServiceName) ? payload.ServiceName : parent is null ? name : null;
        if (traceName is not null) attributes.Add(new("langfuse.trace.name", OtlpValue.String(traceName)));
        if ((options.Environment ?? NormalizeEnvironment(payload.Environment)) is { } environment) attributes.Add(new("langfuse.environment", OtlpValue.String(environment)));
        if (options.Release is { Length: > 0 } release) attributes.Add(new("langfuse.release", OtlpValue.String(release)));
        return span;
    }

    /// <summary>The <c>gen_ai.operation.name</c> for a payload's call type.</summary>
    internal static string OperationName(string? callType) => callType switch
    {
        null or "" or "chat_completion" or "chat" or "messages" or "responses" or "converse" => "chat",
        "embedding" or "embeddings" => "embeddings",
        "generate_content" or "stream_generate_content" => "generate_content",
        "completion" or "text_completion" => "text_completion",
        _ => callType,
    };

    /// <summary>
    /// A payload environment adjusted to Langfuse's rules (lower case, <c>[a-z0-9-_]</c>, at most 40 characters, not
    /// starting with <c>langfuse</c>); null when nothing usable is left.
    /// </summary>
    internal static string? NormalizeEnvironment(string? environment)
    {
        if (string.IsNullOrWhiteSpace(environment)) return null;
        var builder = new StringBuilder(environment.Length);
        foreach (var c in environment.Trim().ToLowerInvariant())
        {
            builder.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' ? c : '-');
        }
        var result = builder.ToString();
        if (result.StartsWith("langfuse", StringComparison.Ordinal)) result = "env-" + result;
        if (result.Length > 40) result = result[..40];
        return LangfuseSinkOptions.IsValidEnvironment(result) ? result : null;
    }

    internal static ulong UnixNanos(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        return ticks <= 0 ? 0 : (ulong)ticks * 100;
    }

    internal static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A hex ID of exactly <paramref name="bytes"/> bytes that is not all zeros (OTLP's invalid ID), else null.</summary>
    internal static byte[]? ParseId(string? hex, int bytes)
    {
        if (hex is null || hex.Length != bytes * 2) return null;
        try
        {
            var id = Convert.FromHexString(hex);
            return id.AsSpan().ContainsAnyExcept((byte)0) ? id : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    // A call with no trace context still needs stable IDs, so a retried export upserts the same observation in
    // Langfuse instead of adding a second one: both are derived from the call ID.
    private static byte[] FallbackTraceId(string callId) =>
        ParseId(callId.Replace("-", string.Empty, StringComparison.Ordinal), 16) ?? SHA256.HashData(Encoding.UTF8.GetBytes("trace:" + callId))[..16];

    private static byte[] FallbackSpanId(string callId)
    {
        var id = SHA256.HashData(Encoding.UTF8.GetBytes("span:" + callId))[..8];
        if (!id.AsSpan().ContainsAnyExcept((byte)0)) id[^1] = 1;
        return id;
    }

    private static void AddRequestParameters(List<OtlpAttribute> attributes, IReadOnlyDictionary<string, JsonElement>? parameters) =>
        GenAiRequestAttributes.Read(parameters, attributes, static (attributes, name, value) => attributes.Add(new(name, value switch
        {
            double number => OtlpValue.Double(number),
            long count => OtlpValue.Int(count),
            string[] strings => OtlpValue.StringArray(strings),
            _ => OtlpValue.String(value.ToString() ?? ""),
        })));

    /// <summary>Model parameters as Langfuse wants them: a JSON object of numbers and strings (anything else as its JSON text).</summary>
    private static string? ModelParametersJson(IReadOnlyDictionary<string, JsonElement>? parameters)
    {
        if (parameters is null || parameters.Count == 0) return null;
        return WriteJson(parameters, static (writer, parameters) =>
        {
            writer.WriteStartObject();
            foreach (var (key, value) in parameters.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                switch (value.ValueKind)
                {
                    case JsonValueKind.Number:
                        writer.WritePropertyName(key);
                        value.WriteTo(writer);
                        break;
                    case JsonValueKind.String:
                        writer.WriteString(key, value.GetString());
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        writer.WriteString(key, value.ValueKind == JsonValueKind.True ? "true" : "false");
                        break;
                    case JsonValueKind.Object or JsonValueKind.Array:
                        writer.WriteString(key, value.GetRawText());
                        break;
                }
            }
            writer.WriteEndObject();
        });
    }

    private static string CostJson(LlmCost cost) => WriteJson(cost, static (writer, cost) =>
    {
        // Keys match the usage types above so Langfuse lines cost up with usage (and sums "input*"/"output*" keys).
        writer.WriteStartObject();
        writer.WriteNumber("input", cost.Input);
        if (cost.CacheRead != 0) writer.WriteNumber("input_cached_tokens", cost.CacheRead);
        if (cost.CacheCreation != 0) writer.WriteNumber("input_cache_creation", cost.CacheCreation);
        writer.WriteNumber("output", cost.Output);
        if (cost.Reasoning != 0) writer.WriteNumber("output_reasoning", cost.Reasoning);
        writer.WriteNumber("total", cost.Total);
        writer.WriteEndObject();
    });

    /// <summary>The request messages in the OpenAI chat shape, which Langfuse renders as a conversation.</summary>
    private static string InputJson(IReadOnlyList<LlmMessage> messages) => WriteJson(messages, static (writer, messages) =>
    {
        writer.WriteStartArray();
        foreach (var message in messages)
        {
            writer.WriteStartObject();
            writer.WriteString("role", message.Role);
            writer.WriteString("content", message.Content);
            if (message.Name is not null) writer.WriteString("name", message.Name);
            if (message.ToolCallId is not null) writer.WriteString("tool_call_id", message.ToolCallId);
            if (message.ToolCalls is { Count: > 0 } calls) WriteToolCalls(writer, calls);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    });

    /// <summary>The output as one assistant message (text, reasoning, refusal, tool calls); null when the payload has none.</summary>
    private static string? OutputJson(StandardLoggingPayload payload)
    {
        if (payload.Response is null && payload.ToolCalls is not { Count: > 0 }) return null;
        return WriteJson(payload, static (writer, payload) =>
        {
            writer.WriteStartObject();
            writer.WriteString("role", "assistant");
            writer.WriteString("content", payload.Response?.Text);
            if (payload.Response?.Reasoning is { } reasoning) writer.WriteString("reasoning", reasoning);
            if (payload.Response?.Refusal is { } refusal) writer.WriteString("refusal", refusal);
            if (payload.ToolCalls is { Count: > 0 } calls) WriteToolCalls(writer, calls);
            writer.WriteEndObject();
        });
    }

    private static void WriteToolCalls(Utf8JsonWriter writer, IReadOnlyList<LlmToolCall> calls)
    {
        writer.WriteStartArray("tool_calls");
        foreach (var call in calls)
        {
            writer.WriteStartObject();
            if (call.Id is not null) writer.WriteString("id", call.Id);
            writer.WriteString("type", call.Type ?? "function");
            writer.WriteStartObject("function");
            writer.WriteString("name", call.Name);
            writer.WriteString("arguments", call.Arguments);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static void AddMetadata(List<OtlpAttribute> attributes, StandardLoggingPayload payload)
    {
        var ours = new List<OtlpAttribute>();
        Add("call_id", OtlpValue.String(payload.Id));
        if (payload.Provider is not null) Add("provider", OtlpValue.String(payload.Provider));
        if (payload.CallType is not null) Add("call_type", OtlpValue.String(payload.CallType));
        if (payload.ApiBase is not null) Add("api_base", OtlpValue.String(payload.ApiBase));
        if (payload.Endpoint is not null) Add("endpoint", OtlpValue.String(payload.Endpoint));
        if (payload.HttpStatus is { } status) Add("http_status", OtlpValue.Int(status));
        if (payload.RequestId is not null) Add("request_id", OtlpValue.String(payload.RequestId));
        if (payload.ResponseId is not null) Add("response_id", OtlpValue.String(payload.ResponseId));
        Add("attempt", OtlpValue.Int(payload.Attempt));
        Add("stream", OtlpValue.Bool(payload.Stream));
        if (payload.TtftMs is { } ttft) Add("ttft_ms", OtlpValue.Double(ttft));
        Add("latency_ms", OtlpValue.Double(payload.LatencyMs));
        if (payload.OutputTokensPerSecond is { } tps) Add("output_tokens_per_second", OtlpValue.Double(tps));
        if (payload.UsageEstimated) Add("usage_estimated", OtlpValue.Bool(true));
        if (payload.Cost?.PriceKey is { } priceKey) Add("price_key", OtlpValue.String(priceKey));
        if (payload.Cost?.PriceSource is { } priceSource) Add("price_source", OtlpValue.String(priceSource));
        if (payload.Error?.Type is { } errorType) Add("error_type", OtlpValue.String(errorType));
        if (payload.Error?.Code is { } errorCode) Add("error_code", OtlpValue.String(errorCode));
        if (payload.Error?.Body is { } errorBody) Add("error_body", OtlpValue.String(errorBody));
        if (payload.ApiKey?.Prefix is { } keyPrefix) Add("api_key_prefix", OtlpValue.String(keyPrefix));
        attributes.AddRange(ours);

        // The caller's own key/values, unless they collide with the ones above.
        if (payload.Metadata?.Custom is { } custom)
        {
            foreach (var (key, value) in custom)
            {
                var attribute = MetadataPrefix + key;
                if (key.Length == 0 || value is null || ours.Exists(a => a.Key == attribute)) continue;
                attributes.Add(new(attribute, OtlpValue.String(value)));
            }
        }

        void Add(string key, OtlpValue value) => ours.Add(new(MetadataPrefix + key, value));
    }

    private static string FailureMessage(StandardLoggingPayload payload)
    {
        var builder = new StringBuilder();
        if (payload.HttpStatus is { } status && status >= 400) builder.Append("HTTP ").Append(status.ToString(CultureInfo.InvariantCulture));
        if (payload.Error is { } error) AppendError(builder, error);
        return builder.Length == 0 ? "failed" : builder.ToString();
    }

    private static string Describe(LlmError error)
    {
        var builder = new StringBuilder();
        AppendError(builder, error);
        return builder.ToString();
    }

    private static void AppendError(StringBuilder builder, LlmError error)
    {
        if (!string.IsNullOrEmpty(error.Type)) builder.Append(builder.Length > 0 ? " " : string.Empty).Append(error.Type);
        if (!string.IsNullOrEmpty(error.Code) && error.Code != error.Type) builder.Append(" (").Append(error.Code).Append(')');
        if (!string.IsNullOrEmpty(error.Message)) builder.Append(builder.Length > 0 ? ": " : string.Empty).Append(error.Message);
    }

    private static string WriteJson<T>(T state, Action<Utf8JsonWriter, T> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, JsonOptions)) write(writer, state);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Token counts split into the non-overlapping usage types Langfuse expects (it prices and sums each key on its
    /// own): uncached input, cache reads, cache writes, output without reasoning, reasoning. The key names are those of
    /// Langfuse's built-in model prices (<c>input_cached_tokens</c>, <c>input_cache_creation</c>, <c>output_reasoning</c>).
    /// </summary>
    internal readonly record struct UsageBuckets(long? Input, long? CacheRead, long? CacheCreation, long? Output, long? Reasoning)
    {
        public static UsageBuckets From(StandardLoggingPayload payload)
        {
            var provider = payload.Provider ?? string.Empty;
            var cached = Positive(payload.CachedPromptTokens);
            var creation = Positive(payload.CacheCreationTokens);
            var reasoning = Positive(payload.ReasoningTokens);
            long? input = payload.PromptTokens is { } prompt
                ? CacheBesidePrompt.Contains(provider) ? Math.Max(0, prompt) : Math.Max(0, prompt - (cached ?? 0) - (creation ?? 0))
                : null;
            long? output = payload.CompletionTokens is { } completion
                ? ReasoningBesideCompletion.Contains(provider) ? Math.Max(0, completion) : Math.Max(0, completion - (reasoning ?? 0))
                : null;
            return new(input, cached, creation, output, reasoning);

            static long? Positive(long? value) => value is > 0 ? value : null;
        }

        /// <summary>All input tokens, cached ones included (what <c>gen_ai.usage.input_tokens</c> means).</summary>
        public long? InputTotal => Input is null && CacheRead is null && CacheCreation is null ? null : (Input ?? 0) + (CacheRead ?? 0) + (CacheCreation ?? 0);

        /// <summary>All output tokens, reasoning included (what <c>gen_ai.usage.output_tokens</c> means).</summary>
        public long? OutputTotal => Output is null && Reasoning is null ? null : (Output ?? 0) + (Reasoning ?? 0);

        public string? ToJson()
        {
            if (InputTotal is null && OutputTotal is null) return null;
            return WriteJson(this, static (writer, usage) =>
            {
                writer.WriteStartObject();
                if (usage.Input is { } input) writer.WriteNumber("input", input);
                if (usage.CacheRead is { } cacheRead) writer.WriteNumber("input_cached_tokens", cacheRead);
                if (usage.CacheCreation is { } cacheCreation) writer.WriteNumber("input_cache_creation", cacheCreation);
                if (usage.Output is { } output) writer.WriteNumber("output", output);
                if (usage.Reasoning is { } reasoning) writer.WriteNumber("output_reasoning", reasoning);
                writer.WriteNumber("total", (usage.InputTotal ?? 0) + (usage.OutputTotal ?? 0));
                writer.WriteEndObject();
            });
        }
    }
}
