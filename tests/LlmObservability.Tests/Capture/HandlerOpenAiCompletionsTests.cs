using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>OpenAI's legacy Completions API (and the FIM endpoints shaped like it) through the handler.</summary>
public class HandlerOpenAiCompletionsTests
{
    private const string Url = "https://api.openai.com/v1/completions";

    [Test]
    public async Task A_whole_text_completion_is_recorded()
    {
        await using var harness = new Harness(StubHandler.Json("openai/completions-response.json"));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, Fixture.Text("openai/completions-request.json")));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("text_completion"));
            Assert.That(payload.Provider, Is.EqualTo("openai"));
            Assert.That(payload.Endpoint, Is.EqualTo("/completions"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-3.5-turbo-instruct"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-3.5-turbo-instruct"));
            Assert.That(payload.Messages!.Single().Content, Is.EqualTo("Write a tagline for an ice cream shop."));
            Assert.That(payload.Messages!.Single().Role, Is.EqualTo("user"));
            Assert.That(payload.ModelParameters!["max_tokens"].GetInt32(), Is.EqualTo(16));
            Assert.That(payload.ModelParameters["temperature"].GetDouble(), Is.EqualTo(0.4));
            Assert.That(payload.ModelParameters["stop"][0].GetString(), Is.EqualTo("\n\n"));
            Assert.That(payload.ModelParameters.ContainsKey("prompt"), Is.False);
            Assert.That(payload.ModelParameters.ContainsKey("logprobs"), Is.False, "null parameters are left out");
            Assert.That(payload.Response!.Text, Is.EqualTo("\n\nScoops of happiness in every cone."));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.PromptTokens, Is.EqualTo(10));
            Assert.That(payload.CompletionTokens, Is.EqualTo(9));
            Assert.That(payload.TotalTokens, Is.EqualTo(19));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_streamed_text_completion_assembles_text_and_usage_with_ttft_at_the_first_text()
    {
        Harness? h = null;
        var events = StubHandler.SseEvents("openai/completions-stream.sse");
        await using var harness = h = new Harness(StubHandler.TimedSse(() => h!.Time, events));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[\"Tagline:\",\"Another:\"],\"stream\":true,\"stream_options\":{\"include_usage\":true}}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo("\n\nScoops of happiness in every cone."));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.CompletionTokens, Is.EqualTo(9));
            Assert.That(payload.TotalTokens, Is.EqualTo(19));
            Assert.That(payload.TtftMs, Is.EqualTo(30), "the first chunk already carries text");
            Assert.That(payload.Messages!.Select(m => m.Content), Is.EqualTo(new[] { "Tagline:", "Another:" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_fill_in_the_middle_request_records_prompt_and_suffix_and_reads_chat_shaped_answers()
    {
        const string answer = """{"id":"447e3e0d457e42e98248b5d2ef52a2a3","object":"chat.completion","model":"codestral-2405","usage":{"prompt_tokens":8,"completion_tokens":91,"total_tokens":99},"created":1759496862,"choices":[{"index":0,"message":{"content":"add(a, b):\n    return a + b","tool_calls":null,"prefix":false,"role":"assistant"},"finish_reason":"stop"}]}""";
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent(answer, System.Text.Encoding.UTF8, "application/json") }));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.Post("https://api.mistral.ai/v1/fim/completions", "{\"model\":\"codestral-latest\",\"prompt\":\"def \",\"suffix\":\"return a+b\"}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Provider, Is.EqualTo("mistral"));
        Assert.That(payload.CallType, Is.EqualTo("text_completion"));
        Assert.That(payload.Messages!.Select(m => (m.Name, m.Content)), Is.EqualTo(new[] { ((string?)null, "def "), ("suffix", "return a+b") }));
        Assert.That(payload.Response!.Text, Is.EqualTo("add(a, b):\n    return a + b"));
        Assert.That(payload.CompletionTokens, Is.EqualTo(91));
    }

    [Test]
    public async Task Token_prompts_are_counted_never_listed()
    {
        await using var harness = new Harness(StubHandler.Json("openai/completions-response.json"));
        using var response = await harness.Client.SendAsync(Harness.Post(Url, "{\"model\":\"gpt-3.5-turbo-instruct\",\"prompt\":[1212,318,257,1332]}"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Messages!.Single().Content, Is.EqualTo("[4 tokens]"));
    }
}
