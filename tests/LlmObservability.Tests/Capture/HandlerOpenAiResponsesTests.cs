using System.Net;
using System.Text;
using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>The OpenAI Responses API through the handler: request input items, whole responses and the semantic event stream.</summary>
public class HandlerOpenAiResponsesTests
{
    private const string Url = "https://api.openai.com/v1/responses";

    private static string SimpleBody(bool stream) => $$"""{"model":"gpt-4.1","input":"Plan a day in Paris.","stream":{{(stream ? "true" : "false")}}}""";

    [Test]
    public async Task A_whole_response_is_recorded_with_its_request_items_parameters_output_and_usage()
    {
        await using var harness = new Harness(StubHandler.Json("openai/responses-response.json", configure: r => r.Headers.Add("x-request-id", "req_resp1")));

        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/responses-request.json")));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("openai/responses-response.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openai"));
            Assert.That(payload.CallType, Is.EqualTo("responses"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://api.openai.com/v1"));
            Assert.That(payload.Endpoint, Is.EqualTo("/responses"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4.1"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4.1-2025-04-14"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
            Assert.That(payload.PromptTokens, Is.EqualTo(1326), "input_tokens, cached ones included");
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1152));
            Assert.That(payload.CompletionTokens, Is.EqualTo(15));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(0));
            Assert.That(payload.TotalTokens, Is.EqualTo(1341));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.RequestId, Is.EqualTo("req_resp1"));
            Assert.That(payload.TtftMs, Is.Not.Null);
        });

        var parameters = payload.ModelParameters!;
        Assert.Multiple(() =>
        {
            Assert.That(parameters["temperature"].GetDouble(), Is.EqualTo(0.7));
            Assert.That(parameters["top_p"].GetDouble(), Is.EqualTo(0.9));
            Assert.That(parameters["max_output_tokens"].GetInt32(), Is.EqualTo(512));
            Assert.That(parameters["reasoning_effort"].GetString(), Is.EqualTo("low"));
            Assert.That(parameters["reasoning_summary"].GetString(), Is.EqualTo("auto"));
            Assert.That(parameters["tools_count"].GetInt32(), Is.EqualTo(1));
            Assert.That(parameters["tool_choice"].GetString(), Is.EqualTo("auto"));
            Assert.That(parameters["text_format"].GetString(), Is.EqualTo("json_schema"));
            Assert.That(parameters["text_verbosity"].GetString(), Is.EqualTo("low"));
            Assert.That(parameters["store"].GetBoolean(), Is.False);
            Assert.That(parameters["previous_response_id"].GetString(), Is.EqualTo("resp_previous123"));
            Assert.That(parameters["service_tier"].GetString(), Is.EqualTo("flex"));
            Assert.That(parameters.Keys, Has.None.AnyOf("input", "instructions", "model", "tools", "reasoning", "text"));
        });

        var messages = payload.Messages!;
        Assert.That(messages.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "user", "assistant", "assistant", "assistant", "tool" }));
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].Content, Is.EqualTo("You are a concise travel assistant."), "instructions come first");
            Assert.That(messages[1].Content, Is.EqualTo("Plan a day in Paris."));
            Assert.That(messages[2].Content, Is.EqualTo("What is in this image?\n[image]\n[file: itinerary.pdf]"), "no image URL or file bytes");
            Assert.That(messages[3].Content, Is.EqualTo("It is the Eiffel Tower."));
            Assert.That(messages[4].Content, Is.EqualTo("[reasoning]"));
            Assert.That(messages[5].ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "call_abc123", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"Paris, France\"}" } }));
            Assert.That(messages[6].ToolCallId, Is.EqualTo("call_abc123"));
            Assert.That(messages[6].Content, Is.EqualTo("{\"temperature\":18,\"unit\":\"C\"}"));
        });
    }

    [Test]
    public async Task A_whole_response_with_reasoning_and_function_calls_reads_all_of_them()
    {
        await using var harness = new Harness(StubHandler.Json("openai/responses-response-tool-calls.json"));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: false)));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Id = "call_DdmO9pD3xa9XTPNJ32zg2hcA", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"Paris, France\"}" },
            new LlmToolCall { Id = "call_9bQm2TqE0cWk6yVd1LrS8hZf", Type = "function", Name = "get_time", Arguments = "{\"tz\":\"Europe/Paris\"}" },
        }));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Response!.Reasoning, Is.EqualTo(ReasoningSummary));
            Assert.That(payload.Response.Text, Is.Null);
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
            Assert.That(payload.ResponseModel, Is.EqualTo("o4-mini-2025-04-16"));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(128));
            Assert.That(payload.CompletionTokens, Is.EqualTo(198), "output_tokens, reasoning included");
        });
    }

    private const string ReasoningSummary = "**Checking the weather**\n\nThe user wants the weather in Paris, so I will call get_weather.\n\n**Adding the time**\n\nThey also asked for the local time.";

    [Test]
    public async Task An_incomplete_whole_response_is_a_success_that_stopped_for_length()
    {
        await using var harness = new Harness(StubHandler.Json("openai/responses-response-incomplete.json"));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: false)));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "length" }));
        Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then"));
        Assert.That(payload.CompletionTokens, Is.EqualTo(8));
    }

    [Test]
    public async Task A_streamed_response_assembles_text_usage_and_measures_ttft_at_the_first_text_delta()
    {
        Harness? h = null;
        var events = StubHandler.SseEvents("openai/responses-stream.sse");
        await using var harness = h = new Harness(StubHandler.TimedSse(() => h!.Time, events));

        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var received = await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(Fixture.Bytes("openai/responses-stream.sse")));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4.1-2025-04-14"));
            Assert.That(payload.PromptTokens, Is.EqualTo(37));
            Assert.That(payload.CompletionTokens, Is.EqualTo(11));
            Assert.That(payload.TotalTokens, Is.EqualTo(48));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            // Headers at +20 ms; created, in_progress, output_item.added and content_part.added carry no text; the first delta is the fifth event.
            Assert.That(payload.TtftMs, Is.EqualTo(20 + (5 * 10)));
            Assert.That(payload.LatencyMs, Is.EqualTo(20 + (10 * events.Length)));
        });
    }

    [Test]
    public async Task A_stream_split_into_tiny_chunks_gives_the_same_payload()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/responses-stream-tool-calls.sse"), chunkSize: 3));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Id = "call_DdmO9pD3xa9XTPNJ32zg2hcA", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"Paris, France\"}" },
            new LlmToolCall { Id = "call_9bQm2TqE0cWk6yVd1LrS8hZf", Type = "function", Name = "get_time", Arguments = "{\"tz\":\"Europe/Paris\"}" },
        }));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Response!.Reasoning, Is.EqualTo(ReasoningSummary), "summary parts joined by a blank line, deltas not repeated");
            Assert.That(payload.Response.Text, Is.Null);
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(128));
            Assert.That(payload.PromptTokens, Is.EqualTo(312));
            Assert.That(payload.ResponseModel, Is.EqualTo("o4-mini-2025-04-16"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task Reasoning_summary_deltas_mark_the_first_token()
    {
        Harness? h = null;
        var events = StubHandler.SseEvents("openai/responses-stream-tool-calls.sse");
        await using var harness = h = new Harness(StubHandler.TimedSse(() => h!.Time, events));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        var payload = await harness.SinglePayloadAsync();

        // created, in_progress, output_item.added (reasoning, empty), summary_part.added; the fifth event is the first summary delta.
        Assert.That(payload.TtftMs, Is.EqualTo(20 + (5 * 10)));
    }

    [Test]
    public async Task An_incomplete_stream_keeps_its_text_and_stops_for_length()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/responses-stream-incomplete.sse")));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "length" }));
        Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre"));
        Assert.That(payload.CompletionTokens, Is.EqualTo(4));
    }

    [Test]
    public async Task A_failed_stream_is_a_failure_with_the_response_error()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/responses-stream-failed.sse")));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.HttpStatus, Is.EqualTo(200));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("response_failed"));
            Assert.That(payload.Error.Code, Is.EqualTo("server_error"));
            Assert.That(payload.Error.Message, Is.EqualTo("The model failed to generate a response."));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "error" }));
        });
    }

    /// <summary>A response object always has <c>error</c>: a failed one, whole, is read as a response (not as a gateway's error body).</summary>
    [Test]
    public async Task A_failed_response_body_is_read_as_a_response_with_its_error()
    {
        var failedEvent = Fixture.Text("openai/responses-stream-failed.sse").Split('\n').Last(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
        using var failed = JsonDocument.Parse(failedEvent);
        var body = failed.RootElement.GetProperty("response").GetRawText();
        await using var harness = new Harness(ProviderTestSupport.Json(body));
        using (var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: false)))) await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("response_failed"));
        Assert.That(payload.Error.Code, Is.EqualTo("server_error"));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "error" }));
    }

    [Test]
    public async Task An_error_event_is_a_failure_and_ends_the_stream_even_when_the_caller_stops_reading()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/responses-stream-error.sse"), chunkSize: 100_000));
        using (var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.That(await stream.ReadAsync(new byte[100_000]), Is.EqualTo(Fixture.Bytes("openai/responses-stream-error.sse").Length));
        }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("stream_error"), "the provider's error, not 'incomplete_response'");
        Assert.That(payload.Error.Code, Is.EqualTo("rate_limit_exceeded"));
        Assert.That(payload.Error.Message, Does.StartWith("Rate limit reached for gpt-4.1"));
    }

    [Test]
    public async Task A_stream_whose_deltas_are_missing_takes_the_output_from_the_final_response()
    {
        var events = StubHandler.SseEvents("openai/responses-stream.sse")
            .Where(e => Encoding.UTF8.GetString(e).StartsWith("event: response.created") || Encoding.UTF8.GetString(e).StartsWith("event: response.completed"))
            .SelectMany(e => e).ToArray();
        await using var harness = new Harness(StubHandler.Sse(events));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
        Assert.That(payload.TotalTokens, Is.EqualTo(48));
    }

    [Test]
    public async Task Keep_alive_frames_between_events_leave_no_note()
    {
        var payload = await KeepAlive.RecordAsync("openai/responses-stream.sse", Harness.Post(Url, SimpleBody(stream: true)));
        Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
        Assert.That(payload.TotalTokens, Is.EqualTo(48));
    }

    [Test]
    public async Task A_stream_that_ends_before_response_completed_is_a_success_with_a_note()
    {
        var payload = await CutStream.RecordAsync("openai/responses-stream.sse", "\"type\":\"response.completed\"", Harness.Post(Url, SimpleBody(stream: true)));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error!.Message, Does.Contain(CutStream.Note));
        Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
        Assert.That(payload.TotalTokens, Is.Null, "the usage comes with response.completed");
    }

    [Test]
    public async Task Unknown_events_and_fields_are_ignored_and_bad_events_only_counted()
    {
        var extra = "event: response.future_event\ndata: {\"type\":\"response.future_event\",\"sequence_number\":99,\"novel\":{\"x\":[1,2]}}\n\n"
                    + "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":42,\"output_index\":\"zero\"}\n\n"
                    + "data: {not json\n\n"
                    + "data: [1,2,3]\n\n";
        var body = Encoding.UTF8.GetBytes(extra).Concat(Fixture.Bytes("openai/responses-stream.sse")).ToArray();
        await using var harness = new Harness(StubHandler.Sse(body));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error!.Type, Is.EqualTo("capture_note"));
        Assert.That(payload.Error.Message, Does.Contain("1 stream event(s) could not be parsed"));
    }

    [TestCase("{\"id\":7,\"output\":\"text\",\"usage\":[1],\"status\":{\"x\":1},\"incomplete_details\":\"none\"}")]
    [TestCase("[\"not\",\"an\",\"object\"]")]
    [TestCase("{\"output\":[{\"type\":\"message\",\"content\":\"plain\"},{\"type\":\"function_call\",\"arguments\":{}},{\"type\":\"reasoning\",\"summary\":\"s\"},7]}")]
    public async Task A_response_body_of_an_unexpected_shape_does_not_throw(string body)
    {
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, Encoding.UTF8, "application/json") }));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.Post(Url, "{\"model\":7,\"input\":{\"odd\":true},\"reasoning\":\"high\",\"text\":\"plain\",\"prompt\":{\"id\":\"pmpt_1\",\"variables\":{\"secret\":\"x\"}}}"));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.RequestedModel, Is.Null);
        Assert.That(payload.ModelParameters!["prompt_id"].GetString(), Is.EqualTo("pmpt_1"));
        Assert.That(payload.ModelParameters.ContainsKey("prompt"), Is.False, "a stored prompt's variables are input");
    }

    [Test]
    public async Task An_http_error_is_parsed_from_openais_error_shape()
    {
        await using var harness = new Harness(StubHandler.Json("openai/error-429.json", HttpStatusCode.TooManyRequests));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, SimpleBody(stream: true)));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Code, Is.EqualTo("rate_limit_exceeded"));
        Assert.That(payload.Stream, Is.True, "the request asked for a stream");
    }

    [TestCase("completed", null, false, "stop")]
    [TestCase("completed", null, true, "tool_calls")]
    [TestCase("incomplete", "max_output_tokens", false, "length")]
    [TestCase("incomplete", "content_filter", false, "content_filter")]
    [TestCase("incomplete", null, false, "incomplete")]
    [TestCase("failed", null, false, "error")]
    [TestCase("cancelled", null, false, "cancelled")]
    [TestCase("in_progress", null, false, "in_progress")]
    [TestCase(null, null, false, null)]
    public void Status_maps_to_a_chat_style_finish_reason(string? status, string? reason, bool toolCalls, string? expected) =>
        Assert.That(LlmObservability.Providers.OpenAiResponsesAdapter.FinishReason(status, reason, toolCalls), Is.EqualTo(expected));
}
