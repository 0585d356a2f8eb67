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
}
