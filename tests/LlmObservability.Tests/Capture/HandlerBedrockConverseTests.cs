using System.Net;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Providers;
using static LlmObservability.Tests.Capture.ProviderTestSupport;

namespace LlmObservability.Tests.Capture;

/// <summary>Bedrock Converse / ConverseStream through the handler, from the fixtures in <c>Fixtures/bedrock</c>.</summary>
public class HandlerBedrockConverseTests
{
    private const string Host = "https://bedrock-runtime.us-east-1.amazonaws.com";
    private const string Model = "us.anthropic.claude-3-5-sonnet-20240620-v1:0";
    private const string ConverseUrl = Host + "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
    private const string StreamUrl = Host + "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream";
    private const string EventStream = "application/vnd.amazon.eventstream";
    private const string SimpleBody = """{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}""";

    private static HttpRequestMessage Request(string body, string url = ConverseUrl) =>
        Post(url, body, ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"), ("X-Amz-Date", "20250101T000000Z"));

    [Test]
    public async Task Converse_is_recorded_with_messages_parameters_usage_and_request_id()
    {
        var inner = StubHandler.Json("bedrock/converse-response.json", configure: r => r.Headers.Add("x-amzn-RequestId", "5c2bb8b4-6b0f-4b5f-9a51-1e2f0c6a7d11"));
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Request(Fixture.Text("bedrock/converse-request.json")));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("bedrock/converse-response.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("bedrock"));
            Assert.That(payload.CallType, Is.EqualTo("converse"));
            Assert.That(payload.ApiBase, Is.EqualTo(Host));
            Assert.That(payload.Endpoint, Is.EqualTo("/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo(Model));
            Assert.That(payload.ResponseModel, Is.Null, "Converse does not say");
            Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[] { "maxTokens", "temperature", "topP", "stopSequences", "tools_count", "toolChoice", "additionalModelRequestFields" }));
            Assert.That(payload.ModelParameters["maxTokens"].GetInt32(), Is.EqualTo(512));
            Assert.That(payload.ModelParameters["temperature"].GetDouble(), Is.EqualTo(0.5));
            Assert.That(payload.ModelParameters["topP"].GetDouble(), Is.EqualTo(0.9));
            Assert.That(payload.ModelParameters["stopSequences"][0].GetString(), Is.EqualTo("\n\nHuman:"));
            Assert.That(payload.ModelParameters["tools_count"].GetInt32(), Is.EqualTo(1), "the cache point is not a tool");
            Assert.That(payload.ModelParameters["additionalModelRequestFields"].GetProperty("top_k").GetInt32(), Is.EqualTo(250));
            Assert.That(payload.PromptTokens, Is.EqualTo(29), "inputTokens: uncached input only");
            Assert.That(payload.CompletionTokens, Is.EqualTo(41));
            Assert.That(payload.TotalTokens, Is.EqualTo(1670));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1280));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(320));
            Assert.That(payload.ReasoningTokens, Is.Null);
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "end_turn" }));
            Assert.That(payload.Response!.Text, Is.EqualTo("It is 12°C and raining in Seattle."));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("The tool says 12 degrees and rain."));
            Assert.That(payload.RequestId, Is.EqualTo("5c2bb8b4-6b0f-4b5f-9a51-1e2f0c6a7d11"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.ApiKey, Is.Null, "a SigV4 signature is not an API key");
        });

        var messages = payload.Messages!;
        Assert.That(messages.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "assistant", "user" }));
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].Content, Is.EqualTo("You are a weather assistant.\nAnswer in one sentence."));
            Assert.That(messages[1].Content, Is.EqualTo("What is the weather in Seattle? Here is a photo.\n[image]"));
            Assert.That(messages[2].Content, Is.EqualTo("[reasoningContent]\nLet me look that up."));
            Assert.That(messages[2].ToolCalls, Is.EqualTo(new[]
            {
                new LlmToolCall { Id = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Type = "function", Name = "get_weather", Arguments = """{ "city": "Seattle", "unit": "celsius" }""" },
            }));
            Assert.That(messages[3].Content, Is.EqualTo("{ \"temperature\": 12, \"condition\": \"rain\" }\nSource: NOAA"));
            Assert.That(messages[3].ToolCallId, Is.EqualTo("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q"));
        });
    }

    [Test]
    public async Task Tool_use_blocks_are_tool_calls()
    {
        await using var harness = new Harness(StubHandler.Json("bedrock/converse-response-tool-use.json"));
        using var response = await harness.Client.SendAsync(Request(SimpleBody));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls!.Select(c => (c.Id, c.Name)), Is.EqualTo(new[]
        {
            ("tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "get_weather"),
            ("tooluse_Wq3Yb0dJRFmV1Nq4WdzE2w", "get_weather"),
        }));
        Assert.That(payload.ToolCalls![1].Arguments, Is.EqualTo("{\n              \"city\": \"Portland\"\n            }"));
        Assert.That(payload.Response!.Text, Is.EqualTo("I'll check the weather in both cities."));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
        Assert.That((payload.PromptTokens, payload.CompletionTokens, payload.TotalTokens), Is.EqualTo((412L, 97L, 509L)));
        Assert.That(payload.CachedPromptTokens, Is.Null);
    }

    [Test]
    public async Task ConverseStream_is_read_from_its_event_stream_frames_with_ttft_at_the_first_content_event()
    {
        Harness? h = null;
        var fixture = Fixture.Bytes("bedrock/converse-stream.bin");
        var frames = Frames(fixture);
        var inner = new StubHandler((_, _) =>
        {
            h!.Time.Advance(TimeSpan.FromMilliseconds(20));
            return Task.FromResult(Streamed(EventStream, new ChunkedStream(frames, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); })));
        });
        await using var harness = h = new Harness(inner);

        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl), HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 7);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(fixture));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Endpoint, Does.EndWith("/converse-stream"));
            Assert.That(payload.RequestedModel, Is.EqualTo(Model));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("Short greeting needed."));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "end_turn" }));
            Assert.That(payload.PromptTokens, Is.EqualTo(12));
            Assert.That(payload.CompletionTokens, Is.EqualTo(19));
            Assert.That(payload.TotalTokens, Is.EqualTo(31));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(0));
            // Headers +20; messageStart (no content) +30; the reasoning delta +40.
            Assert.That(payload.TtftMs, Is.EqualTo(40));
            Assert.That(payload.LatencyMs, Is.EqualTo(20 + (10 * frames.Length)));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
        });
    }

    [Test]
    public async Task Streamed_tool_use_is_assembled_from_its_start_and_input_deltas()
    {
        var fixture = Fixture.Bytes("bedrock/converse-stream-tool-use.bin");
        await using var harness = new Harness(Chunked(fixture, EventStream, chunkSize: 3));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(fixture));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Id = "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", Type = "function", Name = "get_weather", Arguments = """{"city": "Seattle"}""" },
            new LlmToolCall { Id = "tooluse_Wq3Yb0dJRFmV1Nq4WdzE2w", Type = "function", Name = "get_weather", Arguments = """{"city": "Portland"}""" },
        }));
        Assert.That(payload.Response!.Text, Is.EqualTo("Checking."));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
        Assert.That((payload.PromptTokens, payload.CompletionTokens, payload.TotalTokens), Is.EqualTo((402L, 88L, 490L)));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task An_exception_message_in_the_stream_is_a_failure_with_what_arrived_before_it()
    {
        await using var harness = new Harness(Chunked(Fixture.Bytes("bedrock/converse-stream-exception.bin"), EventStream, chunkSize: 11));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
        Assert.That(payload.Error!.Type, Is.EqualTo("modelStreamErrorException"));
        Assert.That(payload.Error.Message, Is.EqualTo("The model stream was interrupted."));
        Assert.That(payload.Response!.Text, Is.EqualTo("Once upon"));
    }

    [Test]
    public async Task Disposing_after_messageStop_is_a_success_even_without_the_metadata_event()
    {
        var frames = Frames(Fixture.Bytes("bedrock/converse-stream.bin"));
        await using var harness = new Harness(new StubHandler((_, _) => Task.FromResult(Streamed(EventStream, new ChunkedStream(frames)))));
        using (var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl), HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            for (var i = 0; i < frames.Length - 1; i++) Assert.That(await stream.ReadAsync(new byte[10_000]), Is.EqualTo(frames[i].Length));
        }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "end_turn" }));
        Assert.That(payload.CompletionTokens, Is.Null, "the usage came in the event not read");
    }

    [Test]
    public async Task A_corrupt_frame_stops_capture_but_not_the_caller()
    {
        var fixture = Fixture.Bytes("bedrock/converse-stream.bin");
        var frames = Frames(fixture);
        var corruptAt = frames.Take(5).Sum(f => f.Length) + 30; // inside the sixth frame
        var corrupt = fixture.ToArray();
        corrupt[corruptAt] ^= 0x20;
        await using var harness = new Harness(Chunked(corrupt, EventStream, chunkSize: 64));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(corrupt), "the caller's bytes are untouched");
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("Hello"), "events before the corrupt one were read");
        Assert.That(payload.Error!.Message, Does.Contain("response capture stopped: InvalidDataException"));
    }

    [Test]
    public async Task A_throttling_error_takes_its_type_from_the_errortype_header()
    {
        var inner = StubHandler.Json("bedrock/error-throttling.json", HttpStatusCode.TooManyRequests, r =>
        {
            r.Headers.TryAddWithoutValidation("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/");
            r.Headers.TryAddWithoutValidation("x-amzn-RequestId", "req-429");
        });
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Request(SimpleBody, StreamUrl));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.HttpStatus, Is.EqualTo(429));
            Assert.That(payload.Error!.Type, Is.EqualTo("ThrottlingException"));
            Assert.That(payload.Error.Message, Is.EqualTo("Too many requests, please wait before trying again."));
            Assert.That(payload.Error.Body, Is.EqualTo(Fixture.Text("bedrock/error-throttling.json")));
            Assert.That(payload.RequestId, Is.EqualTo("req-429"));
            Assert.That(payload.Stream, Is.True);
        });
    }

    [Test]
    public async Task An_error_without_the_header_reads_the_body_type_or_falls_back_to_the_status()
    {
        await using (var harness = new Harness(Json("""{"__type":"com.amazon.coral.validate#ValidationException","Message":"Malformed input request"}""", HttpStatusCode.BadRequest)))
        {
            using var response = await harness.Client.SendAsync(Request(SimpleBody));
            var payload = await harness.SinglePayloadAsync();
            Assert.That((payload.Error!.Type, payload.Error.Message), Is.EqualTo(("ValidationException", "Malformed input request")));
        }
        await using (var harness = new Harness(StubHandler.Json("bedrock/error-validation.json", HttpStatusCode.BadRequest)))
        {
            using var response = await harness.Client.SendAsync(Request(SimpleBody));
            var payload = await harness.SinglePayloadAsync();
            Assert.That((payload.Error!.Type, payload.Error.Message), Is.EqualTo(("invalid_request_error", "The provided model identifier is invalid.")));
        }
    }

    [Test]
    public async Task An_errortype_header_on_a_success_is_ignored()
    {
        await using var harness = new Harness(StubHandler.Json("bedrock/converse-response.json", configure: r => r.Headers.TryAddWithoutValidation("x-amzn-ErrorType", "Odd")));
        using var response = await harness.Client.SendAsync(Request(SimpleBody));
        Assert.That((await harness.SinglePayloadAsync()).Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Unknown_fields_and_unexpected_shapes_do_not_throw()
    {
        const string odd = """{"output":{"message":{"content":[{"text":5},"x",{"toolUse":{"input":"raw"}},{"futureBlock":{}}]}},"stopReason":["?"],"usage":{"inputTokens":"7","outputTokens":null},"brandNew":1}""";
        const string oddRequest = """{"messages":[{"role":"user","content":"not blocks"},5],"system":"text","inferenceConfig":[],"toolConfig":{"tools":"none"}}""";
        await using var harness = new Harness(Json(odd));
        using var response = await harness.Client.SendAsync(Request(oddRequest));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.PromptTokens, Is.EqualTo(7));
        Assert.That(payload.ToolCalls!.Single().Arguments, Is.EqualTo("raw"));
        Assert.That(payload.FinishReasons, Is.Null);
        Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new (string?, string?)[] { ("user", null), (null, null) }));
    }

    private const string SonnetUrl = Host + "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse";

    /// <summary>Prices for claude-sonnet-4-5 with a flex and a priority tier, so that the tier the call names shows in its cost.</summary>
    private static LlmObservabilityOptions WithSonnetTiers()
    {
        var options = new LlmObservabilityOptions();
        var price = new LlmModelPrice { InputPerMillion = 3m, OutputPerMillion = 15m, CacheCreationPerMillion = 3.75m, CacheCreation1hPerMillion = 6m };
        price.Tiers.Add(new LlmModelPriceTier { Name = "Flex", ServiceTiers = { "flex" }, InputPerMillion = 1.5m, OutputPerMillion = 7.5m });
        price.Tiers.Add(new LlmModelPriceTier { Name = "Priority", ServiceTiers = { "priority" }, InputPerMillion = 6m, OutputPerMillion = 30m });
        options.Pricing.Overrides["claude-sonnet-4-5-20250929"] = price;
        return options;
    }

    [Test]
    public async Task One_hour_cache_writes_in_cacheDetails_are_billed_at_the_one_hour_price()
    {
        // TokenUsage as Bedrock documents it: cacheDetails lists the writes by TTL, 1h before 5m.
        const string body = """
            {"output":{"message":{"role":"assistant","content":[{"text":"Done."}]}},"stopReason":"end_turn",
             "usage":{"inputTokens":100,"outputTokens":50,"totalTokens":1650,"cacheReadInputTokens":0,"cacheWriteInputTokens":1500,
                      "cacheDetails":[{"ttl":"1h","inputTokens":1000},{"ttl":"5m","inputTokens":500}]},
             "metrics":{"latencyMs":800}}
            """;
        await using var harness = new Harness(Json(body));
        using var response = await harness.Client.SendAsync(Request(SimpleBody, SonnetUrl));
        var payload = await harness.SinglePayloadAsync();
        var cost = payload.Cost!;

        // claude-sonnet-4-5: $3/M input, $3.75/M five-minute writes, $6/M one-hour writes, $15/M output.
        Assert.Multiple(() =>
        {
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(1500));
            Assert.That(cost.Input, Is.EqualTo(100 * 3m / 1_000_000));
            Assert.That(cost.CacheCreation, Is.EqualTo(1000 * 6m / 1_000_000 + 500 * 3.75m / 1_000_000), "0.006 + 0.001875");
            Assert.That(cost.Output, Is.EqualTo(50 * 15m / 1_000_000));
            Assert.That(cost.Total, Is.EqualTo(0.0003m + 0.007875m + 0.00075m));
        });
    }

    [Test]
    public async Task The_requested_serviceTier_prices_the_call_when_the_response_does_not_name_one()
    {
        const string request = """{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"serviceTier":{"type":"priority"}}""";
        const string body = """{"output":{"message":{"role":"assistant","content":[{"text":"Hi."}]}},"stopReason":"end_turn","usage":{"inputTokens":1000,"outputTokens":100,"totalTokens":1100}}""";
        await using var harness = new Harness(Json(body), WithSonnetTiers());
        using var response = await harness.Client.SendAsync(Request(request, SonnetUrl));
        var payload = await harness.SinglePayloadAsync();

        // priority: 1,000 × $6/M + 100 × $30/M = 0.006 + 0.003
        Assert.That(payload.Cost!.Total, Is.EqualTo(0.009m));
        Assert.That(payload.ModelParameters!["serviceTier"].GetProperty("type").GetString(), Is.EqualTo("priority"));
    }

    [Test]
    public async Task The_serviceTier_of_the_response_beats_the_requested_one()
    {
        const string request = """{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"serviceTier":{"type":"priority"}}""";
        const string body = """{"output":{"message":{"role":"assistant","content":[{"text":"Hi."}]}},"stopReason":"end_turn","usage":{"inputTokens":1000,"outputTokens":100,"totalTokens":1100},"serviceTier":{"type":"flex"}}""";
        await using var harness = new Harness(Json(body), WithSonnetTiers());
        using var response = await harness.Client.SendAsync(Request(request, SonnetUrl));

        // flex: 1,000 × $1.50/M + 100 × $7.50/M = 0.0015 + 0.00075
        Assert.That((await harness.SinglePayloadAsync()).Cost!.Total, Is.EqualTo(0.00225m));
    }

    [Test]
    public async Task ConverseStream_reads_the_service_tier_and_one_hour_writes_from_the_metadata_event()
    {
        byte[] stream =
        [
            .. EventStreamFrames.Event("messageStart", """{"role":"assistant"}"""),
            .. EventStreamFrames.Event("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":"Hi."}}"""),
            .. EventStreamFrames.Event("contentBlockStop", """{"contentBlockIndex":0}"""),
            .. EventStreamFrames.Event("messageStop", """{"stopReason":"end_turn"}"""),
            .. EventStreamFrames.Event("metadata", """{"usage":{"inputTokens":1000,"outputTokens":100,"totalTokens":3100,"cacheWriteInputTokens":2000,"cacheDetails":[{"ttl":"1h","inputTokens":2000}]},"metrics":{"latencyMs":300},"serviceTier":{"type":"flex"}}"""),
        ];
        const string request = """{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"serviceTier":{"type":"default"}}""";
        await using var harness = new Harness(Chunked(stream, EventStream, chunkSize: 5), WithSonnetTiers());
        using var response = await harness.Client.SendAsync(Request(request, SonnetUrl.Replace("/converse", "/converse-stream", StringComparison.Ordinal)), HttpCompletionOption.ResponseHeadersRead);
        await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 64);
        var cost = (await harness.SinglePayloadAsync()).Cost!;

        // flex prices input and output; the flex tier names no cache price, so the one-hour writes keep $6/M:
        // 1,000 × $1.50/M + 2,000 × $6/M + 100 × $7.50/M = 0.0015 + 0.012 + 0.00075
        Assert.That(cost.CacheCreation, Is.EqualTo(2000 * 6m / 1_000_000));
        Assert.That(cost.Total, Is.EqualTo(0.0015m + 0.012m + 0.00075m));
    }

    [TestCase(ConverseUrl, Host, "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse", Model)]
    [TestCase(StreamUrl, Host, "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream", Model)]
    [TestCase("https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/converse", "https://bedrock-runtime.eu-west-1.amazonaws.com", "/model/anthropic.claude-3-haiku-20240307-v1:0/converse", "anthropic.claude-3-haiku-20240307-v1:0")]
    [TestCase("https://bedrock-runtime.us-west-2.amazonaws.com/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-11b-instruct-v1%3A0/converse",
        "https://bedrock-runtime.us-west-2.amazonaws.com", "/model/arn%3Aaws%3Abedrock%3Aus-west-2%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-11b-instruct-v1%3A0/converse",
        "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.meta.llama3-2-11b-instruct-v1:0")]
    [TestCase("https://bedrock-runtime.us-west-2.amazonaws.com/model/arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-lite-v1:0/converse-stream",
        "https://bedrock-runtime.us-west-2.amazonaws.com", "/model/arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-lite-v1:0/converse-stream",
        "arn:aws:bedrock:us-west-2:123456789012:inference-profile/us.amazon.nova-lite-v1:0")]
    [TestCase("https://bedrock-runtime-fips.us-east-1.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse", "https://bedrock-runtime-fips.us-east-1.amazonaws.com", "/model/amazon.nova-pro-v1%3A0/converse", "amazon.nova-pro-v1:0")]
    [TestCase("http://127.0.0.1:4566/model/amazon.nova-micro-v1%3A0/converse", "http://127.0.0.1:4566", "/model/amazon.nova-micro-v1%3A0/converse", "amazon.nova-micro-v1:0")]
    public void Converse_paths_are_detected_and_the_model_id_decoded(string url, string apiBase, string endpoint, string model)
    {
        var route = Detect(url);
        Assert.That(route, Is.Not.Null);
        Assert.That(route!.Adapter, Is.SameAs(BedrockConverseAdapter.Instance));
        Assert.That((route.Provider, route.ApiBase, route.Endpoint), Is.EqualTo(("bedrock", apiBase, endpoint)));
        Assert.That(BedrockConverseAdapter.ModelFromEndpoint(route.Endpoint), Is.EqualTo(model));
    }

    [TestCase(Host + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke")]
    [TestCase(Host + "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream")]
    [TestCase(Host + "/model//converse")]
    [TestCase(Host + "/converse")]
    [TestCase("https://example.com/chat/converse")]
    public void Other_bedrock_paths_are_not_converse(string url) =>
        Assert.That(Detect(url)?.Adapter, Is.Not.SameAs(BedrockConverseAdapter.Instance));

    /// <summary>Cuts an event-stream body into its messages by their prelude lengths.</summary>
    private static byte[][] Frames(byte[] body)
    {
        var frames = new List<byte[]>();
        for (var offset = 0; offset < body.Length;)
        {
            var length = (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset));
            frames.Add(body[offset..(offset + length)]);
            offset += length;
        }
        return [.. frames];
    }
}
