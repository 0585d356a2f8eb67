using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>Anthropic Messages end to end through the handler over a scripted inner handler, one test per fixture.</summary>
public class HandlerAnthropicMessagesTests
{
    private const string MessagesUrl = "https://api.anthropic.com/v1/messages";
    private const string ApiKey = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";

    internal static HttpRequestMessage MessagesRequest(string body, string url = MessagesUrl)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", ApiKey);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return request;
    }

    private static string SimpleBody(bool stream = false) =>
        $$"""{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Hello"}],"stream":{{(stream ? "true" : "false")}}}""";

    private static byte[][] Events(string fixture) =>
        [.. Encoding.UTF8.GetString(Fixture.Bytes(fixture)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + "\n\n"))];

    [Test]
    public async Task A_whole_message_is_recorded_with_request_response_usage_and_headers()
    {
        var inner = StubHandler.Json("anthropic/messages-response.json", configure: r =>
        {
            r.Headers.Add("request-id", "req_018EeWyXxfu5pfWkrYcMdjWG");
            r.Headers.Add("anthropic-ratelimit-requests-remaining", "49");
            r.Headers.Add("anthropic-ratelimit-tokens-reset", "2026-11-22T10:00:30Z");
            r.Headers.Add("anthropic-organization-id", "org-1");
        });
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(MessagesRequest(Fixture.Text("anthropic/messages-request.json")));
        var body = await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(body, Is.EqualTo(Fixture.Bytes("anthropic/messages-response.json")), "the caller gets the provider's bytes");
        Assert.That(response.Headers.GetValues("x-llm-call-id").Single(), Is.EqualTo(payload.Id));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("anthropic"));
            Assert.That(payload.CallType, Is.EqualTo("messages"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://api.anthropic.com"));
            Assert.That(payload.Endpoint, Is.EqualTo("/v1/messages"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("claude-sonnet-4-5"));
            Assert.That(payload.ResponseModel, Is.EqualTo("claude-sonnet-4-5-20250929"));
            Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[] { "max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "tools_count", "tool_choice", "user_id" }));
            Assert.That(payload.ModelParameters["max_tokens"].GetInt32(), Is.EqualTo(1024));
            Assert.That(payload.ModelParameters["temperature"].GetDouble(), Is.EqualTo(0.7));
            Assert.That(payload.ModelParameters["top_p"].GetDouble(), Is.EqualTo(0.9));
            Assert.That(payload.ModelParameters["top_k"].GetInt32(), Is.EqualTo(40));
            Assert.That(payload.ModelParameters["stop_sequences"].EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "\n\nHuman:", "END" }));
            Assert.That(payload.ModelParameters["tools_count"].GetInt32(), Is.EqualTo(2));
            Assert.That(payload.ModelParameters["tool_choice"].GetProperty("type").GetString(), Is.EqualTo("auto"));
            Assert.That(payload.ModelParameters["user_id"].GetString(), Is.EqualTo("13803d75-b4b5-4c3e-b2a2-6f21399b021b"));

            Assert.That(payload.PromptTokens, Is.EqualTo(12), "input_tokens: the uncached input only");
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(2048), "cache_read_input_tokens");
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(1500), "cache_creation_input_tokens");
            Assert.That(payload.CompletionTokens, Is.EqualTo(48));
            Assert.That(payload.TotalTokens, Is.EqualTo(12 + 2048 + 1500 + 48), "input + cache read + cache creation + output");
            Assert.That(payload.ReasoningTokens, Is.Null);

            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.HttpStatus, Is.EqualTo(200));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "end_turn" }));
            Assert.That(payload.Response!.Text, Is.EqualTo("Yes, take an umbrella: it is 15 degrees with light rain in Paris."));
            Assert.That(payload.Response.Reasoning, Is.Null);
            Assert.That(payload.ToolCalls, Is.Null);
            Assert.That(payload.RequestId, Is.EqualTo("req_018EeWyXxfu5pfWkrYcMdjWG"));
            Assert.That(payload.RateLimit, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["anthropic-ratelimit-requests-remaining"] = "49",
                ["anthropic-ratelimit-tokens-reset"] = "2026-11-22T10:00:30Z",
            }));
            Assert.That(payload.ApiKey!.Prefix, Is.EqualTo("sk-ant-a"));
        });

        var messages = payload.Messages!;
        Assert.That(messages.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "assistant", "tool", "user" }));
        Assert.That(messages[0].Content, Is.EqualTo("You are a weather assistant.\nAnswer in one sentence."));
        Assert.That(messages[1].Content, Is.EqualTo("What is the weather where this photo was taken?\n[image]\n[document: Itinerary]"));
        Assert.That(messages[2].Content, Is.EqualTo("Let me check the weather in Paris."));
        Assert.That(messages[2].ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Id = "toolu_01A09q90qw90lq917835lq9", Type = "function", Name = "get_weather", Arguments = """{"location": "Paris, France", "unit": "celsius"}""" },
        }));
        Assert.That(messages[3], Is.EqualTo(new LlmMessage { Role = "tool", Content = "15 degrees, light rain", ToolCallId = "toolu_01A09q90qw90lq917835lq9" }));
        Assert.That(messages[4].Content, Is.EqualTo("And should I take an umbrella?"));
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain("abcdefghijklmnopqrstuvwxyz0123456789").And.Not.Contain("/9j/4AAQ"), "no key, no image data");
    }

    [Test]
    public async Task A_streamed_message_assembles_text_takes_the_cumulative_usage_and_measures_ttft_at_the_first_text_delta()
    {
        Harness? h = null;
        var events = Events("anthropic/messages-stream.sse");
        var inner = new StubHandler((_, _) =>
        {
            h!.Time.Advance(TimeSpan.FromMilliseconds(20));
            return Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); })));
        });
        await using var harness = h = new Harness(inner);

        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 5);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(Fixture.Bytes("anthropic/messages-stream.sse")));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.ResponseModel, Is.EqualTo("claude-sonnet-4-5-20250929"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(25));
            Assert.That(payload.CompletionTokens, Is.EqualTo(15), "message_delta's output_tokens is cumulative: 15, not 1 + 15");
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(0));
            Assert.That(payload.TotalTokens, Is.EqualTo(40));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "end_turn" }));
            // Headers at +20 ms; message_start (+30), content_block_start (+40) and ping (+50) carry no content; "Hello" (+60) does.
            Assert.That(payload.TtftMs, Is.EqualTo(60));
            Assert.That(payload.LatencyMs, Is.EqualTo(20 + (10 * events.Length)));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
        });
    }

    [TestCase(1)]
    [TestCase(3)]
    [TestCase(64)]
    public async Task A_streamed_tool_use_is_assembled_from_its_input_json_deltas(int chunkSize)
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("anthropic/messages-stream-tool-use.sse"), chunkSize));
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Response!.Text, Is.EqualTo("Okay, let's check the weather for San Francisco, CA:"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[]
            {
                new LlmToolCall { Id = "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Type = "function", Name = "get_weather", Arguments = """{"location": "San Francisco, CA", "unit": "fahrenheit"}""" },
                new LlmToolCall { Id = "toolu_01B7hk2lQ3bbnCwKvrgm8Tz1", Type = "function", Name = "get_time", Arguments = "{}" },
            }));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
            Assert.That(payload.ResponseModel, Is.EqualTo("claude-sonnet-4-5-20250929"));
            Assert.That(payload.PromptTokens, Is.EqualTo(472));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1024));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(0));
            Assert.That(payload.CompletionTokens, Is.EqualTo(89));
            Assert.That(payload.TotalTokens, Is.EqualTo(472 + 1024 + 89));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_tool_use_block_is_content_for_ttft()
    {
        Harness? h = null;
        // Only the tool-use half of the stream: message_start, then the tool_use block start.
        var events = Events("anthropic/messages-stream-tool-use.sse").Where((_, i) => i == 0 || i >= 6).ToArray();
        var inner = new StubHandler((_, _) => Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); }))));
        await using var harness = h = new Harness(inner);
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response, Is.Null, "no text, only tool calls");
        Assert.That(payload.ToolCalls, Has.Count.EqualTo(2));
        Assert.That(payload.TtftMs, Is.EqualTo(20), "message_start at +10 is not content; the tool_use start at +20 is");
    }

    [Test]
    public async Task A_streamed_thinking_block_is_reasoning_the_signature_is_not_logged_and_thinking_is_content()
    {
        Harness? h = null;
        var events = Events("anthropic/messages-stream-thinking.sse");
        var inner = new StubHandler((_, _) => Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); }))));
        await using var harness = h = new Harness(inner);

        using var response = await harness.Client.SendAsync(MessagesRequest(Fixture.Text("anthropic/messages-request-thinking.json")));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Reasoning, Is.EqualTo("Use the Euclidean algorithm.\n\n1071 = 2 x 462 + 147\n462 = 3 x 147 + 21\n147 = 7 x 21 + 0"));
            Assert.That(payload.Response.Text, Is.EqualTo("The greatest common divisor is 21."));
            Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain("EqQBCgIYAhIM"), "signatures are not content");
            Assert.That(payload.TtftMs, Is.EqualTo(30), "the first thinking_delta (third event) is the first content");
            Assert.That(payload.CompletionTokens, Is.EqualTo(312));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(270), "output_tokens_details.thinking_tokens, inside output_tokens");
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(2000));
            Assert.That(payload.TotalTokens, Is.EqualTo(54 + 2000 + 312));

            Assert.That(payload.ModelParameters!["thinking"].GetString(), Is.EqualTo("enabled"));
            Assert.That(payload.ModelParameters["thinking_budget_tokens"].GetInt32(), Is.EqualTo(10000));
            Assert.That(payload.ModelParameters["max_tokens"].GetInt32(), Is.EqualTo(16000));
            Assert.That(payload.ModelParameters.ContainsKey("system"), Is.False);
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[]
            {
                ("system", "You are a careful mathematician."),
                ("user", "What is the greatest common divisor of 1071 and 462?"),
                ("assistant", "[thinking]\n[redacted_thinking]\nThe GCD is 21."),
                ("user", "Show the steps."),
            }));
        });
    }

    [Test]
    public async Task Whole_body_tool_uses_are_tool_calls_and_an_empty_input_is_kept()
    {
        await using var harness = new Harness(StubHandler.Json("anthropic/messages-response-tool-use.json"));
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("I'll check the current weather in San Francisco for you."));
        Assert.That(payload.ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Id = "toolu_01A09q90qw90lq917835lq9", Type = "function", Name = "get_weather", Arguments = """{"location": "San Francisco, CA", "unit": "celsius"}""" },
            new LlmToolCall { Id = "toolu_01B7hk2lQ3bbnCwKvrgm8Tz1", Type = "function", Name = "get_time", Arguments = "{}" },
        }));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
        Assert.That(payload.PromptTokens, Is.EqualTo(473));
        Assert.That(payload.CompletionTokens, Is.EqualTo(89));
        Assert.That(payload.TotalTokens, Is.EqualTo(562));
    }

    [Test]
    public async Task Whole_body_thinking_and_redacted_thinking_are_reasoning()
    {
        await using var harness = new Harness(StubHandler.Json("anthropic/messages-response-thinking.json"));
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Reasoning, Is.EqualTo("1071 = 2 x 462 + 147, 462 = 3 x 147 + 21, 147 = 7 x 21 + 0.\n[redacted_thinking]"));
        Assert.That(payload.Response.Text, Is.EqualTo("The greatest common divisor of 1071 and 462 is 21."));
        Assert.That(payload.ReasoningTokens, Is.EqualTo(270));
        Assert.That(payload.CompletionTokens, Is.EqualTo(312));
        Assert.That(payload.TotalTokens, Is.EqualTo(366));
    }

    [Test]
    public async Task An_error_event_inside_a_200_stream_is_a_failure_with_what_arrived_before_it()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("anthropic/messages-stream-error.sse"), chunkSize: 11));
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.HttpStatus, Is.EqualTo(200));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("overloaded_error"));
            Assert.That(payload.Error.Message, Is.EqualTo("Overloaded"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Once upon"));
            Assert.That(payload.PromptTokens, Is.EqualTo(25));
            Assert.That(payload.FinishReasons, Is.Null);
        });
    }

    [Test]
    public async Task A_529_overloaded_body_is_parsed_and_its_request_id_stands_in_for_the_header()
    {
        await using var harness = new Harness(StubHandler.Json("anthropic/error-529.json", (HttpStatusCode)529));
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody()));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("anthropic/error-529.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.HttpStatus, Is.EqualTo(529));
            Assert.That(payload.Error!.Type, Is.EqualTo("overloaded_error"));
            Assert.That(payload.Error.Message, Is.EqualTo("Overloaded"));
            Assert.That(payload.Error.Body, Does.Contain("overloaded_error"));
            Assert.That(payload.RequestId, Is.EqualTo("req_011CSHoEeqs5C35K2UUqR7Fy"));
            Assert.That(payload.TtftMs, Is.Null);
            Assert.That(payload.Response, Is.Null);
        });
    }

    [Test]
    public async Task A_429_keeps_retry_after_and_the_rate_limit_headers_and_the_header_request_id_wins()
    {
        var inner = StubHandler.Json("anthropic/error-429.json", HttpStatusCode.TooManyRequests, r =>
        {
            r.Headers.Add("request-id", "req_from_header");
            r.Headers.Add("retry-after", "17");
            r.Headers.Add("anthropic-ratelimit-input-tokens-limit", "50000");
            r.Headers.Add("anthropic-ratelimit-input-tokens-remaining", "0");
            r.Headers.Add("anthropic-ratelimit-input-tokens-reset", "2026-11-22T10:00:17Z");
        });
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Error!.Type, Is.EqualTo("rate_limit_error"));
            Assert.That(payload.Error.Message, Does.StartWith("This request would exceed the rate limit"));
            Assert.That(payload.RequestId, Is.EqualTo("req_from_header"));
            Assert.That(payload.RateLimit, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["retry-after"] = "17",
                ["anthropic-ratelimit-input-tokens-limit"] = "50000",
                ["anthropic-ratelimit-input-tokens-remaining"] = "0",
                ["anthropic-ratelimit-input-tokens-reset"] = "2026-11-22T10:00:17Z",
            }));
        });
    }

    [Test]
    public async Task Keep_alive_frames_between_events_leave_no_note()
    {
        var payload = await KeepAlive.RecordAsync("anthropic/messages-stream.sse", MessagesRequest(SimpleBody(stream: true)));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
        Assert.That(payload.TotalTokens, Is.EqualTo(40));
    }

    [Test]
    public async Task A_stream_that_ends_before_message_stop_is_a_success_with_a_note()
    {
        var payload = await CutStream.RecordAsync("anthropic/messages-stream.sse", "\"type\":\"message_stop\"", MessagesRequest(SimpleBody(stream: true)));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error!.Message, Does.Contain(CutStream.Note));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
    }

    [Test]
    public async Task Disposing_a_stream_after_message_stop_without_the_final_read_is_a_success()
    {
        var bytes = Fixture.Bytes("anthropic/messages-stream.sse");
        await using var harness = new Harness(StubHandler.Sse(bytes, chunkSize: 100_000));
        using (var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.That(await stream.ReadAsync(new byte[100_000]), Is.EqualTo(bytes.Length));
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task A_stream_cut_inside_a_tool_use_keeps_the_input_that_arrived()
    {
        // Everything up to and including the second input_json_delta of get_weather, then the connection fails.
        var events = Events("anthropic/messages-stream-tool-use.sse");
        var inner = new StubHandler((_, _) => Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, failAtChunk: 10))));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        Assert.ThrowsAsync<IOException>(async () => await (await response.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("stream_error"));
        Assert.That(payload.ToolCalls!.Single().Arguments, Is.EqualTo("{\"location\": \"San Francisc"));
        Assert.That(payload.CompletionTokens, Is.EqualTo(2), "only message_start's usage arrived");
    }

    [Test]
    public async Task Unknown_events_blocks_deltas_and_fields_are_skipped_without_a_note()
    {
        const string sse = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-future","future_field":{"a":[1,2]},"usage":{"input_tokens":"7","output_tokens":1,"future_tokens":3}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"hologram","payload":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"hologram_delta","frames":[1]}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":"","citations":null}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"citations_delta","citation":{"type":"char_location","cited_text":"x"}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"fine"}}

            event: weather_report
            data: {"type":"weather_report","sunny":true}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"refusal_v2","stop_details":{"type":"x"}},"usage":{"output_tokens":4}}

            event: message_stop
            data: {"type":"message_stop"}


            """;
        await using var harness = new Harness(StubHandler.Sse(Encoding.UTF8.GetBytes(sse.ReplaceLineEndings("\n")), chunkSize: 5));
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error, Is.Null, "no event failed to parse");
        Assert.That(payload.Response!.Text, Is.EqualTo("fine"));
        Assert.That(payload.PromptTokens, Is.EqualTo(7), "a count written as a string is still read");
        Assert.That(payload.CompletionTokens, Is.EqualTo(4));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "refusal_v2" }));
        Assert.That(payload.ToolCalls, Is.Null);
    }

    [TestCase("""{"completion":"legacy","stop_reason":"stop_sequence"}""")]
    [TestCase("""[{"type":"text"}]""")]
    [TestCase("""{"id":5,"model":["x"],"content":{"type":"text"},"usage":"lots","stop_reason":7}""")]
    [TestCase("""{"content":[null,7,"text",{"type":null},{"type":"tool_use","input":"not an object"},{"type":"text","text":{"nested":1}}],"usage":{"input_tokens":1.5e300,"output_tokens":-3}}""")]
    public async Task A_body_that_is_not_a_message_yields_a_payload_without_throwing(string body)
    {
        var inner = new StubHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return Task.FromResult(response);
        });
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(MessagesRequest(SimpleBody()));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.RequestedModel, Is.EqualTo("claude-sonnet-4-5"));
    }

    [TestCase("""{"model":"m","system":{"weird":true},"messages":{"role":"user"},"tools":"all","thinking":"yes","metadata":[1],"output_config":7}""")]
    [TestCase("""{"model":"m","messages":[null,3,{"role":"user","content":[null,5,{"type":"tool_result"},{"type":"tool_use","input":null}]},{"role":"user","content":{"x":1}}]}""")]
    public async Task A_request_that_is_not_shaped_as_expected_yields_what_could_be_read(string body)
    {
        await using var harness = new Harness(StubHandler.Json("anthropic/messages-response.json"));
        using var response = await harness.Client.SendAsync(MessagesRequest(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.RequestedModel, Is.EqualTo("m"));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error, Is.Null);
        Assert.That(payload.Response!.Text, Does.StartWith("Yes, take an umbrella"));
    }

    [Test]
    public async Task Output_config_keeps_the_effort_and_only_the_type_of_the_format_and_mcp_servers_are_counted()
    {
        const string body = """
            {"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"hi"}],
             "output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object","properties":{"secret_shape":{"type":"string"}}}}},
             "mcp_servers":[{"type":"url","url":"https://mcp.example.com/sse","name":"example","authorization_token":"mcp-token-do-not-log"}],
             "service_tier":"auto"}
            """;
        await using var harness = new Harness(StubHandler.Json("anthropic/messages-response.json"));
        using var response = await harness.Client.SendAsync(MessagesRequest(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[] { "max_tokens", "effort", "output_format", "mcp_servers_count", "service_tier" }));
        Assert.That(payload.ModelParameters["effort"].GetString(), Is.EqualTo("high"));
        Assert.That(payload.ModelParameters["output_format"].GetString(), Is.EqualTo("json_schema"));
        Assert.That(payload.ModelParameters["mcp_servers_count"].GetInt32(), Is.EqualTo(1));
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain("mcp-token-do-not-log").And.Not.Contain("secret_shape"));
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, int bufferSize)
    {
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) output.Write(buffer, 0, read);
        return output.ToArray();
    }
}
