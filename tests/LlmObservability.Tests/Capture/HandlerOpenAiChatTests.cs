using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>The handler end to end over a scripted inner handler: what the caller sees and what the payload says.</summary>
public class HandlerOpenAiChatTests
{
    [Test]
    public async Task Non_streaming_call_is_recorded_with_request_response_usage_and_headers()
    {
        var inner = StubHandler.Json("openai/chat-response.json", configure: r =>
        {
            r.Headers.Add("x-request-id", "req_123abc");
            r.Headers.Add("x-ratelimit-remaining-requests", "499");
            r.Headers.Add("x-ratelimit-limit-tokens", "30000");
            r.Headers.Add("openai-processing-ms", "321");
        });
        await using var harness = new Harness(inner, new LlmObservabilityOptions { ServiceName = "checkout-api", Environment = "test" });

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Fixture.Text("openai/chat-request.json")));
        var body = await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(body, Is.EqualTo(Fixture.Bytes("openai/chat-response.json")), "the caller gets the provider's bytes");
        Assert.That(inner.RequestBodies.Single(), Is.EqualTo(Encoding.UTF8.GetBytes(Fixture.Text("openai/chat-request.json"))), "the provider gets the caller's bytes");
        Assert.That(response.Headers.GetValues("x-llm-call-id").Single(), Is.EqualTo(payload.Id));
        Assert.That(Guid.Parse(payload.Id).Version, Is.EqualTo(7));

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openai"));
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://api.openai.com/v1"));
            Assert.That(payload.Endpoint, Is.EqualTo("/chat/completions"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4.1"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4.1-2025-04-14"));
            Assert.That(payload.ModelParameters!["temperature"].GetDouble(), Is.EqualTo(0.2));
            Assert.That(payload.ModelParameters["max_completion_tokens"].GetInt32(), Is.EqualTo(256));
            Assert.That(payload.ModelParameters["tools_count"].GetInt32(), Is.EqualTo(1));
            Assert.That(payload.ModelParameters["response_format"].GetString(), Is.EqualTo("json_schema"));
            Assert.That(payload.ModelParameters.ContainsKey("messages"), Is.False);
            Assert.That(payload.PromptTokens, Is.EqualTo(19));
            Assert.That(payload.CompletionTokens, Is.EqualTo(10));
            Assert.That(payload.TotalTokens, Is.EqualTo(29));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(0));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.HttpStatus, Is.EqualTo(200));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I assist you today?"));
            Assert.That(payload.RequestId, Is.EqualTo("req_123abc"));
            Assert.That(payload.RateLimit, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["x-ratelimit-remaining-requests"] = "499",
                ["x-ratelimit-limit-tokens"] = "30000",
            }));
            Assert.That(payload.ServiceName, Is.EqualTo("checkout-api"));
            Assert.That(payload.Environment, Is.EqualTo("test"));
            Assert.That(payload.ApiKey!.Prefix, Is.EqualTo("sk-proj-"));
            Assert.That(payload.ApiKey.Sha256, Has.Length.EqualTo(64));
            // gpt-4.1-2025-04-14 at $2/M input, $8/M output: 19 × 2/M + 10 × 8/M
            Assert.That(payload.Cost!.Total, Is.EqualTo(0.000038m + 0.00008m));
        });

        var messages = payload.Messages!;
        Assert.That(messages.Select(m => m.Role), Is.EqualTo(new[] { "developer", "user", "assistant", "tool" }));
        Assert.That(messages[1].Content, Is.EqualTo("What is in this image?\n[image_url]"));
        Assert.That(messages[2].ToolCalls!.Single().Name, Is.EqualTo("get_weather"));
        Assert.That(messages[2].ToolCalls!.Single().Arguments, Is.EqualTo("{\"location\":\"Boston, MA\"}"));
        Assert.That(messages[3].ToolCallId, Is.EqualTo("call_abc123"));
    }

    [Test]
    public async Task Timings_come_from_the_TimeProvider()
    {
        Harness? h = null;
        var inner = new StubHandler(async (_, _) =>
        {
            h!.Time.Advance(TimeSpan.FromMilliseconds(250));
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new ChunkedStream([.. StubHandler.Split(Fixture.Bytes("openai/chat-response.json"), 100)], async i => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); })) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return response;
        });
        await using var harness = h = new Harness(inner);
        var chunks = (Fixture.Bytes("openai/chat-response.json").Length + 99) / 100;

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.StartTime, Is.EqualTo(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero)));
            Assert.That(payload.TtftMs, Is.EqualTo(260), "first body byte: 250 ms to headers + 10 ms to the first chunk");
            Assert.That(payload.LatencyMs, Is.EqualTo(250 + (10 * chunks)));
            Assert.That(payload.CompletionStartTime, Is.EqualTo(payload.StartTime.AddMilliseconds(260)));
            Assert.That(payload.EndTime, Is.EqualTo(payload.StartTime.AddMilliseconds(payload.LatencyMs)));
            Assert.That(payload.OutputTokensPerSecond, Is.EqualTo(Math.Round(10 * 1000.0 / payload.LatencyMs, 2)));
        });
    }

    [Test]
    public async Task Streaming_call_with_include_usage_assembles_text_usage_and_measures_ttft_at_the_first_content_chunk()
    {
        Harness? h = null;
        var events = Encoding.UTF8.GetString(Fixture.Bytes("openai/chat-stream.sse")).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + "\n\n")).ToArray();
        var inner = new StubHandler((_, _) =>
        {
            h!.Time.Advance(TimeSpan.FromMilliseconds(20));
            return Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); })));
        });
        await using var harness = h = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 5);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(Fixture.Bytes("openai/chat-stream.sse")));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-mini-2024-07-18"));
            Assert.That(payload.PromptTokens, Is.EqualTo(19));
            Assert.That(payload.CompletionTokens, Is.EqualTo(6));
            Assert.That(payload.TotalTokens, Is.EqualTo(25));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.ModelParameters!["stream_options"].GetProperty("include_usage").GetBoolean(), Is.True);
            // Headers at +20 ms; the role-only chunk at +30 carries no content; "Hello" at +40 does.
            Assert.That(payload.TtftMs, Is.EqualTo(40));
            Assert.That(payload.LatencyMs, Is.EqualTo(20 + (10 * events.Length)));
            Assert.That(payload.OutputTokensPerSecond, Is.EqualTo(Math.Round(6 * 1000.0 / (payload.LatencyMs - 40), 2)));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task Streaming_without_usage_leaves_tokens_null()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream-no-usage.sse")));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
        Assert.That(payload.PromptTokens, Is.Null);
        Assert.That(payload.CompletionTokens, Is.Null);
        Assert.That(payload.TotalTokens, Is.Null);
        Assert.That(payload.OutputTokensPerSecond, Is.Null);
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Streamed_tool_calls_are_assembled_from_their_deltas()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream-tool-calls.sse"), chunkSize: 3));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Has.Count.EqualTo(2));
        Assert.That(payload.ToolCalls![0], Is.EqualTo(new LlmToolCall { Id = "call_DdmO9pD3xa9XTPNJ32zg2hcA", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"Paris, France\"}" }));
        Assert.That(payload.ToolCalls[1], Is.EqualTo(new LlmToolCall { Id = "call_second", Type = "function", Name = "get_time", Arguments = "{\"tz\":\"CET\"}" }));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        Assert.That(payload.CompletionTokens, Is.EqualTo(33));
        Assert.That(payload.TtftMs, Is.Not.Null, "a tool-call delta is content");
    }

    [Test]
    public async Task A_legacy_function_call_is_recorded_as_a_tool_call()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response-function-call.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = null, Type = "function", Name = "get_current_weather", Arguments = "{\n  \"location\": \"Boston, MA\"\n}" } }));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "function_call" }));
        Assert.That(payload.Response, Is.Null, "no text, only the function call");
    }

    [Test]
    public async Task A_streamed_legacy_function_call_is_assembled_from_its_deltas()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream-function-call.sse"), chunkSize: 5));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = null, Type = "function", Name = "get_current_weather", Arguments = "{\n  \"location\": \"Boston, MA\"\n}" } }));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "function_call" }));
        Assert.That(payload.TtftMs, Is.Not.Null, "a function-call delta is content");
    }

    [Test]
    public async Task Whole_body_tool_calls_cached_and_reasoning_tokens_are_read()
    {
        await using (var harness = new Harness(StubHandler.Json("openai/chat-response-tool-calls.json")))
        {
            using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
            var payload = await harness.SinglePayloadAsync();
            Assert.That(payload.ToolCalls!.Single().Name, Is.EqualTo("get_current_weather"));
            Assert.That(payload.ToolCalls!.Single().Arguments, Is.EqualTo("{\n\"location\": \"Boston, MA\"\n}"));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(64));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
            Assert.That(payload.Response, Is.Null, "no text, only tool calls");
        }
        await using (var harness = new Harness(StubHandler.Json("openai/chat-response-reasoning.json")))
        {
            using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
            var payload = await harness.SinglePayloadAsync();
            Assert.That(payload.ReasoningTokens, Is.EqualTo(960));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1024));
            Assert.That(payload.PromptTokens, Is.EqualTo(1117));
        }
    }

    [Test]
    public async Task A_429_is_a_failure_with_the_provider_error_parsed_and_the_caller_sees_the_same_response()
    {
        var inner = StubHandler.Json("openai/error-429.json", HttpStatusCode.TooManyRequests, r =>
        {
            r.Headers.Add("retry-after", "2");
            r.Headers.Add("x-ratelimit-remaining-tokens", "500");
        });
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var body = await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(body, Is.EqualTo(Fixture.Bytes("openai/error-429.json")));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.HttpStatus, Is.EqualTo(429));
            Assert.That(payload.Error!.Type, Is.EqualTo("tokens"));
            Assert.That(payload.Error.Code, Is.EqualTo("rate_limit_exceeded"));
            Assert.That(payload.Error.Message, Does.StartWith("Rate limit reached for gpt-4o"));
            Assert.That(payload.Error.Body, Does.Contain("rate_limit_exceeded"));
            Assert.That(payload.RateLimit!["retry-after"], Is.EqualTo("2"));
            Assert.That(payload.TtftMs, Is.Null, "an error has no first token");
            Assert.That(payload.Response, Is.Null);
        });
    }

    [Test]
    public async Task An_error_body_that_is_not_json_is_kept_as_text()
    {
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.BadGateway) { Content = new StringContent("<html>502 Bad Gateway</html>") }));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("server_error"));
        Assert.That(payload.Error.Body, Is.EqualTo("<html>502 Bad Gateway</html>"));
    }

    [Test]
    public async Task A_connection_failure_reaches_the_caller_unchanged_and_is_recorded()
    {
        var thrown = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused (api.openai.com:443)");
        await using var harness = new Harness(new StubHandler((_, _) => throw thrown));

        var caught = Assert.ThrowsAsync<HttpRequestException>(() => harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody())));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(caught, Is.SameAs(thrown));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.Null);
        Assert.That(payload.Error!.Type, Is.EqualTo("connection_error"));
        Assert.That(payload.Error.Code, Is.EqualTo("ConnectionError"));
        Assert.That(payload.Error.Message, Does.Contain("Connection refused"));
        Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o-mini"), "what was known of the request is kept");
    }

    [Test]
    public async Task A_timeout_from_below_is_recorded_as_timeout()
    {
        await using var harness = new Harness(new StubHandler((_, _) => throw new TaskCanceledException("The request timed out.", new TimeoutException())));
        Assert.ThrowsAsync<TaskCanceledException>(() => harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody())));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Error!.Type, Is.EqualTo("timeout"));
    }

    [Test]
    public async Task Cancellation_by_the_caller_before_the_response_is_recorded_as_cancelled()
    {
        using var cts = new CancellationTokenSource();
        var inner = new StubHandler(async (_, ct) =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.Infinite, ct);
            throw new UnreachableException();
        });
        await using var harness = new Harness(inner);

        Assert.CatchAsync<OperationCanceledException>(() => harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()), cts.Token));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("cancelled"));
    }

    [Test]
    public async Task Cancellation_mid_stream_is_seen_by_the_caller_and_recorded_with_what_arrived()
    {
        var release = new TaskCompletionSource();
        var events = Encoding.UTF8.GetString(Fixture.Bytes("openai/chat-stream.sse")).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + "\n\n")).ToArray();
        var inner = new StubHandler((_, _) => Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, i => i >= 3 ? release.Task : Task.CompletedTask))));
        await using var harness = new Harness(inner);
        using var cts = new CancellationTokenSource();

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        for (var i = 0; i < 3; i++) Assert.That(await stream.ReadAsync(buffer), Is.GreaterThan(0));
        var pending = stream.ReadAsync(buffer, cts.Token).AsTask();
        await cts.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(() => pending);

        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("cancelled"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can"));
    }

    [Test]
    public async Task A_stream_cut_mid_way_throws_to_the_caller_and_is_recorded_as_a_stream_error()
    {
        var events = Encoding.UTF8.GetString(Fixture.Bytes("openai/chat-stream.sse")).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + "\n\n")).ToArray();
        var inner = new StubHandler((_, _) => Task.FromResult(StubHandler.SseResponse(new ChunkedStream(events, failAtChunk: 3))));
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        var ex = Assert.ThrowsAsync<IOException>(() => stream.CopyToAsync(Stream.Null));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(ex!.Message, Does.Contain("prematurely"));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
        Assert.That(payload.Error!.Type, Is.EqualTo("stream_error"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can"));
    }

    [Test]
    public async Task Disposing_a_stream_after_DONE_without_the_final_read_is_a_success()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream.sse"), chunkSize: 10_000));
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.That(await stream.ReadAsync(new byte[100_000]), Is.EqualTo(Fixture.Bytes("openai/chat-stream.sse").Length));
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Disposing_a_stream_before_its_end_is_an_incomplete_response()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream.sse"), chunkSize: 200));
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.That(await stream.ReadAsync(new byte[200]), Is.GreaterThan(0));
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("incomplete_response"));
    }

    [Test]
    public async Task Synchronous_Send_is_observed_too()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = harness.Client.Send(Harness.ChatRequest(Harness.SimpleChatBody()));
        using (var reader = new StreamReader(response.Content.ReadAsStream())) Assert.That(reader.ReadToEnd(), Does.Contain("Hello!"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.CompletionTokens, Is.EqualTo(10));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task A_gzip_body_the_inner_handler_did_not_decompress_is_still_parsed()
    {
        var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) gzip.Write(Fixture.Bytes("openai/chat-response.json"));
        var inner = new StubHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(compressed.ToArray()) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            response.Content.Headers.ContentEncoding.Add("gzip");
            return Task.FromResult(response);
        });
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(compressed.ToArray()), "still compressed for the caller");
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.TotalTokens, Is.EqualTo(29));
    }

    [Test]
    public async Task Trace_context_comes_from_the_current_activity()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var activity = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.TraceId, Is.EqualTo(activity.TraceId.ToHexString()));
        Assert.That(payload.ParentSpanId, Is.EqualTo(activity.SpanId.ToHexString()));
        Assert.That(payload.SpanId, Has.Length.EqualTo(16).And.Not.EqualTo(activity.SpanId.ToHexString()));
    }

    [Test]
    public async Task Without_an_activity_a_new_trace_is_started()
    {
        Activity.Current = null;
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.TraceId, Has.Length.EqualTo(32));
        Assert.That(payload.ParentSpanId, Is.Null);
    }

    [Test]
    public async Task The_retry_count_an_SDK_sends_becomes_the_attempt()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        var request = Harness.ChatRequest(Harness.SimpleChatBody());
        request.Headers.Add("x-stainless-retry-count", "2");
        using var response = await harness.Client.SendAsync(request);
        Assert.That((await harness.SinglePayloadAsync()).Attempt, Is.EqualTo(3));
    }

    [Test]
    public async Task The_api_key_never_appears_in_the_serialized_payload()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        var json = LlmPayloadJson.Serialize(await harness.SinglePayloadAsync());
        Assert.That(json, Does.Not.Contain("abcdefghijklmnopqrstuvwxyz0123456789"));
        Assert.That(json, Does.Not.Contain("Bearer"));
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
