using System.Net;
using System.Text;
using LlmObservability.Payload;
using LlmObservability.Pricing;

namespace LlmObservability.Tests.Capture;

/// <summary>Cost as it reaches the payload: from what the adapter read, through the price catalog, with the arithmetic visible.</summary>
public class HandlerCostTests
{
    [Test]
    public async Task OpenAI_cached_tokens_inside_prompt_tokens_are_charged_once_at_the_cache_price()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response-reasoning.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var cost = (await harness.SinglePayloadAsync()).Cost!;

        // o3-mini: $1.10/M input, $0.55/M cached input, $4.40/M output; reasoning is inside completion tokens and billed as output.
        // prompt 1,117 of which 1,024 cached → 93 uncached.
        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(93 * 1.10m / 1_000_000));
            Assert.That(cost.CacheRead, Is.EqualTo(1024 * 0.55m / 1_000_000));
            Assert.That(cost.Output, Is.EqualTo(1046 * 4.40m / 1_000_000));
            Assert.That(cost.Reasoning, Is.Zero);
            Assert.That(cost.Total, Is.EqualTo(0.0001023m + 0.0005632m + 0.0046024m));
            Assert.That(cost.PriceKey, Does.StartWith("o3-mini"));
            Assert.That(cost.PriceSource, Is.EqualTo("builtin"));
        });
    }

    [Test]
    public async Task The_service_tier_in_the_response_selects_its_price()
    {
        var body = Fixture.Text("openai/chat-response.json").Replace("\"service_tier\": \"default\"", "\"service_tier\": \"priority\"", StringComparison.Ordinal);
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));

        // gpt-4.1 priority: $3.50/M input, $14/M output: 19 × 3.5/M + 10 × 14/M
        Assert.That((await harness.SinglePayloadAsync()).Cost!.Total, Is.EqualTo(0.0000665m + 0.00014m));
    }

    private const string ResponsesUrl = "https://api.openai.com/v1/responses";

    private static StubHandler JsonBody(string body) =>
        new((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));

    [Test]
    public async Task A_Responses_body_that_says_priority_is_priced_at_priority_after_a_request_for_auto()
    {
        var body = Fixture.Text("openai/responses-response.json").Replace("\"service_tier\": \"default\"", "\"service_tier\": \"priority\"", StringComparison.Ordinal);
        await using var harness = new Harness(JsonBody(body));
        using var response = await harness.Client.SendAsync(Harness.Post(ResponsesUrl, """{"model":"gpt-4.1","input":"Plan a day in Paris.","service_tier":"auto"}"""));
        var cost = (await harness.SinglePayloadAsync()).Cost!;

        // gpt-4.1-2025-04-14 priority: $3.50/M input, $0.875/M cached, $14/M output (standard: $2, $0.50, $8 → 0.001044).
        // input 1,326 of which 1,152 cached → 174 uncached; 15 output.
        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(174 * 3.5m / 1_000_000));
            Assert.That(cost.CacheRead, Is.EqualTo(1152 * 0.875m / 1_000_000));
            Assert.That(cost.Output, Is.EqualTo(15 * 14m / 1_000_000));
            Assert.That(cost.Total, Is.EqualTo(0.000609m + 0.001008m + 0.00021m));
        });
    }

    [Test]
    public async Task A_Responses_stream_is_priced_at_the_tier_its_completed_event_names()
    {
        // response.created and .in_progress echo the request's "auto"; response.completed names the tier that served.
        var sse = Fixture.Text("openai/responses-stream.sse").Replace("\"service_tier\":\"default\"", "\"service_tier\":\"auto\"", StringComparison.Ordinal);
        var last = sse.LastIndexOf("\"service_tier\":\"auto\"", StringComparison.Ordinal);
        Assert.That(sse.IndexOf("\"type\":\"response.completed\"", StringComparison.Ordinal), Is.LessThan(last), "the last tier is the completed event's");
        sse = sse[..last] + "\"service_tier\":\"priority\"" + sse[(last + "\"service_tier\":\"auto\"".Length)..];
        await using var harness = new Harness(StubHandler.Sse(Encoding.UTF8.GetBytes(sse)));
        using (var response = await harness.Client.SendAsync(Harness.Post(ResponsesUrl, """{"model":"gpt-4.1","input":"Plan a day in Paris.","stream":true,"service_tier":"auto"}"""), HttpCompletionOption.ResponseHeadersRead))
        {
            await response.Content.ReadAsStringAsync();
        }

        // gpt-4.1-2025-04-14 priority: 37 × $3.50/M + 11 × $14/M (standard would be 37 × $2/M + 11 × $8/M = 0.000162)
        Assert.That((await harness.SinglePayloadAsync()).Cost!.Total, Is.EqualTo(0.0001295m + 0.000154m));
    }

    private const string FastModeRequest = """{"model":"claude-opus-4-8","max_tokens":1024,"speed":"fast","messages":[{"role":"user","content":"Refactor this module to use dependency injection"}]}""";

    private static string OpusMessage(string usageTail) => $$$"""
        {"id":"msg_01FastMode","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"Done."}],
         "stop_reason":"end_turn","stop_sequence":null,
         "usage":{"input_tokens":1000,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":200{{{usageTail}}}}}
        """;

    // claude-opus-4-8: standard $5/M input, $25/M output; fast mode $10/M, $50/M.
    // Fast: 1,000 × $10/M + 200 × $50/M = 0.01 + 0.01. Standard: 1,000 × $5/M + 200 × $25/M = 0.005 + 0.005.
    [TestCase(",\"service_tier\":\"standard\",\"speed\":\"fast\"", 0.02)]     // the response says fast
    [TestCase(",\"service_tier\":\"standard\"", 0.02)]                          // the response does not say: the request's speed
    [TestCase(",\"service_tier\":\"standard\",\"speed\":\"standard\"", 0.01)] // served at standard speed after all
    public async Task Anthropic_fast_mode_is_priced_as_tier_fast(string usageTail, decimal expected)
    {
        await using var harness = new Harness(JsonBody(OpusMessage(usageTail)));
        using var request = HandlerAnthropicMessagesTests.MessagesRequest(FastModeRequest);
        request.Headers.Add("anthropic-beta", "fast-mode-2026-02-01");
        using var response = await harness.Client.SendAsync(request);
        Assert.That((await harness.SinglePayloadAsync()).Cost!.Total, Is.EqualTo(expected));
    }

    [Test]
    public async Task An_Anthropic_response_in_the_batch_tier_is_priced_at_the_batch_multiplier()
    {
        var body = Fixture.Text("anthropic/messages-response.json").Replace("\"service_tier\": \"standard\"", "\"service_tier\": \"batch\"", StringComparison.Ordinal);
        await using var harness = new Harness(JsonBody(body));
        using var response = await harness.Client.SendAsync(HandlerAnthropicMessagesTests.MessagesRequest(
            """{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Umbrella?"}]}"""));

        // claude-sonnet-4-5 at half price: 12 × $1.50/M input, 2,048 × $0.15/M reads, 300 × $1.875/M 5-minute writes,
        // 1,200 × $3/M one-hour writes, 48 × $7.50/M output.
        Assert.That((await harness.SinglePayloadAsync()).Cost!.Total, Is.EqualTo(0.000018m + 0.0003072m + 0.0005625m + 0.0036m + 0.00036m));
    }

    [Test]
    public async Task An_Anthropic_stream_is_priced_by_the_speed_in_message_start()
    {
        var sse = Fixture.Text("anthropic/messages-stream.sse")
            .Replace("claude-sonnet-4-5-20250929", "claude-opus-4-8", StringComparison.Ordinal)
            .Replace("\"service_tier\":\"standard\"", "\"service_tier\":\"standard\",\"speed\":\"fast\"", StringComparison.Ordinal);
        await using var harness = new Harness(StubHandler.Sse(Encoding.UTF8.GetBytes(sse)));
        using (var response = await harness.Client.SendAsync(HandlerAnthropicMessagesTests.MessagesRequest(
            """{"model":"claude-opus-4-8","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hello"}]}"""), HttpCompletionOption.ResponseHeadersRead))
        {
            await response.Content.ReadAsStringAsync();
        }

        // fast mode: 25 × $10/M input + 15 × $50/M output
        Assert.That((await harness.SinglePayloadAsync()).Cost!.Total, Is.EqualTo(0.00025m + 0.00075m));
    }

    [Test]
    public async Task An_unknown_model_has_a_null_cost_never_zero()
    {
        var body = Fixture.Text("openai/chat-response.json").Replace("gpt-4.1-2025-04-14", "my-private-finetune", StringComparison.Ordinal);
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody().Replace("gpt-4o-mini", "my-private-model", StringComparison.Ordinal)));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.TotalTokens, Is.EqualTo(29));
        Assert.That(payload.Cost, Is.Null);
    }

    [Test]
    public async Task An_override_from_options_beats_the_built_in_price()
    {
        var options = new LlmObservabilityOptions();
        options.Pricing.Overrides["gpt-4.1"] = new LlmModelPrice { InputPerMillion = 1m, OutputPerMillion = 2m };
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), options);
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var cost = (await harness.SinglePayloadAsync()).Cost!;
        Assert.That(cost.Total, Is.EqualTo((19 * 1m + 10 * 2m) / 1_000_000));
        Assert.That(cost.PriceSource, Is.EqualTo("override"));
    }

    [Test]
    public async Task A_failed_call_without_usage_has_no_cost()
    {
        await using var harness = new Harness(StubHandler.Json("openai/error-429.json", HttpStatusCode.TooManyRequests));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That((await harness.SinglePayloadAsync()).Cost, Is.Null);
    }

    [Test]
    public async Task Without_usage_an_estimator_fills_the_tokens_and_the_payload_says_they_are_estimated()
    {
        var sink = new CollectingSink();
        await using var dispatcher = new LlmObservability.Dispatch.LlmLogDispatcher(
            [new LlmObservability.Dispatch.LlmSinkRegistration(sink, new LlmObservability.Dispatch.LlmSinkOptions { BatchInterval = TimeSpan.Zero })],
            tokenEstimator: new WordCountEstimator());
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Sse(Fixture.Bytes("openai/chat-stream-no-usage.sse")) });
        using (var response = await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)))) await response.Content.ReadAsStringAsync();
        await dispatcher.FlushAsync();

        var payload = sink.Payloads.Single();
        Assert.That(payload.UsageEstimated, Is.True);
        Assert.That(payload.PromptTokens, Is.EqualTo(2), "\"Say hello\"");
        Assert.That(payload.CompletionTokens, Is.EqualTo(5), "\"Hello! How can I help?\"");
        // gpt-4o-mini-2024-07-18 at $0.15/M input, $0.60/M output
        Assert.That(payload.Cost!.Total, Is.EqualTo((2 * 0.15m + 5 * 0.60m) / 1_000_000));
    }

    /// <summary>A deterministic stand-in for a tokenizer: one token per whitespace-separated word.</summary>
    private sealed class WordCountEstimator : ILlmTokenEstimator
    {
        public int? CountTokens(string? model, string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Length;
    }
}

public class CostHeaderTests
{
    [Test]
    public async Task The_cost_header_is_off_by_default()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(response.Headers.Contains("x-llm-cost"), Is.False);
    }

    [Test]
    public async Task When_on_a_plain_response_carries_its_cost_and_the_body_and_payload_are_unchanged()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { AddCostResponseHeader = true });
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()), HttpCompletionOption.ResponseHeadersRead);

        Assert.That(response.Headers.GetValues("x-llm-cost").Single(), Is.EqualTo("0.000118"), "19 × $2/M + 10 × $8/M");
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("openai/chat-response.json")));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Cost!.Total, Is.EqualTo(0.000118m));
        Assert.That(payload.Response!.Text, Does.StartWith("Hello!"));
        Assert.That(response.Headers.GetValues("x-llm-call-id").Single(), Is.EqualTo(payload.Id));
    }

    [Test]
    public async Task The_synchronous_path_gets_the_header_too()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { AddCostResponseHeader = true });
        using var response = harness.Client.Send(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(response.Headers.GetValues("x-llm-cost").Single(), Is.EqualTo("0.000118"));
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/json"));
        Assert.That(await harness.SinglePayloadAsync(), Is.Not.Null);
    }

    [Test]
    public async Task Streams_and_failures_never_get_the_header()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream.sse")), new LlmObservabilityOptions { AddCostResponseHeader = true });
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.That(response.Headers.Contains("x-llm-cost"), Is.False);
            await response.Content.ReadAsStringAsync();
        }
        await using var failing = new Harness(StubHandler.Json("openai/error-429.json", HttpStatusCode.TooManyRequests), new LlmObservabilityOptions { AddCostResponseHeader = true });
        using var failed = await failing.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(failed.Headers.Contains("x-llm-cost"), Is.False);
        Assert.That((await failing.SinglePayloadAsync()).Status, Is.EqualTo(LlmCallStatus.Failure));
    }
}

public class AnthropicCostTests
{
    [Test]
    public async Task Anthropic_cache_reads_and_writes_beside_input_tokens_are_each_charged_once()
    {
        const string body = """
            {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hi"}],
             "stop_reason":"end_turn","stop_sequence":null,
             "usage":{"input_tokens":100,"cache_creation_input_tokens":2000,"cache_read_input_tokens":10000,"output_tokens":50,
                      "cache_creation":{"ephemeral_5m_input_tokens":1500,"ephemeral_1h_input_tokens":500}}}
            """;
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));
        await using var harness = new Harness(inner);
        var request = new HttpRequestMessage(HttpMethod.Post, "https://api.anthropic.com/v1/messages")
        {
            Content = new StringContent("""{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("anthropic-version", "2023-06-01");
        using var response = await harness.Client.SendAsync(request);
        var payload = await harness.SinglePayloadAsync();
        var cost = payload.Cost!;

        // claude-sonnet-4-5: $3/M input, $0.30/M cache read, $3.75/M 5-minute cache write, $6/M 1-hour cache write, $15/M output.
        Assert.Multiple(() =>
        {
            Assert.That(payload.PromptTokens, Is.EqualTo(100), "uncached input only");
            Assert.That(cost.Input, Is.EqualTo(100 * 3m / 1_000_000));
            Assert.That(cost.CacheRead, Is.EqualTo(10_000 * 0.30m / 1_000_000));
            Assert.That(cost.CacheCreation, Is.EqualTo((1500 * 3.75m + 500 * 6m) / 1_000_000));
            Assert.That(cost.Output, Is.EqualTo(50 * 15m / 1_000_000));
            Assert.That(cost.Total, Is.EqualTo(0.0003m + 0.003m + 0.008625m + 0.00075m));
        });
    }
}
