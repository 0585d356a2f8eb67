using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.Telemetry;

/// <summary>
/// The names to wire LlmObservability into an OpenTelemetry set-up:
/// <c>tracing.AddSource(LlmTelemetry.SourceName)</c> and <c>metrics.AddMeter(LlmTelemetry.MeterName)</c>. Spans and
/// metrics follow the OpenTelemetry GenAI semantic conventions, with the bucket boundaries Microsoft.Extensions.AI
/// uses, so one dashboard serves both. The core depends on System.Diagnostics only, not on the OpenTelemetry SDK.
/// </summary>
public static class LlmTelemetry
{
    /// <summary>The ActivitySource name: one CLIENT span per call, named <c>{gen_ai.operation.name} {gen_ai.request.model}</c>.</summary>
    public const string SourceName = "LlmObservability";

    /// <summary>The Meter name.</summary>
    public const string MeterName = "LlmObservability";

    /// <summary>The environment variable that, set to <c>true</c>, opts in to message content on spans (redacted first).</summary>
    public const string CaptureMessageContentVariable = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

    internal static readonly ActivitySource Source = new(SourceName, typeof(LlmTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The payload's call type as the conventions' <c>gen_ai.operation.name</c>.</summary>
    internal static string OperationName(string? callType) => callType switch
    {
        "embedding" => "embeddings",
        "text_completion" => "text_completion",
        "generate_content" => "generate_content",
        _ => "chat", // chat_completion, messages, responses, converse
    };

    /// <summary>The payload's provider as the conventions' well-known <c>gen_ai.provider.name</c> values.</summary>
    internal static string ProviderName(string? provider) => provider switch
    {
        "azure_openai" => "azure.ai.openai",
        "gemini" => "gcp.gemini",
        "vertex_ai" => "gcp.vertex_ai",
        "bedrock" => "aws.bedrock",
        "mistral" => "mistral_ai",
        "xai" => "x_ai",
        null => "unknown",
        _ => provider,
    };
}

/// <summary>
/// A call's token counts as the GenAI conventions mean them: all input tokens (cache reads and writes included) and
/// all output tokens (reasoning included); null where the provider reported none.
/// </summary>
internal readonly record struct TokenTotals(long? Input, long? Output);

/// <summary>Starts and finishes the span of one call. Attributes that matter for sampling are set at the start.</summary>
internal static class CallSpan
{
    public static Activity? Start(CallRecord record, HttpRequestMessage request, string? model)
    {
        var source = LlmTelemetry.Source;
        if (!source.HasListeners()) return null;
        var operation = LlmTelemetry.OperationName(record.Route.Adapter.CallType);
        var uri = request.RequestUri!;
        var tags = new ActivityTagsCollection
        {
            ["gen_ai.operation.name"] = operation,
            ["gen_ai.provider.name"] = LlmTelemetry.ProviderName(record.Route.Provider),
            ["gen_ai.request.model"] = model,
            ["server.address"] = uri.Host,
            ["server.port"] = uri.Port,
            ["llm_observability.call_id"] = record.Id,
        };
        var name = model is null ? operation : $"{operation} {model}";
        return source.StartActivity(name, ActivityKind.Client, parentContext: default, tags, links: null, startTime: record.StartTime);
    }

    /// <summary>Adds what the response told (from the built, redacted payload) and ends the span at the call's end time.</summary>
    public static void Finish(Activity activity, StandardLoggingPayload payload, TokenTotals tokens, bool captureContent)
    {
        try
        {
            SetIfNotNull(activity, "gen_ai.response.id", payload.ResponseId);
            SetIfNotNull(activity, "gen_ai.response.model", payload.ResponseModel);
            if (payload.FinishReasons is { Count: > 0 } reasons) activity.SetTag("gen_ai.response.finish_reasons", reasons.ToArray());
            GenAiRequestAttributes.Read(payload.ModelParameters, activity, static (span, name, value) => span.SetTag(name, value));
            activity.SetTag("gen_ai.request.stream", payload.Stream);
            SetIfNotNull(activity, "gen_ai.usage.input_tokens", tokens.Input);
            SetIfNotNull(activity, "gen_ai.usage.output_tokens", tokens.Output);
            SetIfNotNull(activity, "gen_ai.usage.cache_read.input_tokens", payload.CachedPromptTokens);
            SetIfNotNull(activity, "gen_ai.usage.cache_creation.input_tokens", payload.CacheCreationTokens);
            SetIfNotNull(activity, "gen_ai.usage.reasoning.output_tokens", payload.ReasoningTokens);
            if (payload.TtftMs is double ttft && payload.Stream) activity.SetTag("gen_ai.response.time_to_first_chunk", ttft / 1000.0);
            SetIfNotNull(activity, "http.response.status_code", payload.HttpStatus);
            if (payload.Cost is { } cost) activity.SetTag("llm_observability.cost_usd", (double)cost.Total);
            if (payload.Status == LlmCallStatus.Failure)
            {
                activity.SetTag("error.type", payload.Error?.Type ?? "error");
                activity.SetStatus(ActivityStatusCode.Error, payload.Error?.Message);
            }
            if (captureContent)
            {
                // In the conventions' JSON schemas' shapes, built from the (redacted) payload.
                if (payload.Messages is { } messages)
                {
                    SetIfNotNull(activity, "gen_ai.system_instructions", SpanContent.SystemInstructions(messages));
                    SetIfNotNull(activity, "gen_ai.input.messages", SpanContent.InputMessages(messages));
                }
                SetIfNotNull(activity, "gen_ai.output.messages", SpanContent.OutputMessages(payload));
            }
        }
        finally
        {
            activity.SetEndTime(payload.EndTime.UtcDateTime);
            activity.Stop();
        }
    }

    private static void SetIfNotNull(Activity activity, string name, object? value)
    {
        if (value is not null) activity.SetTag(name, value);
    }
}

/// <summary>
/// The GenAI client metrics plus the library's own health per sink. One instance per dispatcher; its Meter comes from
/// <see cref="IMeterFactory"/> when there is one, so tests and hosts can scope it.
/// </summary>
internal sealed class LlmMetrics : IDisposable
{
    // The GenAI conventions' (and Microsoft.Extensions.AI's) boundaries: seconds for the three time histograms, tokens for usage.
    private static readonly double[] SecondsBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly long[] TokenBoundaries = [1, 4, 16, 64, 256, 1_024, 4_096, 16_384, 65_536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _duration;
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _timeToFirstChunk;
    private readonly Histogram<double> _timePerOutputChunk;
    private readonly Counter<double> _cost;

    public LlmMetrics(IMeterFactory? meterFactory, Func<LlmDispatcherStatistics> statistics)
    {
        var meterOptions = new MeterOptions(LlmTelemetry.MeterName) { Version = typeof(LlmMetrics).Assembly.GetName().Version?.ToString() };
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(meterOptions) ?? new Meter(meterOptions);
        _duration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "GenAI operation duration.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBoundaries });
        _tokens = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBoundaries });
        _timeToFirstChunk = _meter.CreateHistogram<double>("gen_ai.client.operation.time_to_first_chunk", "s", "Time to receive the first chunk of a streamed response.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBoundaries });
        _timePerOutputChunk = _meter.CreateHistogram<double>("gen_ai.client.operation.time_per_output_chunk", "s", "Time per output chunk after the first, of a streamed response.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBoundaries });
        _cost = _meter.CreateCounter<double>("llm_observability.client.cost", "USD", "Cost of LLM calls in US dollars (calls with a known price).");

        _meter.CreateObservableCounter("llm_observability.sink.enqueued", () => PerSink(statistics, s => s.Enqueued), "{record}", "Records placed in each sink's queue.");
        _meter.CreateObservableCounter("llm_observability.sink.delivered", () => PerSink(statistics, s => s.Delivered), "{record}", "Records each sink accepted.");
        _meter.CreateObservableCounter("llm_observability.sink.failed", () => PerSink(statistics, s => s.Failed), "{record}", "Records given up after a sink failed every retry.");
        _meter.CreateObservableCounter("llm_observability.sink.rejected", () => PerSink(statistics, s => s.Rejected), "{record}", "Records the destination refused for good (e.g. HTTP 400, 401, 403); not retried.");
        _meter.CreateObservableCounter("llm_observability.sink.dropped", () => PerSink(statistics, s => s.Dropped), "{record}", "Records dropped because a sink's queue was full or shutdown timed out.");
        _meter.CreateObservableUpDownCounter("llm_observability.sink.queue_depth", () => PerSink(statistics, s => s.QueueDepth), "{record}", "Records waiting in each sink's queue.");
        _meter.CreateObservableCounter("llm_observability.intake.dropped", () => statistics().Dropped, "{record}", "Records refused before payload building (intake queue full or stopping).");
    }

    public void Record(StandardLoggingPayload payload, TokenTotals tokens, IReadOnlyList<double>? chunkIntervalsSeconds)
    {
        if (!_duration.Enabled && !_tokens.Enabled && !_timeToFirstChunk.Enabled && !_timePerOutputChunk.Enabled && !_cost.Enabled) return;
        var tags = new TagList
        {
            { "gen_ai.operation.name", LlmTelemetry.OperationName(payload.CallType) },
            { "gen_ai.provider.name", LlmTelemetry.ProviderName(payload.Provider) },
            { "gen_ai.request.model", payload.RequestedModel },
            { "gen_ai.response.model", payload.ResponseModel },
        };
        if (ServerOf(payload.ApiBase) is { } server)
        {
            tags.Add("server.address", server.Host);
            tags.Add("server.port", server.Port);
        }
        var durationTags = tags;
        if (payload.Status == LlmCallStatus.Failure) durationTags.Add("error.type", payload.Error?.Type ?? "error");
        _duration.Record(payload.LatencyMs / 1000.0, durationTags);

        if (tokens.Input is long input)
        {
            var inputTags = tags;
            inputTags.Add("gen_ai.token.type", "input");
            _tokens.Record(input, inputTags);
        }
        if (tokens.Output is long output)
        {
            var outputTags = tags;
            outputTags.Add("gen_ai.token.type", "output");
            _tokens.Record(output, outputTags);
        }
        if (payload.Stream && payload.TtftMs is double ttft) _timeToFirstChunk.Record(ttft / 1000.0, tags);
        if (chunkIntervalsSeconds is not null)
        {
            foreach (var interval in chunkIntervalsSeconds) _timePerOutputChunk.Record(interval, tags);
        }
        if (payload.Cost is { } cost) _cost.Add((double)cost.Total, tags);
    }

    private static Uri? ServerOf(string? apiBase) => Uri.TryCreate(apiBase, UriKind.Absolute, out var uri) ? uri : null;

    private static IEnumerable<Measurement<long>> PerSink(Func<LlmDispatcherStatistics> statistics, Func<LlmSinkStatistics, long> value) =>
        statistics().Sinks.Select(s => new Measurement<long>(value(s), new KeyValuePair<string, object?>("llm_observability.sink", s.Name)));

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
