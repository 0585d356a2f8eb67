using System.Text.Json;
using Google.Protobuf;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Trace.V1;

namespace LlmObservability.Langfuse.Tests;

internal static class Payloads
{
    public static readonly DateTimeOffset Start = new(2026, 11, 22, 10, 0, 0, 123, TimeSpan.Zero);

    public static JsonElement Json(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    public static string NewSpanId() => System.Diagnostics.ActivitySpanId.CreateRandom().ToHexString();

    public static string NewTraceId() => System.Diagnostics.ActivityTraceId.CreateRandom().ToHexString();

    /// <summary>A successful, non-streamed OpenAI chat call with everything filled in.</summary>
    public static StandardLoggingPayload Success(string? traceId = null, string? parentSpanId = null) => new()
    {
        Id = Guid.CreateVersion7().ToString(),
        TraceId = traceId ?? NewTraceId(),
        SpanId = NewSpanId(),
        ParentSpanId = parentSpanId,
        CallType = "chat_completion",
        Provider = "openai",
        ApiBase = "https://api.openai.com/v1",
        Endpoint = "/chat/completions",
        RequestedModel = "gpt-4o-mini",
        ResponseModel = "gpt-4o-mini-2024-07-18",
        ModelParameters = new Dictionary<string, JsonElement>
        {
            ["temperature"] = Json("0.2"),
            ["max_completion_tokens"] = Json("256"),
            ["top_p"] = Json("0.9"),
            ["tools_count"] = Json("1"),
            ["response_format"] = Json("\"json_schema\""),
            ["stop"] = Json("[\"END\"]"),
            ["parallel_tool_calls"] = Json("true"),
        },
        StartTime = Start,
        EndTime = Start.AddMilliseconds(1500),
        LatencyMs = 1500,
        PromptTokens = 1500,
        CompletionTokens = 200,
        TotalTokens = 1700,
        CachedPromptTokens = 500,
        ReasoningTokens = 50,
        Cost = new LlmCost
        {
            Input = 0.00015m,
            CacheRead = 0.0000375m,
            Output = 0.00012m,
            Total = 0.0003075m,
            PriceKey = "gpt-4o-mini",
            PriceSource = "built-in",
        },
        Status = LlmCallStatus.Success,
        HttpStatus = 200,
        FinishReasons = ["stop", "tool_calls"],
        Messages =
        [
            new LlmMessage { Role = "system", Content = "You are terse." },
            new LlmMessage { Role = "user", Content = "Weather in Zürich? 🌦" },
        ],
        Response = new LlmResponseOutput { Text = "Let me check." },
        ToolCalls = [new LlmToolCall { Id = "call_1", Type = "function", Name = "get_weather", Arguments = "{\"city\":\"Zürich\"}" }],
        Metadata = new LlmCallMetadata
        {
            UserId = "u-42",
            SessionId = "s-7",
            Tags = ["checkout", "beta"],
            Custom = new Dictionary<string, string> { ["tenant"] = "acme", ["call_id"] = "must-not-override" },
        },
        ServiceName = "checkout-api",
        Environment = "Production EU",
        RequestId = "req_123",
        ResponseId = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        ApiKey = new LlmApiKeyInfo { Prefix = "sk-proj-", Sha256 = new string('a', 64) },
        Redaction = new LlmRedactionSummary { MessageLogging = true },
    };

    /// <summary>A call that the provider refused with 429.</summary>
    public static StandardLoggingPayload Failure() => Success() with
    {
        Status = LlmCallStatus.Failure,
        HttpStatus = 429,
        ResponseModel = null,
        PromptTokens = null,
        CompletionTokens = null,
        TotalTokens = null,
        CachedPromptTokens = null,
        ReasoningTokens = null,
        Cost = null,
        FinishReasons = null,
        Response = null,
        ToolCalls = null,
        Error = new LlmError { Type = "rate_limit_error", Code = "rate_limit_exceeded", Message = "Rate limit reached for gpt-4o-mini", Body = "{\"error\":{}}" },
    };

    /// <summary>A streamed call whose first content arrived 240 ms in.</summary>
    public static StandardLoggingPayload Streaming() => Success() with
    {
        Stream = true,
        CompletionStartTime = Start.AddMilliseconds(240),
        TtftMs = 240,
        OutputTokensPerSecond = 158.7,
    };

    /// <summary>A call whose input message has <paramref name="inputChars"/> characters.</summary>
    public static StandardLoggingPayload WithInput(int inputChars, char fill = 'x') => Success() with
    {
        Messages = [new LlmMessage { Role = "user", Content = new string(fill, inputChars) }],
    };
}

internal static class Spans
{
    /// <summary>The span's attributes by key; fails on a duplicate key.</summary>
    public static Dictionary<string, AnyValue> Attributes(this Span span) => span.Attributes.ToDictionary(a => a.Key, a => a.Value);

    public static string Str(this Dictionary<string, AnyValue> attributes, string key) =>
        attributes.TryGetValue(key, out var value) && value.ValueCase == AnyValue.ValueOneofCase.StringValue
            ? value.StringValue
            : throw new AssertionException($"attribute {key} is missing or not a string ({(attributes.TryGetValue(key, out var v) ? v.ValueCase.ToString() : "missing")})");

    public static JsonElement JsonOf(this Dictionary<string, AnyValue> attributes, string key) => Payloads.Json(attributes.Str(key));

    public static string Hex(this ByteString bytes) => Convert.ToHexStringLower(bytes.ToByteArray());
}

/// <summary>A host with LlmObservability and a Langfuse sink pointed at a receiver, with fast retries and fake logging.</summary>
internal sealed class SinkHost : IAsyncDisposable
{
    private SinkHost(IHost host) => Host = host;

    public IHost Host { get; }

    public LlmLogDispatcher Dispatcher => Host.Services.GetRequiredService<LlmLogDispatcher>();

    public LangfuseSink Sink => Host.Services.GetRequiredService<LangfuseSink>();

    public FakeLogCollector Logs => Host.Services.GetFakeLogCollector();

    public static async Task<SinkHost> StartAsync(
        LangfuseReceiver receiver,
        Action<LangfuseSinkOptions>? configure = null,
        Action<LlmSinkOptions>? configureSink = null,
        Action<IServiceCollection>? services = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddFakeLogging();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddLlmObservability(o => o.ServiceName = "checkout-api")
            .AddLangfuseSink(
                o =>
                {
                    o.Host = receiver.Host;
                    o.PublicKey = LangfuseReceiver.PublicKey;
                    o.SecretKey = LangfuseReceiver.SecretKey;
                    o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
                    o.CircuitBreakDuration = TimeSpan.FromMilliseconds(500);
                    configure?.Invoke(o);
                },
                s =>
                {
                    s.BatchInterval = TimeSpan.Zero;
                    s.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
                    s.RetryMaxDelay = TimeSpan.FromMilliseconds(200);
                    s.MaxRetries = 100;
                    configureSink?.Invoke(s);
                },
                static _ => null); // the machine's LANGFUSE_* variables must not leak into the tests
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync();
        return new SinkHost(host);
    }

    /// <summary>Queues the payloads and waits until the sink has delivered or given them up.</summary>
    public async Task SendAsync(params StandardLoggingPayload[] payloads)
    {
        foreach (var payload in payloads) Assert.That(Dispatcher.TryEnqueue(payload), Is.True);
        await Dispatcher.FlushAsync();
    }

    /// <summary>The sink's own log records with <paramref name="eventId"/>.</summary>
    public IReadOnlyList<FakeLogRecord> LogsOf(int eventId) =>
        [.. Logs.GetSnapshot().Where(r => r.Id.Id == eventId && r.Category == typeof(LangfuseSink).FullName)];

    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync();
        Host.Dispose();
    }
}

/// <summary>Counts the HTTP attempts that reach the wire (it sits inside the resilience pipeline) and signals each.</summary>
internal sealed class AttemptCounter : DelegatingHandler
{
    private readonly SemaphoreSlim _attempts = new(0);

    public int Failed;

    public async Task WaitForFailuresAsync(int count)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (Volatile.Read(ref Failed) < count) await _attempts.WaitAsync(limit.Token);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref Failed);
            throw;
        }
        finally
        {
            _attempts.Release();
        }
    }
}

/// <summary>Answers OpenAI chat requests from the shared fixtures: SSE when the request asks to stream.</summary>
internal sealed class OpenAiFixtureHandler : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsStringAsync(cancellationToken);
        var stream = body.Contains("\"stream\": true", StringComparison.Ordinal) || body.Contains("\"stream\":true", StringComparison.Ordinal);
        var fixture = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "openai", stream ? "chat-stream.sse" : "chat-response.json");
        var response = new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new ByteArrayContent(await File.ReadAllBytesAsync(fixture, cancellationToken)), RequestMessage = request };
        response.Content.Headers.ContentType = new(stream ? "text/event-stream" : "application/json");
        response.Headers.Add("x-request-id", stream ? "req_stream" : "req_plain");
        return response;
    }
}
