using System.Net;
using System.Text;
using LlmObservability.Payload;
using LlmObservability.Providers;
using static LlmObservability.Tests.Capture.ProviderTestSupport;

namespace LlmObservability.Tests.Capture;

/// <summary>Ollama's native /api/chat and /api/generate through the handler, from the fixtures in <c>Fixtures/ollama</c>.</summary>
public class HandlerOllamaTests
{
    private const string ChatUrl = "http://localhost:11434/api/chat";
    private const string GenerateUrl = "http://localhost:11434/api/generate";
    private const string Ndjson = "application/x-ndjson";
    private const string SimpleChat = """{"model":"qwen3","messages":[{"role":"user","content":"Hi"}]}""";

    [Test]
    public async Task Non_streaming_chat_is_recorded_with_messages_options_usage_and_thinking()
    {
        var inner = StubHandler.Json("ollama/chat-response.json");
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Post(ChatUrl, Fixture.Text("ollama/chat-request.json")));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("ollama/chat-response.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("ollama"));
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.ApiBase, Is.EqualTo("http://localhost:11434"));
            Assert.That(payload.Endpoint, Is.EqualTo("/api/chat"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("qwen3:8b"));
            Assert.That(payload.ResponseModel, Is.EqualTo("qwen3:8b"));
            Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[] { "temperature", "num_ctx", "top_p", "seed", "stop", "think", "keep_alive", "tools_count", "format" }));
            Assert.That(payload.ModelParameters["temperature"].GetDouble(), Is.EqualTo(0.2));
            Assert.That(payload.ModelParameters["num_ctx"].GetInt32(), Is.EqualTo(8192));
            Assert.That(payload.ModelParameters["top_p"].GetDouble(), Is.EqualTo(0.9));
            Assert.That(payload.ModelParameters["seed"].GetInt32(), Is.EqualTo(42));
            Assert.That(payload.ModelParameters["stop"][0].GetString(), Is.EqualTo("<|im_end|>"));
            Assert.That(payload.ModelParameters["think"].GetBoolean(), Is.True);
            Assert.That(payload.ModelParameters["keep_alive"].GetString(), Is.EqualTo("10m"));
            Assert.That(payload.ModelParameters["tools_count"].GetInt32(), Is.EqualTo(1));
            Assert.That(payload.ModelParameters["format"].GetString(), Is.EqualTo("json"));
            Assert.That(payload.PromptTokens, Is.EqualTo(212));
            Assert.That(payload.CompletionTokens, Is.EqualTo(48));
            Assert.That(payload.TotalTokens, Is.EqualTo(260), "not reported: prompt + completion");
            Assert.That(payload.CachedPromptTokens, Is.Null);
            Assert.That(payload.ReasoningTokens, Is.Null);
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Response!.Text, Is.EqualTo("It is 11°C with light rain in Toronto."));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("The tool returned 11 degrees and light rain; answer briefly."));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.Error, Is.Null);
            Assert.That(payload.ApiKey, Is.Null, "a local Ollama takes no key");
        });

        var messages = payload.Messages!;
        Assert.That(messages.Select(m => m.Role), Is.EqualTo(new[] { "system", "user", "assistant", "tool" }));
        Assert.That(messages[1].Content, Is.EqualTo("What is the weather in this city?\n[image]"));
        Assert.That(messages[2].ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall
            {
                Type = "function",
                Name = "get_current_weather",
                Arguments = "{\n              \"location\": \"Toronto\",\n              \"format\": \"celsius\"\n            }",
            },
        }));
        Assert.That(messages[3], Is.EqualTo(new LlmMessage { Role = "tool", Content = "11 degrees celsius, light rain", Name = "get_current_weather" }));
    }

    [Test]
    public async Task Streaming_chat_assembles_content_and_thinking_and_measures_ttft_at_the_first_content_line()
    {
        Harness? h = null;
        var fixture = Fixture.Bytes("ollama/chat-stream.ndjson");
        var lines = Encoding.UTF8.GetString(fixture).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => Encoding.UTF8.GetBytes(l + "\n")).ToArray();
        byte[][] chunks = [lines[0][..10], lines[0][10..], .. lines[1..]];
        var inner = new StubHandler((_, _) =>
        {
            h!.Time.Advance(TimeSpan.FromMilliseconds(20));
            return Task.FromResult(Streamed(Ndjson, new ChunkedStream(chunks, async _ => { await Task.Yield(); h!.Time.Advance(TimeSpan.FromMilliseconds(10)); })));
        });
        await using var harness = h = new Harness(inner);

        using var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat), HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 7);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(fixture));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True, "Ollama streams unless told not to");
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("The user wants a greeting."));
            Assert.That(payload.ResponseModel, Is.EqualTo("qwen3"));
            Assert.That(payload.PromptTokens, Is.EqualTo(26));
            Assert.That(payload.CompletionTokens, Is.EqualTo(14));
            Assert.That(payload.TotalTokens, Is.EqualTo(40));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.TtftMs, Is.EqualTo(40), "headers +20, first piece +30, the thinking line completes at +40");
            Assert.That(payload.LatencyMs, Is.EqualTo(20 + (10 * chunks.Length)));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task Streamed_tool_calls_arrive_whole_and_are_numbered_across_lines()
    {
        var fixture = Fixture.Bytes("ollama/chat-stream-tool-calls.ndjson");
        await using var harness = new Harness(Chunked(fixture, Ndjson, chunkSize: 3));
        using var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(fixture));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.ToolCalls, Is.EqualTo(new[]
        {
            new LlmToolCall { Type = "function", Name = "get_current_weather", Arguments = """{"format":"celsius","location":"Toronto"}""" },
            new LlmToolCall { Type = "function", Name = "get_time", Arguments = """{"location":"Toronto"}""" },
        }));
        Assert.That(payload.Response!.Text, Is.EqualTo("Let me check."));
        Assert.That(payload.PromptTokens, Is.EqualTo(182));
        Assert.That(payload.CompletionTokens, Is.EqualTo(57));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Whole_body_tool_calls_keep_their_arguments_as_json_text()
    {
        await using var harness = new Harness(StubHandler.Json("ollama/chat-response-tool-calls.json"));
        using var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat.Replace("}]}", "}],\"stream\":false")));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Stream, Is.False);
        Assert.That(payload.ToolCalls!.Select(c => c.Name), Is.EqualTo(new[] { "get_current_weather", "get_time" }));
        Assert.That(payload.ToolCalls![0].Arguments, Is.EqualTo("{\n            \"format\": \"celsius\",\n            \"location\": \"Paris, FR\"\n          }"));
        Assert.That(payload.Response, Is.Null, "empty content, only tool calls");
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
    }

    [Test]
    public async Task Generate_is_a_text_completion_with_prompt_system_and_format()
    {
        await using var harness = new Harness(StubHandler.Json("ollama/generate-response.json"));
        using var response = await harness.Client.SendAsync(Post(GenerateUrl, Fixture.Text("ollama/generate-request.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("text_completion"));
            Assert.That(payload.Endpoint, Is.EqualTo("/api/generate"));
            Assert.That(payload.RequestedModel, Is.EqualTo("llama3.2"));
            Assert.That(payload.Stream, Is.True, "the request did not say stream: false");
            Assert.That(payload.Messages, Is.EqualTo(new[]
            {
                new LlmMessage { Role = "system", Content = "Answer in one sentence." },
                new LlmMessage { Role = "user", Content = "Why is the sky blue?\n[image]" },
            }));
            Assert.That(payload.ModelParameters!.Keys, Is.EquivalentTo(new[] { "temperature", "num_predict", "top_k", "raw", "keep_alive", "format" }));
            Assert.That(payload.ModelParameters["format"].GetString(), Is.EqualTo("json_schema"));
            Assert.That(payload.ModelParameters["num_predict"].GetInt32(), Is.EqualTo(100));
            Assert.That(payload.Response!.Text, Is.EqualTo("The sky is blue because molecules in the air scatter blue light more than red light."));
            Assert.That(payload.PromptTokens, Is.EqualTo(26));
            Assert.That(payload.CompletionTokens, Is.EqualTo(18));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
        });
    }

    [Test]
    public async Task Streaming_generate_assembles_the_response_pieces()
    {
        var fixture = Fixture.Bytes("ollama/generate-stream.ndjson");
        await using var harness = new Harness(Chunked(fixture, Ndjson, chunkSize: 5));
        using var response = await harness.Client.SendAsync(Post(GenerateUrl, """{"model":"llama3.2","prompt":"Why is the sky blue?"}"""));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(fixture));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("The sky is blue."));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "length" }));
        Assert.That(payload.CompletionTokens, Is.EqualTo(3));
        Assert.That(payload.TtftMs, Is.Not.Null);
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task Disposing_after_the_done_line_is_a_success_and_before_it_an_incomplete_response()
    {
        var fixture = Fixture.Bytes("ollama/chat-stream.ndjson");
        await using (var harness = new Harness(Chunked(fixture, Ndjson, chunkSize: 100_000)))
        {
            using (var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.That(await (await response.Content.ReadAsStreamAsync()).ReadAsync(new byte[200_000]), Is.EqualTo(fixture.Length));
            }
            Assert.That((await harness.SinglePayloadAsync()).Status, Is.EqualTo(LlmCallStatus.Success));
        }
        var lastLine = Array.LastIndexOf(fixture, (byte)'\n', fixture.Length - 2) + 1;
        await using (var harness = new Harness(Chunked(fixture[..lastLine], Ndjson, chunkSize: 100_000)))
        {
            using (var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat), HttpCompletionOption.ResponseHeadersRead))
            {
                Assert.That(await (await response.Content.ReadAsStreamAsync()).ReadAsync(new byte[200_000]), Is.EqualTo(lastLine));
            }
            var payload = await harness.SinglePayloadAsync();
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("incomplete_response"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
        }
    }

    [Test]
    public async Task A_model_not_found_error_is_a_failure_with_the_message()
    {
        await using var harness = new Harness(StubHandler.Json("ollama/error-404.json", HttpStatusCode.NotFound));
        using var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(404));
        Assert.That(payload.Error!.Type, Is.EqualTo("not_found_error"));
        Assert.That(payload.Error.Message, Is.EqualTo("model \"llama3.3\" not found, try pulling it first"));
    }

    [Test]
    public async Task An_error_line_inside_a_200_stream_is_a_failure()
    {
        var body = Encoding.UTF8.GetBytes("""
            {"model":"qwen3","created_at":"2025-05-27T22:54:57.5Z","message":{"role":"assistant","content":"Hel"},"done":false}
            {"error":"an error was encountered while running the model: unexpected EOF"}

            """);
        await using var harness = new Harness(Chunked(body, Ndjson, chunkSize: 6));
        using var response = await harness.Client.SendAsync(Post(ChatUrl, SimpleChat));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("stream_error"));
        Assert.That(payload.Error.Message, Does.Contain("unexpected EOF"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hel"));
    }

    [Test]
    public async Task Unknown_fields_and_unexpected_shapes_do_not_throw()
    {
        const string odd = """{"model":7,"message":{"content":["x"],"thinking":null,"tool_calls":[{"function":{"name":"f","arguments":"{\"a\":1}","index":-3}},"junk",{}]},"done":"yes","prompt_eval_count":"12","brand_new":{"x":[1]}}""";
        await using var harness = new Harness(Json(odd));
        using var response = await harness.Client.SendAsync(Post(ChatUrl, """{"model":"m","messages":"nope","options":[1],"tools":{"a":1},"format":7}"""));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.ToolCalls![0], Is.EqualTo(new LlmToolCall { Type = "function", Name = "f", Arguments = "{\"a\":1}" }), "string arguments are kept as they are");
        Assert.That(payload.PromptTokens, Is.EqualTo(12));
        Assert.That(payload.ResponseModel, Is.Null);
        Assert.That(payload.FinishReasons, Is.Null);
        Assert.That(payload.Messages, Is.Null);
    }

    [TestCase("http://localhost:11434/api/chat", "http://localhost:11434", "/api/chat", "chat_completion")]
    [TestCase("http://127.0.0.1:11434/api/generate", "http://127.0.0.1:11434", "/api/generate", "text_completion")]
    [TestCase("http://gpu-box.lan:11434/api/chat", "http://gpu-box.lan:11434", "/api/chat", "chat_completion")]
    [TestCase("http://ollama:8080/api/chat", "http://ollama:8080", "/api/chat", "chat_completion")]
    [TestCase("https://ollama.com/api/chat", "https://ollama.com", "/api/chat", "chat_completion")]
    [TestCase("https://my-ollama.internal/api/generate", "https://my-ollama.internal", "/api/generate", "text_completion")]
    [TestCase("https://webui.example.com/ollama/api/chat", "https://webui.example.com/ollama", "/api/chat", "chat_completion")]
    public void Ollama_paths_are_detected_with_an_ollama_signature(string url, string apiBase, string endpoint, string callType)
    {
        var route = Detect(url);
        Assert.That(route, Is.Not.Null);
        Assert.That(route!.Adapter, Is.InstanceOf<OllamaAdapter>());
        Assert.That((route.Provider, route.ApiBase, route.Endpoint, route.Adapter.CallType), Is.EqualTo(("ollama", apiBase, endpoint, callType)));
    }

    [TestCase("https://myapp.example.com/api/chat")]             // an application's own chat endpoint
    [TestCase("http://localhost:3000/api/generate")]             // a dev server
    [TestCase("http://localhost:11434/api/embed")]               // Ollama, but not a generation
    [TestCase("http://localhost:11434/api/tags")]
    [TestCase("http://localhost:11434/api/chat/extra")]
    [TestCase("https://webui.example.com/api/chat/completions")] // OpenAI-compatible, someone else's adapter
    public void Generic_or_other_paths_are_not_ollama(string url) =>
        Assert.That(Detect(url)?.Adapter, Is.Not.InstanceOf<OllamaAdapter>());
}
