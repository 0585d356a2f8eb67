using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>OpenAI-compatible servers' variations on chat completions usage and reasoning, from their own streams.</summary>
public class HandlerOpenAiCompatibleTests
{
    private static async Task<StandardLoggingPayload> StreamAsync(string fixture, string url, int chunkSize = 11)
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes(fixture), chunkSize));
        using var response = await harness.Client.SendAsync(Harness.Post(url, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}"));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes(fixture)));
        return await harness.SinglePayloadAsync();
    }

    private static async Task<StandardLoggingPayload> JsonAsync(string fixture, string url, System.Net.HttpStatusCode status = System.Net.HttpStatusCode.OK)
    {
        await using var harness = new Harness(StubHandler.Json(fixture, status));
        using var response = await harness.Client.SendAsync(Harness.Post(url, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes(fixture)));
        return await harness.SinglePayloadAsync();
    }

    [Test]
    public async Task DeepSeek_reasoner_stream_reports_reasoning_text_cache_hits_and_reasoning_tokens()
    {
        var payload = await StreamAsync("deepseek/chat-stream-reasoner.sse", "https://api.deepseek.com/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("deepseek"));
            Assert.That(payload.ResponseModel, Is.EqualTo("deepseek-reasoner"));
            Assert.That(payload.Response!.Reasoning, Is.EqualTo("The user greets me. I should greet back."));
            Assert.That(payload.Response.Text, Is.EqualTo("Hello! How can I help you?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(1033), "prompt_tokens = cache hit + miss");
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1024));
            Assert.That(payload.CompletionTokens, Is.EqualTo(52));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(41));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task DeepSeek_cache_hits_are_read_when_only_its_own_fields_are_present()
    {
        await using var harness = new Harness(StubHandler.Json("deepseek/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.Post("https://api.deepseek.com/v1/chat/completions", "{\"model\":\"deepseek-chat\",\"messages\":[]}"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.PromptTokens, Is.EqualTo(76));
        Assert.That(payload.CachedPromptTokens, Is.EqualTo(64));
        Assert.That(payload.CompletionTokens, Is.EqualTo(7));
    }

    [Test]
    public async Task DeepSeek_prompt_tokens_are_hit_plus_miss_when_prompt_tokens_is_missing()
    {
        const string body = """{"id":"x","object":"chat.completion","model":"deepseek-chat","choices":[],"usage":{"completion_tokens":3,"prompt_cache_hit_tokens":64,"prompt_cache_miss_tokens":12}}""";
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") }));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.Post("https://api.deepseek.com/chat/completions", "{\"model\":\"deepseek-chat\",\"messages\":[]}"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.PromptTokens, Is.EqualTo(76));
        Assert.That(payload.CachedPromptTokens, Is.EqualTo(64));
        Assert.That(payload.TotalTokens, Is.EqualTo(79));
    }

    [Test]
    public async Task Groq_usage_comes_from_x_groq_in_the_last_chunk()
    {
        var payload = await StreamAsync("groq/chat-stream.sse", "https://api.groq.com/openai/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("groq"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://api.groq.com/openai/v1"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Low latency matters."));
            Assert.That(payload.PromptTokens, Is.EqualTo(18));
            Assert.That(payload.CompletionTokens, Is.EqualTo(4));
            Assert.That(payload.TotalTokens, Is.EqualTo(22));
            Assert.That(payload.ResponseModel, Is.EqualTo("llama-3.3-70b-versatile"));
        });
    }

    [Test]
    public async Task Mistral_usage_rides_on_the_finishing_chunk()
    {
        var payload = await StreamAsync("mistral/chat-stream.sse", "https://api.mistral.ai/v1/chat/completions");
        Assert.That(payload.Provider, Is.EqualTo("mistral"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Bonjour !"));
        Assert.That(payload.PromptTokens, Is.EqualTo(9));
        Assert.That(payload.CompletionTokens, Is.EqualTo(4));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
    }

    [Test]
    public async Task Mistral_reasoning_stream_splits_thinking_chunks_from_text_and_times_the_first_token_at_the_thinking()
    {
        // Magistral and reasoning Mistral models send delta.content as an array of chunks while they think (and for
        // the first text), then as plain strings.
        Harness? h = null;
        var events = StubHandler.SseEvents("mistral/chat-stream-reasoning.sse");
        await using var harness = h = new Harness(StubHandler.TimedSse(() => h!.Time, events));

        using var response = await harness.Client.SendAsync(Harness.Post("https://api.mistral.ai/v1/chat/completions", "{\"model\":\"magistral-medium-latest\",\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}],\"stream\":true}"), HttpCompletionOption.ResponseHeadersRead);
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("mistral/chat-stream-reasoning.sse")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("mistral"));
            Assert.That(payload.ResponseModel, Is.EqualTo("magistral-medium-2509"));
            Assert.That(payload.Response!.Reasoning, Is.EqualTo("Let me think."));
            Assert.That(payload.Response.Text, Is.EqualTo("The answer is 4."));
            Assert.That(payload.CompletionTokens, Is.EqualTo(23));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            // Headers at +20 ms; the role chunk at +30 has no content; the first thinking chunk at +40 does, as a
            // reasoning_content chunk would.
            Assert.That(payload.TtftMs, Is.EqualTo(40));
            Assert.That(payload.CompletionStartTime, Is.EqualTo(payload.StartTime.AddMilliseconds(40)));
        });
    }

    [Test]
    public async Task Mistral_reasoning_response_keeps_the_thinking_chunk_out_of_the_answer()
    {
        await using var harness = new Harness(StubHandler.Json("mistral/chat-response-reasoning.json"));
        using var response = await harness.Client.SendAsync(Harness.Post("https://api.mistral.ai/v1/chat/completions", "{\"model\":\"magistral-medium-latest\",\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}]}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("mistral"));
            Assert.That(payload.Response!.Text, Is.EqualTo("The answer is 4."));
            Assert.That(payload.Response.Reasoning, Is.EqualTo("Let me think. Two plus two is four."));
            Assert.That(payload.PromptTokens, Is.EqualTo(14));
            Assert.That(payload.CompletionTokens, Is.EqualTo(25));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
        });
    }

    [Test]
    public async Task OpenRouter_comments_reasoning_and_cache_writes_are_understood()
    {
        var payload = await StreamAsync("openrouter/chat-stream.sse", "https://openrouter.ai/api/v1/chat/completions", chunkSize: 4);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openrouter"));
            Assert.That(payload.ResponseModel, Is.EqualTo("anthropic/claude-sonnet-4"));
            Assert.That(payload.Response!.Reasoning, Is.EqualTo("The user asks for a haiku. Keep it short."));
            Assert.That(payload.Response.Text, Is.EqualTo("Quiet morning light"));
            Assert.That(payload.PromptTokens, Is.EqualTo(194), "OpenRouter's prompt_tokens include cache reads and writes");
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(100));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(12));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Error, Is.Null);
        });
    }

    [Test]
    public async Task Vllm_continuous_usage_keeps_the_last_cumulative_count()
    {
        var payload = await StreamAsync("vllm/chat-stream-continuous-usage.sse", "http://vllm.internal:8000/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openai_compatible"));
            Assert.That(payload.Response!.Reasoning, Is.EqualTo("Short answer."));
            Assert.That(payload.Response.Text, Is.EqualTo("Paris."));
            Assert.That(payload.PromptTokens, Is.EqualTo(12));
            Assert.That(payload.CompletionTokens, Is.EqualTo(5));
            Assert.That(payload.TotalTokens, Is.EqualTo(17));
        });
    }

    [Test]
    public async Task Together_response_reads_text_usage_and_a_seed_beyond_64_bits()
    {
        // https://docs.together.ai/reference/chat-completions-1
        var payload = await JsonAsync("together/chat-response.json", "https://api.together.xyz/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("together_ai"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://api.together.xyz/v1"));
            Assert.That(payload.ResponseModel, Is.EqualTo("meta-llama/Llama-3.3-70B-Instruct-Turbo"));
            Assert.That(payload.Response!.Text, Is.EqualTo("The Latin name of the Sun is Sol."));
            Assert.That(payload.ToolCalls, Is.Null, "an empty tool_calls array is no tool call");
            Assert.That(payload.PromptTokens, Is.EqualTo(47));
            Assert.That(payload.CompletionTokens, Is.EqualTo(10));
            Assert.That(payload.TotalTokens, Is.EqualTo(57));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task Together_stream_takes_usage_from_the_finishing_chunk_after_usage_null()
    {
        // https://docs.together.ai/docs/chat-overview
        var payload = await StreamAsync("together/chat-stream.sse", "https://api.together.xyz/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("together_ai"));
            Assert.That(payload.ResponseModel, Is.EqualTo("meta-llama/Llama-3.3-70B-Instruct-Turbo"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(39));
            Assert.That(payload.CompletionTokens, Is.EqualTo(8));
            Assert.That(payload.TotalTokens, Is.EqualTo(47));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task Together_tool_call_response_names_the_call()
    {
        // https://docs.together.ai/docs/function-calling
        var payload = await JsonAsync("together/chat-response-tool-calls.json", "https://api.together.xyz/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.ResponseModel, Is.EqualTo("Qwen/Qwen2.5-72B-Instruct-Turbo"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "call_x7qvm3r9pk1t0zq2b6w4n8sd", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"Tokyo, Japan\"}" } }));
            Assert.That(payload.PromptTokens, Is.EqualTo(214));
            Assert.That(payload.CompletionTokens, Is.EqualTo(22));
            Assert.That(payload.TotalTokens, Is.EqualTo(236));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        });
    }

    [Test]
    public async Task Together_invalid_key_is_a_failure_with_its_type_and_code()
    {
        // https://docs.together.ai/docs/error-codes
        var payload = await JsonAsync("together/error-401.json", "https://api.together.xyz/v1/chat/completions", System.Net.HttpStatusCode.Unauthorized);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("together_ai"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("invalid_request_error"));
            Assert.That(payload.Error.Code, Is.EqualTo("invalid_api_key"));
            Assert.That(payload.Error.Message, Does.StartWith("Invalid API key provided."));
        });
    }

    [Test]
    public async Task LmStudio_response_is_read_as_openai_compatible()
    {
        // https://lmstudio.ai/docs/app/api/endpoints/openai
        var payload = await JsonAsync("lmstudio/chat-response.json", "http://localhost:1234/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openai_compatible"));
            Assert.That(payload.ApiBase, Is.EqualTo("http://localhost:1234/v1"));
            Assert.That(payload.ResponseModel, Is.EqualTo("qwen2.5-7b-instruct"));
            Assert.That(payload.Response!.Text, Is.EqualTo("This is a test!"));
            Assert.That(payload.ToolCalls, Is.Null);
            Assert.That(payload.PromptTokens, Is.EqualTo(14));
            Assert.That(payload.CompletionTokens, Is.EqualTo(6));
            Assert.That(payload.TotalTokens, Is.EqualTo(20));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
        });
    }

    [Test]
    public async Task LmStudio_streamed_tool_call_is_assembled_from_its_argument_pieces()
    {
        // https://lmstudio.ai/docs/app/api/tools
        var payload = await StreamAsync("lmstudio/chat-stream-tool-calls.sse", "http://localhost:1234/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openai_compatible"));
            Assert.That(payload.ResponseModel, Is.EqualTo("qwen2.5-7b-instruct"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "365174485", Type = "function", Name = "get_delivery_date", Arguments = "{\"order_id\":\"123\"}" } }));
            Assert.That(payload.PromptTokens, Is.EqualTo(187));
            Assert.That(payload.CompletionTokens, Is.EqualTo(21));
            Assert.That(payload.TotalTokens, Is.EqualTo(208));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task LmStudio_without_a_loaded_model_is_a_failure_with_its_code()
    {
        // https://lmstudio.ai/docs/app/api/endpoints/openai
        var payload = await JsonAsync("lmstudio/error-model-not-loaded.json", "http://localhost:1234/v1/chat/completions", System.Net.HttpStatusCode.NotFound);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("invalid_request_error"));
            Assert.That(payload.Error.Code, Is.EqualTo("model_not_found"));
            Assert.That(payload.Error.Message, Does.StartWith("No models loaded."));
        });
    }

    [Test]
    public async Task Groq_response_reads_usage_beside_its_timings()
    {
        // https://console.groq.com/docs/api-reference#chat-create
        var payload = await JsonAsync("groq/chat-response.json", "https://api.groq.com/openai/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("groq"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://api.groq.com/openai/v1"));
            Assert.That(payload.ResponseModel, Is.EqualTo("llama-3.3-70b-versatile"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Fast language models matter because they make AI feel instant."));
            Assert.That(payload.PromptTokens, Is.EqualTo(18));
            Assert.That(payload.CompletionTokens, Is.EqualTo(12));
            Assert.That(payload.TotalTokens, Is.EqualTo(30));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
        });
    }

    [Test]
    public async Task Groq_streams_a_tool_call_whole_with_usage_in_x_groq()
    {
        // https://console.groq.com/docs/tool-use
        var payload = await StreamAsync("groq/chat-stream-tool-calls.sse", "https://api.groq.com/openai/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("groq"));
            Assert.That(payload.ResponseModel, Is.EqualTo("llama-3.3-70b-versatile"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "call_2m4n6p8q", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"New York, NY\"}" } }));
            Assert.That(payload.PromptTokens, Is.EqualTo(231));
            Assert.That(payload.CompletionTokens, Is.EqualTo(19));
            Assert.That(payload.TotalTokens, Is.EqualTo(250));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        });
    }

    [Test]
    public async Task Groq_rate_limit_maps_type_code_and_message()
    {
        // https://console.groq.com/docs/errors
        var payload = await JsonAsync("groq/error-429.json", "https://api.groq.com/openai/v1/chat/completions", System.Net.HttpStatusCode.TooManyRequests);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("groq"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("tokens"));
            Assert.That(payload.Error.Code, Is.EqualTo("rate_limit_exceeded"));
            Assert.That(payload.Error.Message, Does.StartWith("Rate limit reached for model `llama-3.3-70b-versatile`"));
        });
    }

    [Test]
    public async Task OpenRouter_tool_call_response_reads_the_call_and_cache_reads()
    {
        // https://openrouter.ai/docs/api/reference/overview
        var payload = await JsonAsync("openrouter/chat-response-tool-calls.json", "https://openrouter.ai/api/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openrouter"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://openrouter.ai/api/v1"));
            Assert.That(payload.ResponseModel, Is.EqualTo("openai/gpt-4o-mini"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "call_Qw8eRt5yUi2oPa4sDf6gHj1k", Type = "function", Name = "search_gutenberg_books", Arguments = "{\"search_terms\":[\"James\",\"Joyce\"]}" } }));
            Assert.That(payload.PromptTokens, Is.EqualTo(1310));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(1152));
            Assert.That(payload.CompletionTokens, Is.EqualTo(23));
            Assert.That(payload.TotalTokens, Is.EqualTo(1333));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(0));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        });
    }

    [Test]
    public async Task OpenRouter_rate_limit_maps_its_numeric_code_and_message()
    {
        // https://openrouter.ai/docs/api/reference/errors-and-debugging
        var payload = await JsonAsync("openrouter/error-429.json", "https://openrouter.ai/api/v1/chat/completions", System.Net.HttpStatusCode.TooManyRequests);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openrouter"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Code, Is.EqualTo("429"));
            Assert.That(payload.Error.Type, Is.EqualTo("rate_limit_error"));
            Assert.That(payload.Error.Message, Is.EqualTo("Provider returned error"));
            Assert.That(payload.Error.Body, Does.Contain("temporarily rate-limited upstream"));
        });
    }

    [Test]
    public async Task DeepSeek_tool_call_response_reads_the_call_and_cache_hits()
    {
        // https://api-docs.deepseek.com/guides/function_calling
        var payload = await JsonAsync("deepseek/chat-response-tool-calls.json", "https://api.deepseek.com/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("deepseek"));
            Assert.That(payload.ResponseModel, Is.EqualTo("deepseek-chat"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "call_0_8c2f6b1e-3d4a-4b5c-9e7f-0a1b2c3d4e5f", Type = "function", Name = "get_weather", Arguments = "{\"location\":\"Hangzhou\"}" } }));
            Assert.That(payload.PromptTokens, Is.EqualTo(236));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(192));
            Assert.That(payload.CompletionTokens, Is.EqualTo(19));
            Assert.That(payload.TotalTokens, Is.EqualTo(255));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        });
    }

    [Test]
    public async Task DeepSeek_insufficient_balance_maps_type_code_and_message()
    {
        // https://api-docs.deepseek.com/quick_start/error_codes
        var payload = await JsonAsync("deepseek/error-402.json", "https://api.deepseek.com/chat/completions", System.Net.HttpStatusCode.PaymentRequired);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("unknown_error"));
            Assert.That(payload.Error.Code, Is.EqualTo("invalid_request_error"));
            Assert.That(payload.Error.Message, Is.EqualTo("Insufficient Balance"));
        });
    }

    [Test]
    public async Task Mistral_tool_call_without_a_type_is_still_read()
    {
        // https://docs.mistral.ai/capabilities/function_calling
        var payload = await JsonAsync("mistral/chat-response-tool-calls.json", "https://api.mistral.ai/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("mistral"));
            Assert.That(payload.ResponseModel, Is.EqualTo("mistral-large-latest"));
            Assert.That(payload.ToolCalls, Has.Count.EqualTo(1));
            Assert.That(payload.ToolCalls![0].Id, Is.EqualTo("D681PevKs"));
            Assert.That(payload.ToolCalls[0].Name, Is.EqualTo("retrieve_payment_status"));
            Assert.That(payload.ToolCalls[0].Arguments, Is.EqualTo("{\"transaction_id\": \"T1001\"}"));
            Assert.That(payload.PromptTokens, Is.EqualTo(167));
            Assert.That(payload.CompletionTokens, Is.EqualTo(32));
            Assert.That(payload.TotalTokens, Is.EqualTo(199));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        });
    }

    [Test]
    public async Task Mistral_error_object_at_the_root_maps_type_code_and_message()
    {
        // https://docs.mistral.ai/resources/error-glossary
        var payload = await JsonAsync("mistral/error-400.json", "https://api.mistral.ai/v1/chat/completions", System.Net.HttpStatusCode.BadRequest);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Type, Is.EqualTo("invalid_request_error"));
            Assert.That(payload.Error.Code, Is.EqualTo("unknown_model"));
            Assert.That(payload.Error.Message, Is.EqualTo("Invalid model: mistral-huge-latest"));
        });
    }

    [Test]
    public async Task OpenRouter_error_event_inside_a_200_stream_fails_the_call_and_keeps_the_text_so_far()
    {
        // https://openrouter.ai/docs/api/reference/streaming
        var payload = await StreamAsync("openrouter/chat-stream-error.sse", "https://openrouter.ai/api/v1/chat/completions", chunkSize: 5);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openrouter"));
            Assert.That(payload.ResponseModel, Is.EqualTo("meta-llama/llama-3.3-70b-instruct"));
            Assert.That(payload.Response!.Text, Is.EqualTo("The tallest building"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Code, Is.EqualTo("server_error"));
            Assert.That(payload.Error.Message, Is.EqualTo("Provider disconnected unexpectedly"));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "error" }));
        });
    }

    [Test]
    public async Task Mistral_streams_a_tool_call_whole_on_the_finishing_chunk_with_usage()
    {
        // https://docs.mistral.ai/capabilities/function_calling
        var payload = await StreamAsync("mistral/chat-stream-tool-calls.sse", "https://api.mistral.ai/v1/chat/completions");
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("mistral"));
            Assert.That(payload.ResponseModel, Is.EqualTo("mistral-large-latest"));
            Assert.That(payload.ToolCalls, Has.Count.EqualTo(1));
            Assert.That(payload.ToolCalls![0].Id, Is.EqualTo("TCnI3Pv2r"));
            Assert.That(payload.ToolCalls[0].Name, Is.EqualTo("retrieve_payment_status"));
            Assert.That(payload.ToolCalls[0].Arguments, Is.EqualTo("{\"transaction_id\": \"T1001\"}"));
            Assert.That(payload.PromptTokens, Is.EqualTo(167));
            Assert.That(payload.CompletionTokens, Is.EqualTo(31));
            Assert.That(payload.TotalTokens, Is.EqualTo(198));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task Mistral_tool_call_type_is_what_the_body_says_on_both_paths()
    {
        var whole = await JsonAsync("mistral/chat-response-tool-calls.json", "https://api.mistral.ai/v1/chat/completions");
        var streamed = await StreamAsync("mistral/chat-stream-tool-calls.sse", "https://api.mistral.ai/v1/chat/completions");
        Assert.That(streamed.ToolCalls![0].Type, Is.EqualTo(whole.ToolCalls![0].Type));
    }
}
