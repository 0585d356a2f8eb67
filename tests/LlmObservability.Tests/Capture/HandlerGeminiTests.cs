using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Providers;
using static LlmObservability.Tests.Capture.ProviderTestSupport;

namespace LlmObservability.Tests.Capture;

/// <summary>Gemini generateContent / streamGenerateContent through the handler, from the fixtures in <c>Fixtures/gemini</c>.</summary>
public class HandlerGeminiTests
{
    private const string Base = "https://generativelanguage.googleapis.com/v1beta";
    private const string GenerateUrl = Base + "/models/gemini-2.5-flash:generateContent";
    private const string StreamUrl = Base + "/models/gemini-2.5-flash:streamGenerateContent?alt=sse";
    private const string ApiKey = "AIzaSyD-test-key-0123456789abcdefghijk";
    private const string SimpleBody = """{"contents":[{"parts":[{"text":"What is the capital of France?"}]}],"generationConfig":{"temperature":0}}""";

    private static HttpRequestMessage Request(string body, string url = GenerateUrl) => Post(url, body, ("x-goog-api-key", ApiKey));

    [Test]
    public async Task Non_streaming_call_is_recorded_with_request_response_usage_and_key()
    {
        var inner = StubHandler.Json("gemini/generate-content-response.json");
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Request(Fixture.Text("gemini/generate-content-request.json")));
        var body = await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(body, Is.EqualTo(Fixture.Bytes("gemini/generate-content-response.json")));
        Assert.That(response.Headers.GetValues("x-llm-call-id").Single(), Is.EqualTo(payload.Id));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("gemini"));
            Assert.That(payload.CallType, Is.EqualTo("generate_content"));
            Assert.That(payload.ApiBase, Is.EqualTo(Base));
            Assert.That(payload.Endpoint, Is.EqualTo("/models/gemini-2.5-flash:generateContent"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("gemini-2.5-flash"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gemini-2.5-flash"));
            Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[]
            {
                "temperature", "topP", "topK", "maxOutputTokens", "candidateCount", "stopSequences", "responseMimeType", "thinkingConfig", "tools_count", "toolConfig",
            }));
            Assert.That(payload.ModelParameters["temperature"].GetDouble(), Is.EqualTo(0.4));
            Assert.That(payload.ModelParameters["topP"].GetDouble(), Is.EqualTo(0.95));
            Assert.That(payload.ModelParameters["topK"].GetInt32(), Is.EqualTo(40));
            Assert.That(payload.ModelParameters["maxOutputTokens"].GetInt32(), Is.EqualTo(1024));
            Assert.That(payload.ModelParameters["candidateCount"].GetInt32(), Is.EqualTo(1));
            Assert.That(payload.ModelParameters["stopSequences"][0].GetString(), Is.EqualTo("END"));
            Assert.That(payload.ModelParameters["thinkingConfig"].GetProperty("thinkingBudget").GetInt32(), Is.EqualTo(512));
            Assert.That(payload.ModelParameters["tools_count"].GetInt32(), Is.EqualTo(3), "two function declarations and googleSearch");
            Assert.That(payload.ModelParameters["toolConfig"].GetProperty("functionCallingConfig").GetProperty("mode").GetString(), Is.EqualTo("AUTO"));
            Assert.That(payload.PromptTokens, Is.EqualTo(1320));
            Assert.That(payload.CompletionTokens, Is.EqualTo(17));
            Assert.That(payload.TotalTokens, Is.EqualTo(1395));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1024));
            Assert.That(payload.CacheCreationTokens, Is.Null);
            Assert.That(payload.ReasoningTokens, Is.EqualTo(58));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "STOP" }));
            Assert.That(payload.Response!.Text, Is.EqualTo("The Eiffel Tower in Paris, where it is currently 18°C and cloudy."));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("**Reading the forecast**\n\nThe tool says 18 degrees and cloudy in Paris.\n"));
            Assert.That(payload.ToolCalls, Is.Null);
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.ApiKey!.Prefix, Is.EqualTo(ApiKey[..8]));
        });

        var messages = payload.Messages!;
        Assert.That(messages.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "model", "user", "user" }));
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].Content, Is.EqualTo("You are a concise travel assistant."));
            Assert.That(messages[1].Content, Is.EqualTo("What is in this picture, and what is the weather there?\n[inline_data]"));
            Assert.That(messages[2].Content, Is.EqualTo("That is the Eiffel Tower in Paris."));
            Assert.That(messages[2].ToolCalls, Is.EqualTo(new[]
            {
                new LlmToolCall { Type = "function", Name = "get_weather", Arguments = """{ "location": "Paris, France", "unit": "celsius" }""" },
            }));
            Assert.That(messages[3].Content, Is.EqualTo("""{ "temperature": 18, "condition": "cloudy" }"""));
            Assert.That(messages[3].Name, Is.EqualTo("get_weather"));
            Assert.That(messages[4].Content, Is.EqualTo("Summarise it in one sentence.\n[file_data]"));
        });
    }

    /// <summary>
    /// The API reads its JSON as protobuf does, which takes each field under its snake_case proto name as well as its
    /// lowerCamelCase one, and requests written by hand or after curl examples use the former. The snake_case fixture
    /// is the camelCase one spelled the other way, member for member: it gives the same payload, its parameters under
    /// the names sent.
    /// </summary>
    [Test]
    public async Task A_request_in_snake_case_gives_the_payload_of_the_same_request_in_camel_case()
    {
        var camel = await PayloadOf("gemini/generate-content-request.json");
        var snake = await PayloadOf("gemini/generate-content-request-snake-case.json");

        Assert.Multiple(() =>
        {
            Assert.That(snake.Messages!.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "model", "user", "user" }), "the system instruction is read");
            Assert.That(snake.Messages![0].Content, Is.EqualTo("You are a concise travel assistant."));
            Assert.That(snake.Messages[1].Content, Is.EqualTo("What is in this picture, and what is the weather there?\n[inline_data]"));
            Assert.That(snake.Messages[2].ToolCalls!.Single().Name, Is.EqualTo("get_weather"), "the function call is read");
            Assert.That(snake.Messages[3].Name, Is.EqualTo("get_weather"), "the function response is read");
            Assert.That(snake.Messages[4].Content, Is.EqualTo("Summarise it in one sentence.\n[file_data]"));
            Assert.That(snake.ModelParameters!.Keys, Is.EquivalentTo(new[]
            {
                "temperature", "top_p", "top_k", "max_output_tokens", "candidate_count", "stop_sequences", "response_mime_type", "thinking_config", "tools_count", "tool_config",
            }), "the parameters keep the names sent");
            Assert.That(snake.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(3), "two function declarations and google_search");
            Assert.That(Parameters(snake), Is.EqualTo(Parameters(camel, snakeCase: true)));
            Assert.That(Comparable(snake), Is.EqualTo(Comparable(camel)), "everything else is the same");
        });

        static async Task<StandardLoggingPayload> PayloadOf(string request)
        {
            await using var harness = new Harness(StubHandler.Json("gemini/generate-content-response.json"));
            using var response = await harness.Client.SendAsync(Request(Fixture.Text(request)));
            return await harness.SinglePayloadAsync();
        }

        // What differs from call to call, and the parameters (compared above), left out.
        static string Comparable(StandardLoggingPayload payload) => LlmPayloadJson.Serialize(payload with
        {
            Id = "id", TraceId = null, SpanId = null, ParentSpanId = null, StartTime = default, CompletionStartTime = null, EndTime = default,
            TtftMs = null, LatencyMs = 0, OutputTokensPerSecond = null, ModelParameters = null,
        });
    }

    /// <summary>The document path (what the fast reader declines goes there) reads both spellings alike too.</summary>
    [Test]
    public void The_document_path_reads_a_request_in_snake_case_as_the_same_request_in_camel_case()
    {
        var camel = Parse("gemini/generate-content-request.json");
        var snake = Parse("gemini/generate-content-request-snake-case.json");

        Assert.That(snake.Messages!.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "model", "user", "user" }));
        Assert.That(string.Join("|", snake.Messages!.Select(Show)), Is.EqualTo(string.Join("|", camel.Messages!.Select(Show))));
        Assert.That(Parameters(snake.ModelParameters!), Is.EqualTo(Parameters(camel.ModelParameters!, snakeCase: true)));

        static CallRecord Parse(string fixture)
        {
            var record = new CallRecord(new ProviderRoute(GeminiGenerateContentAdapter.Instance, "gemini", Base, "/models/gemini-2.5-flash:generateContent")) { Id = "id" };
            using var document = JsonDocument.Parse(Fixture.Text(fixture));
            GeminiGenerateContentAdapter.Instance.ParseRequest(document.RootElement, record, new CaptureLimits(100_000, 10_000));
            return record;
        }

        static string Show(LlmMessage message) =>
            $"{message} calls={string.Join(",", message.ToolCalls?.Select(c => c.ToString()) ?? [])}";
    }

    /// <summary>Response schemas and speech settings are no parameters in either spelling, on either path.</summary>
    [Test]
    public async Task Schemas_in_snake_case_are_left_out_of_the_parameters_too()
    {
        const string body = """{"contents":[{"parts":[{"text":"Hi"}]}],"generation_config":{"temperature":0.3,"response_mime_type":"application/json","response_schema":{"type":"OBJECT"},"response_json_schema":{"type":"object"},"speech_config":{"voice_config":{}}}}""";
        await using var harness = new Harness(StubHandler.Json("gemini/generate-content-response.json"));
        using var response = await harness.Client.SendAsync(Request(body));
        var payload = await harness.SinglePayloadAsync();

        var record = new CallRecord(new ProviderRoute(GeminiGenerateContentAdapter.Instance, "gemini", Base, "/models/gemini-2.5-flash:generateContent")) { Id = "id" };
        using (var document = JsonDocument.Parse(body)) GeminiGenerateContentAdapter.Instance.ParseRequest(document.RootElement, record, new CaptureLimits(1000, 1000));

        Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[] { "temperature", "response_mime_type" }));
        Assert.That(record.ModelParameters!.Keys, Is.EquivalentTo(new[] { "temperature", "response_mime_type" }));
    }

    private static Dictionary<string, string> Parameters(StandardLoggingPayload payload, bool snakeCase = false) => Parameters(payload.ModelParameters!, snakeCase);

    /// <summary>Each parameter's JSON by its name; with <paramref name="snakeCase"/>, every member name (the parameters' and those inside them) in snake_case.</summary>
    private static Dictionary<string, string> Parameters(IReadOnlyDictionary<string, JsonElement> parameters, bool snakeCase = false) =>
        parameters.ToDictionary(p => snakeCase ? SnakeCase(p.Key) : p.Key,
            p => snakeCase ? Regex.Replace(p.Value.GetRawText(), "\"(\\w+)\":", m => $"\"{SnakeCase(m.Groups[1].Value)}\":") : p.Value.GetRawText());

    private static string SnakeCase(string name) => Regex.Replace(name, "[A-Z]", m => "_" + m.Value.ToLowerInvariant());

    [Test]
    public async Task A_key_in_the_query_is_masked_in_api_base_and_appears_nowhere_in_the_payload()
    {
        await using var harness = new Harness(StubHandler.Json("gemini/generate-content-response.json"));
        using var response = await harness.Client.SendAsync(Post(Base + "/models/gemini-2.0-flash:generateContent?key=" + ApiKey, SimpleBody));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ApiBase, Is.EqualTo(Base + "?key=***"));
        Assert.That(payload.Endpoint, Is.EqualTo("/models/gemini-2.0-flash:generateContent"));
        Assert.That(payload.RequestedModel, Is.EqualTo("gemini-2.0-flash"));
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain(ApiKey));
        Assert.That(payload.Messages!.Single(), Is.EqualTo(new LlmMessage { Role = "user", Content = "What is the capital of France?" }), "an unset role is the user's");
    }

    [Test]
    public async Task Streaming_call_assembles_text_reasoning_and_the_last_usage_and_measures_ttft_at_the_first_content_event()
    {
        Harness? h = null;
        var fixture = Fixture.Bytes("gemini/stream-generate-content.sse");
        var events = SseEvents(fixture);
        // The first event arrives in two pieces: the first byte is not yet content, the completed event is.
        byte[][] chunks = [events[0][..20], events[0][20..], .. events[1..]];
        var inner = new StubHandler((_, _) =>
        {
            h!.Time.Advance(TimeSpan.FromMilliseconds(20));
            return Task.FromResult(Streamed("text/event-stream", new ChunkedStream(chunks, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); })));
        });
        await using var harness = h = new Harness(inner);

        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl), HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 5);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(fixture));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Endpoint, Is.EqualTo("/models/gemini-2.5-flash:streamGenerateContent"));
            Assert.That(payload.ApiBase, Is.EqualTo(Base + "?alt=sse"));
            Assert.That(payload.Response!.Text, Is.EqualTo("The capital of France is Paris. It has been since 508 AD."));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("**Answering a capital question**\n\nThe user asks for the capital of France.\n\n\n"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gemini-2.5-flash"));
            Assert.That(payload.PromptTokens, Is.EqualTo(11));
            Assert.That(payload.CompletionTokens, Is.EqualTo(16), "running totals: the last chunk's, not a sum");
            Assert.That(payload.ReasoningTokens, Is.EqualTo(50));
            Assert.That(payload.TotalTokens, Is.EqualTo(77));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "STOP" }));
            // Headers at +20 ms; the first piece of the first event at +30; the rest of it (a thought) at +40.
            Assert.That(payload.TtftMs, Is.EqualTo(40));
            Assert.That(payload.LatencyMs, Is.EqualTo(20 + (10 * chunks.Length)));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
        });
    }

    [Test]
    public async Task Streamed_function_calls_are_read_whole_from_their_chunk()
    {
        var fixture = Fixture.Bytes("gemini/stream-generate-content-tool-calls.sse");
        await using var harness = new Harness(Chunked(fixture, "text/event-stream", chunkSize: 3));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(fixture));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Type = "function", Name = "get_weather", Arguments = """{"location": "Paris, France"}""" },
            new LlmToolCall { Type = "function", Name = "get_time", Arguments = """{"location": "Paris, France", "format": "24h"}""" },
        }));
        Assert.That(payload.Response!.Text, Is.EqualTo("Let me check both for you."));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "STOP" }));
        Assert.That(payload.PromptTokens, Is.EqualTo(58));
        Assert.That(payload.CompletionTokens, Is.EqualTo(41));
        Assert.That(payload.TotalTokens, Is.EqualTo(99));
        Assert.That(payload.ReasoningTokens, Is.Null);
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Disposing_after_the_chunk_with_the_finish_reason_and_usage_is_a_success()
    {
        var fixture = Fixture.Bytes("gemini/stream-generate-content.sse");
        await using var harness = new Harness(Chunked(fixture, "text/event-stream", chunkSize: 100_000));
        using (var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.That(await stream.ReadAsync(new byte[200_000]), Is.EqualTo(fixture.Length), "everything, but no final zero-byte read");
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.CompletionTokens, Is.EqualTo(16));
    }

    [Test]
    public async Task Disposing_before_the_finish_reason_is_an_incomplete_response()
    {
        var events = SseEvents(Fixture.Bytes("gemini/stream-generate-content.sse"));
        await using var harness = new Harness(new StubHandler((_, _) => Task.FromResult(Streamed("text/event-stream", new ChunkedStream(events)))));
        using (var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            for (var i = 0; i < events.Length - 1; i++) Assert.That(await stream.ReadAsync(new byte[100_000]), Is.EqualTo(events[i].Length));
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("incomplete_response"));
        Assert.That(payload.Response!.Text, Is.EqualTo("The capital of France is Paris."), "what arrived is kept");
        Assert.That(payload.CompletionTokens, Is.EqualTo(7));
    }

    [Test]
    public async Task Stream_without_alt_sse_is_one_json_array_of_chunks_and_is_read_whole()
    {
        var chunks = SseEvents(Fixture.Bytes("gemini/stream-generate-content.sse")).Select(e => Encoding.UTF8.GetString(e).Trim()["data: ".Length..]);
        var array = "[" + string.Join(",\r\n", chunks) + "]";
        await using var harness = new Harness(Json(array));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, Base + "/models/gemini-2.5-flash:streamGenerateContent"));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(array));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Stream, Is.True);
        Assert.That(payload.Response!.Text, Is.EqualTo("The capital of France is Paris. It has been since 508 AD."));
        Assert.That(payload.Response.Reasoning, Does.StartWith("**Answering"));
        Assert.That(payload.CompletionTokens, Is.EqualTo(16));
        Assert.That(payload.TotalTokens, Is.EqualTo(77));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "STOP" }));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Whole_body_function_calls_are_tool_calls_and_thoughts_count_beside_candidates()
    {
        await using var harness = new Harness(StubHandler.Json("gemini/generate-content-response-tool-calls.json"));
        using var response = await harness.Client.SendAsync(Request(SimpleBody));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls!.Select(c => (c.Name, c.Arguments)), Is.EqualTo(new[]
        {
            ("get_weather", "{\n                \"location\": \"Paris, France\",\n                \"unit\": \"celsius\"\n              }"),
            ("get_time", "{\n                \"location\": \"Paris, France\"\n              }"),
        }));
        Assert.That(payload.Response, Is.Null, "no text, only function calls");
        Assert.That(payload.PromptTokens, Is.EqualTo(96));
        Assert.That(payload.CompletionTokens, Is.EqualTo(38));
        Assert.That(payload.ReasoningTokens, Is.EqualTo(69));
        Assert.That(payload.TotalTokens, Is.EqualTo(96 + 38 + 69));
    }

    [Test]
    public async Task Tool_use_prompt_tokens_are_input_and_add_to_the_prompt()
    {
        await using var harness = new Harness(StubHandler.Json("gemini/generate-content-response-grounded.json"));
        using var response = await harness.Client.SendAsync(Request(SimpleBody));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.PromptTokens, Is.EqualTo(12 + 272));
        Assert.That(payload.CompletionTokens, Is.EqualTo(17));
        Assert.That(payload.ReasoningTokens, Is.EqualTo(67));
        Assert.That(payload.TotalTokens, Is.EqualTo(368));
        Assert.That(payload.PromptTokens + payload.CompletionTokens + payload.ReasoningTokens, Is.EqualTo(payload.TotalTokens));
        Assert.That(payload.Response!.Text, Does.StartWith("Spain won Euro 2024"));
    }

    [Test]
    public async Task A_blocked_prompt_is_recorded_with_its_block_reason()
    {
        await using var harness = new Harness(StubHandler.Json("gemini/generate-content-response-blocked.json"));
        using var response = await harness.Client.SendAsync(Request(SimpleBody));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "PROHIBITED_CONTENT" }));
        Assert.That(payload.PromptTokens, Is.EqualTo(9));
        Assert.That(payload.CompletionTokens, Is.Null);
        Assert.That(payload.ResponseModel, Is.EqualTo("gemini-2.0-flash"));
        Assert.That(payload.Response!.Text, Is.Empty);
    }

    [TestCase("gemini/error-429.json", HttpStatusCode.TooManyRequests, "RESOURCE_EXHAUSTED", "429", "You exceeded your current quota")]
    [TestCase("gemini/error-400.json", HttpStatusCode.BadRequest, "INVALID_ARGUMENT", "400", "API key not valid")]
    public async Task Errors_are_failures_with_google_status_as_type_and_code(string fixture, HttpStatusCode status, string type, string code, string message)
    {
        await using var harness = new Harness(StubHandler.Json(fixture, status));
        using var response = await harness.Client.SendAsync(Request(SimpleBody));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes(fixture)));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.HttpStatus, Is.EqualTo((int)status));
            Assert.That(payload.Error!.Type, Is.EqualTo(type));
            Assert.That(payload.Error.Code, Is.EqualTo(code));
            Assert.That(payload.Error.Message, Does.StartWith(message));
            Assert.That(payload.Error.Body, Does.Contain(type));
            Assert.That(payload.TtftMs, Is.Null);
        });
    }

    [Test]
    public async Task An_error_event_inside_a_200_stream_is_a_failure()
    {
        var body = Encoding.UTF8.GetBytes(
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Once\"}],\"role\": \"model\"},\"index\": 0}],\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n" +
            "data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded. Please try again later.\", \"status\": \"UNAVAILABLE\"}}\r\n\r\n");
        await using var harness = new Harness(Chunked(body, "text/event-stream", chunkSize: 9));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
        Assert.That(payload.Error!.Type, Is.EqualTo("UNAVAILABLE"));
        Assert.That(payload.Error.Code, Is.EqualTo("503"));
        Assert.That(payload.Error.Message, Does.StartWith("The model is overloaded"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Once"));
    }

    [Test]
    public async Task Unknown_fields_and_unexpected_shapes_do_not_throw()
    {
        const string odd = """
            {"candidates": [{"content": {"parts": [{"text": 42}, {"futurePart": {"x": 1}}, "bare", {"text": "ok", "thought": "yes"}]}, "finishReason": 7},
                            "not an object", {"index": "zero", "content": null}],
             "usageMetadata": {"promptTokenCount": "12", "candidatesTokenCount": null, "totalTokenCount": 1.5e3, "newCount": 5},
             "modelVersion": ["x"], "responseId": 5, "brandNew": {"deep": [1, 2, 3]}}
            """;
        const string oddRequest = """{"contents": "not a list", "systemInstruction": 5, "generationConfig": [1], "tools": {"x": 1}}""";
        await using var harness = new Harness(Json(odd));
        using var response = await harness.Client.SendAsync(Request(oddRequest));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Response!.Text, Is.EqualTo("ok"));
        Assert.That(payload.PromptTokens, Is.EqualTo(12));
        Assert.That(payload.TotalTokens, Is.EqualTo(1500));
        Assert.That(payload.ResponseModel, Is.Null);
        Assert.That(payload.FinishReasons, Is.Null);
        Assert.That(payload.RequestedModel, Is.EqualTo("gemini-2.5-flash"), "the model comes from the URL");
    }

    [Test]
    public async Task Keep_alive_frames_between_chunks_leave_no_note()
    {
        var payload = await KeepAlive.RecordAsync("gemini/stream-generate-content.sse", Request(SimpleBody, StreamUrl), chunkSize: 9);
        Assert.That(payload.Response!.Text, Is.EqualTo("The capital of France is Paris. It has been since 508 AD."));
        Assert.That(payload.TotalTokens, Is.EqualTo(77));
    }

    [Test]
    public async Task A_stream_of_garbage_events_is_counted_not_thrown()
    {
        var body = Encoding.UTF8.GetBytes("data: {not json\r\n\r\ndata: [1,2]\r\n\r\ndata: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"fine\"}]}, \"finishReason\": \"STOP\"}], \"usageMetadata\": {\"promptTokenCount\": 3}}\r\n\r\n");
        await using var harness = new Harness(Chunked(body, "text/event-stream", chunkSize: 4));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("fine"));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error!.Message, Does.Contain("1 stream event(s) could not be parsed"));
    }

    [TestCase("ON_DEMAND_PRIORITY", 0.00099)]  // priority: 1,000 × $0.54/M + 100 × $4.50/M = 0.00054 + 0.00045
    [TestCase("ON_DEMAND_FLEX", 0.000275)]     // flex: 1,000 × $0.15/M + 100 × $1.25/M = 0.00015 + 0.000125
    [TestCase("ON_DEMAND", 0.00055)]           // standard: 1,000 × $0.30/M + 100 × $2.50/M = 0.0003 + 0.00025
    public async Task Vertex_traffic_type_prices_the_call_at_its_service_tier(string trafficType, decimal expected)
    {
        // Vertex AI's usageMetadata names the quota that served the call.
        var body = $$"""
            {"candidates":[{"content":{"role":"model","parts":[{"text":"Paris."}]},"finishReason":"STOP"}],
             "usageMetadata":{"promptTokenCount":1000,"candidatesTokenCount":100,"totalTokenCount":1100,"trafficType":"{{trafficType}}"},
             "modelVersion":"gemini-2.5-flash","createTime":"2025-06-01T10:00:00.000000Z","responseId":"vx-1"}
            """;
        var options = new LlmObservabilityOptions();
        var price = new LlmModelPrice { InputPerMillion = 0.30m, OutputPerMillion = 2.50m };
        price.Tiers.Add(new LlmModelPriceTier { Name = "Priority", ServiceTiers = { "priority" }, InputPerMillion = 0.54m, OutputPerMillion = 4.50m });
        price.Tiers.Add(new LlmModelPriceTier { Name = "Flex", ServiceTiers = { "flex" }, InputPerMillion = 0.15m, OutputPerMillion = 1.25m });
        options.Pricing.Overrides["gemini-2.5-flash"] = price;
        await using var harness = new Harness(Json(body), options);
        using var response = await harness.Client.SendAsync(Post(
            "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent", SimpleBody));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Provider, Is.EqualTo("vertex_ai"));
        Assert.That(payload.Cost!.Total, Is.EqualTo(expected));
    }

    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash:generateContent")]
    [TestCase("https://generativelanguage.googleapis.com/v1/models/gemini-2.0-flash:streamGenerateContent?alt=sse", "gemini", "https://generativelanguage.googleapis.com/v1?alt=sse", "/models/gemini-2.0-flash:streamGenerateContent")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent?key=secret", "gemini", "https://generativelanguage.googleapis.com/v1beta?key=***", "/models/gemini-2.0-flash:generateContent")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/tunedModels/my-model-42:generateContent", "gemini", "https://generativelanguage.googleapis.com/v1beta", "/tunedModels/my-model-42:generateContent")]
    [TestCase("https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent", "vertex_ai", "https://us-central1-aiplatform.googleapis.com/v1/projects/p1/locations/us-central1/publishers/google", "/models/gemini-2.5-pro:generateContent")]
    [TestCase("http://127.0.0.1:5123/gemini-proxy/v1beta/models/gemini-2.5-flash:generateContent", "gemini", "http://127.0.0.1:5123/gemini-proxy/v1beta", "/models/gemini-2.5-flash:generateContent")]
    public void Generate_content_paths_are_detected_on_any_host(string url, string provider, string apiBase, string endpoint)
    {
        var route = Detect(url);
        Assert.That(route, Is.Not.Null);
        Assert.That(route!.Adapter, Is.SameAs(GeminiGenerateContentAdapter.Instance));
        Assert.That((route.Provider, route.ApiBase, route.Endpoint), Is.EqualTo((provider, apiBase, endpoint)));
    }

    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:countTokens")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:embedContent")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/files/abc:generateContent")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/models/:generateContent")]
    [TestCase("https://example.com/generateContent")]
    public void Other_google_paths_are_not_generate_content(string url) =>
        Assert.That(Detect(url)?.Adapter, Is.Not.SameAs(GeminiGenerateContentAdapter.Instance));

    [Test]
    public void Only_POST_is_detected() =>
        Assert.That(Detect(GenerateUrl, "GET"), Is.Null);
}
