using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Telemetry;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LlmObservability.Tests.Telemetry;

/// <summary>Spans through the OpenTelemetry SDK's in-memory exporter; metrics through MetricCollector.</summary>
[NonParallelizable] // ActivitySource listeners are process-wide
public class TelemetryTests
{
    private List<Activity> _spans = null!;
    private TracerProvider _tracing = null!;

    [SetUp]
    public void StartTracing()
    {
        _spans = [];
        _tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(LlmTelemetry.SourceName, "test-http")
            .SetSampler(new AlwaysOnSampler())
            .AddInMemoryExporter(_spans)
            .Build()!;
    }

    [TearDown]
    public void StopTracing() => _tracing.Dispose();

    [Test]
    public async Task One_client_span_per_call_with_the_GenAI_attributes_and_the_payload_carries_its_ids()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Fixture.Text("openai/chat-request.json")));
        var payload = await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        Assert.Multiple(() =>
        {
            Assert.That(span.Kind, Is.EqualTo(ActivityKind.Client));
            Assert.That(span.DisplayName, Is.EqualTo("chat gpt-4.1"));
            Assert.That(span.GetTagItem("gen_ai.operation.name"), Is.EqualTo("chat"));
            Assert.That(span.GetTagItem("gen_ai.provider.name"), Is.EqualTo("openai"));
            Assert.That(span.GetTagItem("gen_ai.request.model"), Is.EqualTo("gpt-4.1"));
            Assert.That(span.GetTagItem("gen_ai.request.temperature"), Is.EqualTo(0.2));
            Assert.That(span.GetTagItem("gen_ai.request.max_tokens"), Is.EqualTo(256L));
            Assert.That(span.GetTagItem("gen_ai.response.model"), Is.EqualTo("gpt-4.1-2025-04-14"));
            Assert.That(span.GetTagItem("gen_ai.response.finish_reasons"), Is.EqualTo(new[] { "stop" }));
            Assert.That(span.GetTagItem("gen_ai.usage.input_tokens"), Is.EqualTo(19L));
            Assert.That(span.GetTagItem("gen_ai.usage.output_tokens"), Is.EqualTo(10L));
            Assert.That(span.GetTagItem("gen_ai.usage.cache_read.input_tokens"), Is.EqualTo(0L));
            Assert.That(span.GetTagItem("server.address"), Is.EqualTo("api.openai.com"));
            Assert.That(span.GetTagItem("server.port"), Is.EqualTo(443));
            Assert.That(span.GetTagItem("gen_ai.input.messages"), Is.Null, "content is opt-in");
            Assert.That(payload.TraceId, Is.EqualTo(span.TraceId.ToHexString()));
            Assert.That(payload.SpanId, Is.EqualTo(span.SpanId.ToHexString()));
            Assert.That(span.Duration.TotalMilliseconds, Is.EqualTo(payload.LatencyMs).Within(0.01));
        });
    }

    [Test]
    public async Task The_sampling_attributes_are_there_when_the_span_starts()
    {
        Dictionary<string, object?>? atStart = null;
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == LlmTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
            {
                atStart = options.Tags?.ToDictionary(t => t.Key, t => t.Value);
                return ActivitySamplingResult.AllDataAndRecorded;
            },
        };
        ActivitySource.AddActivityListener(listener);
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        await harness.SinglePayloadAsync();

        Assert.That(atStart, Is.Not.Null);
        Assert.That(atStart!["gen_ai.operation.name"], Is.EqualTo("chat"));
        Assert.That(atStart["gen_ai.provider.name"], Is.EqualTo("openai"));
        Assert.That(atStart["gen_ai.request.model"], Is.EqualTo("gpt-4o-mini"));
        Assert.That(atStart["server.address"], Is.EqualTo("api.openai.com"));
    }

    [Test]
    public async Task The_HttpClient_span_below_nests_under_ours_and_ours_under_the_callers()
    {
        using var httpSource = new ActivitySource("test-http");
        var inner = new StubHandler((_, _) =>
        {
            using var http = httpSource.StartActivity("POST", ActivityKind.Client); // what HttpClient's instrumentation does below us
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Fixture.Bytes("openai/chat-response.json")) };
            return Task.FromResult(r);
        });
        await using var harness = new Harness(inner);
        using var callerSource = new ActivitySource("test-caller");
        using var caller = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(Activity.Current, Is.SameAs(caller), "the caller's span is current again after the call");
        await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var ours = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        var http = _spans.Single(s => s.Source.Name == "test-http");
        Assert.That(ours.ParentSpanId, Is.EqualTo(caller.SpanId));
        Assert.That(http.ParentSpanId, Is.EqualTo(ours.SpanId));
        Assert.That(http.TraceId, Is.EqualTo(caller.TraceId));
    }

    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", "gemini/generate-content-request.json", "gemini/generate-content-response.json", 0.4, 0.95, 40.0, 1024L, "END")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", "gemini/generate-content-request-snake-case.json", "gemini/generate-content-response.json", 0.4, 0.95, 40.0, 1024L, "END")]
    [TestCase("https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", "bedrock/converse-request.json", "bedrock/converse-response.json", 0.5, 0.9, null, 512L, "\n\nHuman:")]
    [TestCase("https://my-ollama.internal/api/generate", "ollama/generate-request.json", "ollama/generate-response.json", 0.8, null, 20.0, 100L, null)]
    public async Task Request_settings_reach_the_spans_gen_ai_request_attributes_under_the_providers_own_names(
        string url, string requestFixture, string responseFixture, double temperature, double? topP, double? topK, long maxTokens, string? stop)
    {
        await using var harness = new Harness(StubHandler.Json(responseFixture));
        using var response = await harness.Client.SendAsync(Harness.Post(url, Fixture.Text(requestFixture)));
        await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        Assert.Multiple(() =>
        {
            Assert.That(span.GetTagItem("gen_ai.request.temperature"), Is.EqualTo(temperature));
            Assert.That(span.GetTagItem("gen_ai.request.top_p"), Is.EqualTo(topP));
            Assert.That(span.GetTagItem("gen_ai.request.top_k"), Is.EqualTo(topK));
            Assert.That(span.GetTagItem("gen_ai.request.max_tokens"), Is.EqualTo(maxTokens));
            Assert.That(span.GetTagItem("gen_ai.request.stop_sequences"), stop is null ? Is.Null : Is.EqualTo(new[] { stop }));
            Assert.That(span.GetTagItem("gen_ai.request.choice.count"), Is.Null, "one candidate is the default, not an attribute");
        });
    }

    [Test]
    public async Task A_failed_call_marks_the_span_with_error_type()
    {
        await using var harness = new Harness(StubHandler.Json("openai/error-429.json", HttpStatusCode.TooManyRequests));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        Assert.That(span.Status, Is.EqualTo(ActivityStatusCode.Error));
        Assert.That(span.GetTagItem("error.type"), Is.EqualTo("tokens"));
        Assert.That(span.GetTagItem("http.response.status_code"), Is.EqualTo(429));
    }

    [Test]
    public async Task Message_content_goes_on_spans_only_when_opted_in()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { CaptureMessageContentOnSpans = true });
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody().Replace("Say hello", "Say \\\"hello\\\", it's café time", StringComparison.Ordinal)));
        await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        // Escaped as the payload's JSON is: only what JSON requires.
        Assert.That(span.GetTagItem("gen_ai.input.messages"),
            Is.EqualTo("""[{"role":"user","parts":[{"type":"text","content":"Say \"hello\", it's café time"}]}]"""));
        AssertJson(span, "gen_ai.output.messages", """
            [{"role": "assistant", "parts": [{"type": "text", "content": "Hello! How can I assist you today?"}], "finish_reason": "stop"}]
            """);
    }

    [Test]
    public async Task Span_content_follows_the_GenAI_input_and_output_message_schemas()
    {
        // OpenAI chat takes its system prompt as a message of the history, so it stays in gen_ai.input.messages.
        const string request = """
            {"model": "gpt-4o-mini", "messages": [
              {"role": "system", "content": "You are a weather assistant."},
              {"role": "user", "content": "Weather in Paris?"},
              {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_VSPygqKTWdrhaFErNvMV18Yl", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}
              ]},
              {"role": "tool", "tool_call_id": "call_VSPygqKTWdrhaFErNvMV18Yl", "content": "rainy, 57°F"}
            ]}
            """;
        const string response = """
            {"id": "chatcmpl-123", "object": "chat.completion", "created": 1741569952, "model": "gpt-4o-mini-2024-07-18",
             "choices": [{"index": 0, "message": {"role": "assistant", "content": "Let me check Orléans too.", "refusal": null, "tool_calls": [
               {"id": "call_Lyon42", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Orléans\"}"}}
             ]}, "logprobs": null, "finish_reason": "tool_calls"}],
             "usage": {"prompt_tokens": 60, "completion_tokens": 18, "total_tokens": 78}}
            """;
        await using var harness = new Harness(JsonResponse(response), new LlmObservabilityOptions { CaptureMessageContentOnSpans = true });
        using (await harness.Client.SendAsync(Harness.ChatRequest(request))) { }
        await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        Assert.Multiple(() =>
        {
            AssertJson(span, "gen_ai.input.messages", """
                [
                  {"role": "system", "parts": [{"type": "text", "content": "You are a weather assistant."}]},
                  {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
                  {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_VSPygqKTWdrhaFErNvMV18Yl", "name": "get_weather", "arguments": {"location": "Paris"}}]},
                  {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_VSPygqKTWdrhaFErNvMV18Yl", "response": "rainy, 57°F"}]}
                ]
                """);
            AssertJson(span, "gen_ai.output.messages", """
                [{"role": "assistant", "parts": [
                  {"type": "text", "content": "Let me check Orléans too."},
                  {"type": "tool_call", "id": "call_Lyon42", "name": "get_weather", "arguments": {"location": "Orléans"}}
                 ], "finish_reason": "tool_calls"}]
                """);
            Assert.That(span.GetTagItem("gen_ai.system_instructions"), Is.Null, "a system message of the history is not a separate instruction");
            Assert.That(span.GetTagItem("gen_ai.output.messages") as string, Does.Contain("""{"location":"Orléans"}"""), "readable UTF-8, arguments included");
        });
    }

    [Test]
    public async Task A_system_prompt_given_apart_from_the_messages_goes_to_gen_ai_system_instructions()
    {
        await using var harness = new Harness(StubHandler.Json("anthropic/messages-response-tool-use.json"), new LlmObservabilityOptions { CaptureMessageContentOnSpans = true });
        using (await harness.Client.SendAsync(Harness.Post("https://api.anthropic.com/v1/messages", Fixture.Text("anthropic/messages-request.json")))) { }
        var payload = await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        var system = payload.Messages![0];
        Assert.Multiple(() =>
        {
            AssertJson(span, "gen_ai.system_instructions", $$"""[{"type": "text", "content": {{JsonSerializer.Serialize(system.Content)}}}]""");
            using var input = JsonDocument.Parse((string)span.GetTagItem("gen_ai.input.messages")!);
            Assert.That(input.RootElement.EnumerateArray().Select(m => m.GetProperty("role").GetString()), Does.Not.Contain("system"));
            Assert.That(input.RootElement.GetArrayLength(), Is.EqualTo(payload.Messages.Count - 1));
            AssertJson(span, "gen_ai.output.messages", """
                [{"role": "assistant", "parts": [
                  {"type": "text", "content": "I'll check the current weather in San Francisco for you."},
                  {"type": "tool_call", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}},
                  {"type": "tool_call", "id": "toolu_01B7hk2lQ3bbnCwKvrgm8Tz1", "name": "get_time", "arguments": {}}
                 ], "finish_reason": "tool_use"}]
                """);
        });
    }

    [Test]
    public async Task Content_on_spans_is_the_redacted_content()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { CaptureMessageContentOnSpans = true });
        var body = Harness.SimpleChatBody().Replace("Say hello", "Mail me at jane.doe@example.com", StringComparison.Ordinal);
        using (await harness.Client.SendAsync(Harness.ChatRequest(body))) { }
        await harness.SinglePayloadAsync();
        _tracing.ForceFlush();

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        AssertJson(span, "gen_ai.input.messages", """[{"role": "user", "parts": [{"type": "text", "content": "Mail me at [EMAIL]"}]}]""");
        Assert.That((string)span.GetTagItem("gen_ai.input.messages")!, Does.Not.Contain("jane.doe"));
    }

    [Test]
    public async Task The_environment_variable_turns_content_on_spans_on()
    {
        var before = Environment.GetEnvironmentVariable(LlmTelemetry.CaptureMessageContentVariable);
        try
        {
            // Read when the dispatcher is made, so it is set before the harness.
            Environment.SetEnvironmentVariable(LlmTelemetry.CaptureMessageContentVariable, "true");
            await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
            using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
            await harness.SinglePayloadAsync();
            _tracing.ForceFlush();
        }
        finally
        {
            Environment.SetEnvironmentVariable(LlmTelemetry.CaptureMessageContentVariable, before);
        }

        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        AssertJson(span, "gen_ai.input.messages", """[{"role": "user", "parts": [{"type": "text", "content": "Say hello"}]}]""");
        Assert.That(span.GetTagItem("gen_ai.output.messages"), Is.Not.Null);
    }

    private static StubHandler JsonResponse(string body) => new((_, _) =>
        Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") }));

    /// <summary>The attribute is a JSON string equal (as JSON) to <paramref name="expected"/>.</summary>
    private static void AssertJson(Activity span, string attribute, string expected)
    {
        var actual = span.GetTagItem(attribute) as string;
        Assert.That(actual, Is.Not.Null, attribute);
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(actual!), JsonNode.Parse(expected)), Is.True, $"{attribute}: {actual}");
    }

    [Test]
    public async Task A_streamed_call_records_time_to_first_chunk_on_the_span()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream.sse")));
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)))) await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();
        _tracing.ForceFlush();
        var span = _spans.Single(s => s.Source.Name == LlmTelemetry.SourceName);
        Assert.That(span.GetTagItem("gen_ai.response.time_to_first_chunk"), Is.EqualTo(payload.TtftMs!.Value / 1000.0));
        Assert.That(span.GetTagItem("gen_ai.request.stream"), Is.EqualTo(true));
    }
}

/// <summary>The metrics, read with MetricCollector from a dispatcher-scoped Meter.</summary>
public class MetricsTests
{
    [Test]
    public async Task Duration_tokens_first_chunk_per_chunk_and_cost_are_recorded_with_the_conventions_names_units_and_tags()
    {
        using var meterFactory = new TestMeterFactory();
        var sink = new CollectingSink();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var events = System.Text.Encoding.UTF8.GetString(Fixture.Bytes("openai/chat-stream.sse")).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => System.Text.Encoding.UTF8.GetBytes(e + "\n\n")).ToArray();
        var inner = new StubHandler((_, _) =>
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            return Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, async _ => { await Task.Yield(); time.Advance(TimeSpan.FromMilliseconds(20)); })));
        });
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })], meterFactory: meterFactory);
        using var duration = new MetricCollector<double>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.operation.duration");
        using var tokens = new MetricCollector<long>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.token.usage");
        using var firstChunk = new MetricCollector<double>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.operation.time_to_first_chunk");
        using var perChunk = new MetricCollector<double>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.operation.time_per_output_chunk");
        using var cost = new MetricCollector<double>(meterFactory, LlmTelemetry.MeterName, "llm_observability.client.cost");
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher, time) { InnerHandler = inner });

        using (var response = await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)))) await response.Content.ReadAsStringAsync();
        await dispatcher.FlushAsync();
        var payload = sink.Payloads.Single();

        var d = duration.GetMeasurementSnapshot().Single();
        Assert.That(d.Value, Is.EqualTo(payload.LatencyMs / 1000.0));
        Assert.That(d.Tags["gen_ai.operation.name"], Is.EqualTo("chat"));
        Assert.That(d.Tags["gen_ai.provider.name"], Is.EqualTo("openai"));
        Assert.That(d.Tags["gen_ai.request.model"], Is.EqualTo("gpt-4o-mini"));
        Assert.That(d.Tags["gen_ai.response.model"], Is.EqualTo("gpt-4o-mini-2024-07-18"));
        Assert.That(d.Tags["server.address"], Is.EqualTo("api.openai.com"));
        Assert.That(d.Tags.ContainsKey("error.type"), Is.False);
        Assert.That(duration.Instrument!.Unit, Is.EqualTo("s"));

        var byType = tokens.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["gen_ai.token.type"]!, m => m.Value);
        Assert.That(byType, Is.EquivalentTo(new Dictionary<string, long> { ["input"] = 19, ["output"] = 6 }));
        Assert.That(tokens.Instrument!.Unit, Is.EqualTo("{token}"));

        // Headers at +100 ms; the role-only chunk at +120 has no content; "Hello" at +140 does.
        Assert.That(firstChunk.GetMeasurementSnapshot().Single().Value, Is.EqualTo(0.14).Within(1e-9));
        // "! How can" and " I help?" follow, 20 ms apart each.
        Assert.That(perChunk.GetMeasurementSnapshot().Select(m => m.Value), Is.EqualTo(new[] { 0.02, 0.02 }).Within(1e-9));
        Assert.That(cost.GetMeasurementSnapshot().Single().Value, Is.EqualTo((double)payload.Cost!.Total));
        Assert.That(cost.Instrument!.Unit, Is.EqualTo("USD"));
    }

    [Test]
    public async Task A_non_streamed_call_records_no_first_chunk_and_a_failure_carries_error_type()
    {
        using var meterFactory = new TestMeterFactory();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(new CollectingSink())], meterFactory: meterFactory);
        using var duration = new MetricCollector<double>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.operation.duration");
        using var firstChunk = new MetricCollector<double>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.operation.time_to_first_chunk");
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Json("openai/error-429.json", HttpStatusCode.TooManyRequests) });

        using (await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        await dispatcher.FlushAsync();

        Assert.That(firstChunk.GetMeasurementSnapshot(), Is.Empty);
        Assert.That(duration.GetMeasurementSnapshot().Single().Tags["error.type"], Is.EqualTo("tokens"));
    }

    // The conventions' gen_ai.usage.input_tokens counts every input token, cached ones included, and output_tokens every
    // output token. Anthropic and Bedrock report cache reads and writes beside the prompt; Gemini reports thoughts beside
    // the candidates. The payload keeps the provider's own counts; the span and the token histogram add them up.
    [TestCase("https://api.openai.com/v1/chat/completions", "openai/chat-request.json", "openai/chat-response.json", 19L, 10L, TestName = "OpenAI: cached tokens are already in prompt_tokens")]
    [TestCase("https://api.anthropic.com/v1/messages", "anthropic/messages-request.json", "anthropic/messages-response.json", 12L + 2048L + 1500L, 48L, TestName = "Anthropic: input + cache reads + cache writes")]
    [TestCase("https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", "bedrock/converse-request.json", "bedrock/converse-response.json", 29L + 1280L + 320L, 41L, TestName = "Bedrock: input + cache reads + cache writes")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", "gemini/generate-content-request.json", "gemini/generate-content-response.json", 1320L, 17L + 58L, TestName = "Gemini: candidates + thoughts")]
    public async Task Span_and_token_histogram_count_every_input_and_output_token_whichever_way_the_provider_reports_them(
        string url, string requestFixture, string responseFixture, long input, long output)
    {
        using var meterFactory = new TestMeterFactory();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })], meterFactory: meterFactory);
        using var tokens = new MetricCollector<long>(meterFactory, LlmTelemetry.MeterName, "gen_ai.client.token.usage");
        var spans = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == LlmTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Json(responseFixture) });

        using (var response = await client.SendAsync(Harness.Post(url, Fixture.Text(requestFixture)))) await response.Content.ReadAsByteArrayAsync();
        await dispatcher.FlushAsync();
        var payload = sink.Payloads.Single();

        var span = spans.Single(s => s.GetTagItem("llm_observability.call_id") as string == payload.Id);
        Assert.Multiple(() =>
        {
            Assert.That(span.GetTagItem("gen_ai.usage.input_tokens"), Is.EqualTo(input));
            Assert.That(span.GetTagItem("gen_ai.usage.output_tokens"), Is.EqualTo(output));
            var byType = tokens.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["gen_ai.token.type"]!, m => m.Value);
            Assert.That(byType, Is.EquivalentTo(new Dictionary<string, long> { ["input"] = input, ["output"] = output }));
        });
    }

    [Test]
    public async Task Sink_health_is_observable_per_sink()
    {
        using var meterFactory = new TestMeterFactory();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(new CollectingSink(), new LlmSinkOptions { Name = "audit" })], meterFactory: meterFactory);
        using var delivered = new MetricCollector<long>(meterFactory, LlmTelemetry.MeterName, "llm_observability.sink.delivered");
        for (var i = 0; i < 3; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await dispatcher.FlushAsync();

        delivered.RecordObservableInstruments();
        var last = delivered.LastMeasurement!;
        Assert.That(last.Value, Is.EqualTo(3));
        Assert.That(last.Tags["llm_observability.sink"], Is.EqualTo("audit"));
    }

    [Test]
    public async Task Records_a_sink_refuses_for_good_are_observable_as_rejected()
    {
        using var meterFactory = new TestMeterFactory();
        var refusing = new RefusingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(refusing, new LlmSinkOptions { Name = "strict" })], meterFactory: meterFactory);
        using var rejected = new MetricCollector<long>(meterFactory, LlmTelemetry.MeterName, "llm_observability.sink.rejected");
        using var delivered = new MetricCollector<long>(meterFactory, LlmTelemetry.MeterName, "llm_observability.sink.delivered");
        for (var i = 0; i < 3; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await dispatcher.FlushAsync();

        rejected.RecordObservableInstruments();
        delivered.RecordObservableInstruments();
        Assert.That(rejected.LastMeasurement!.Value, Is.EqualTo(3));
        Assert.That(rejected.LastMeasurement.Tags["llm_observability.sink"], Is.EqualTo("strict"));
        Assert.That(delivered.LastMeasurement!.Value, Is.Zero);
    }

    /// <summary>Refuses every batch for good, as a destination answering 401 would.</summary>
    private sealed class RefusingSink : LlmObservability.Sinks.ILlmLogSink
    {
        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken) =>
            throw new LlmObservability.Sinks.LlmSinkWriteException("401 Unauthorized") { IsPermanent = true };
    }

    private sealed class TestMeterFactory : IMeterFactory
    {
        private readonly List<Meter> _meters = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options.Name, options.Version, options.Tags, scope: this);
            _meters.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in _meters) meter.Dispose();
        }
    }
}

[NonParallelizable]
public class SpanContentPolicyTests
{
    [Test]
    public async Task Content_stays_off_spans_when_message_logging_is_off_even_if_a_sink_asks_for_bodies()
    {
        var spans = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource(LlmTelemetry.SourceName).AddInMemoryExporter(spans).Build()!;
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(sink, new LlmSinkOptions { LogMessages = true, BatchInterval = TimeSpan.Zero })],
            new LlmObservabilityOptions { LogMessages = false, CaptureMessageContentOnSpans = true });
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Json("openai/chat-response.json") });
        using (await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        await dispatcher.FlushAsync();
        tracing.ForceFlush();

        Assert.That(sink.Payloads.Single().Messages, Is.Not.Null, "the sink that asked gets bodies");
        Assert.That(spans.Single().GetTagItem("gen_ai.input.messages"), Is.Null, "but the span follows the options");
    }
}
