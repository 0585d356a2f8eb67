using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>Azure OpenAI through the handler: Azure's routes and headers, OpenAI's bodies read by the OpenAI adapters.</summary>
public class HandlerAzureOpenAiTests
{
    private const string ChatUrl = "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21";

    private static HttpRequestMessage AzureRequest(string url, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("api-key", "0123456789abcdef0123456789abcdef");
        return request;
    }

    [Test]
    public async Task A_deployment_route_names_the_requested_model_and_the_response_names_the_served_one()
    {
        var inner = StubHandler.Json("azure_openai/chat-response.json", configure: r =>
        {
            r.Headers.Add("apim-request-id", "2d2a1e5c-7b4f-4c1a-9a57-0c4b1f8e9d21");
            r.Headers.Add("x-ratelimit-remaining-tokens", "79000");
            r.Headers.Add("x-ms-region", "Sweden Central");
        });
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(AzureRequest(ChatUrl, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"temperature\":0.2}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("azure_openai"));
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://contoso.openai.azure.com/openai/deployments/gpt4o-prod?api-version=2024-10-21"));
            Assert.That(payload.Endpoint, Is.EqualTo("/chat/completions"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt4o-prod"), "the deployment, since the body names no model");
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-2024-11-20"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help you today?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(18));
            Assert.That(payload.CompletionTokens, Is.EqualTo(10));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.RequestId, Is.EqualTo("2d2a1e5c-7b4f-4c1a-9a57-0c4b1f8e9d21"));
            Assert.That(payload.RateLimit!["x-ratelimit-remaining-tokens"], Is.EqualTo("79000"));
            Assert.That(payload.ApiKey!.Prefix, Is.EqualTo("01234567"), "the api-key header is described, never logged");
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_model_in_the_body_wins_over_the_deployment()
    {
        await using var harness = new Harness(StubHandler.Json("azure_openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(AzureRequest(ChatUrl, "{\"model\":\"gpt-4o\",\"messages\":[]}"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o"));
    }

    [Test]
    public async Task An_azure_stream_skips_the_empty_filter_chunk_and_measures_ttft_at_the_first_text()
    {
        Harness? h = null;
        var events = StubHandler.SseEvents("azure_openai/chat-stream.sse");
        await using var harness = h = new Harness(StubHandler.TimedSse(() => h!.Time, events));
        using var response = await harness.Client.SendAsync(AzureRequest(ChatUrl, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true}}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-2024-11-20"), "not the \"\" of the prompt-filter chunk");
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help you today?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(18));
            Assert.That(payload.CompletionTokens, Is.EqualTo(9));
            Assert.That(payload.TotalTokens, Is.EqualTo(27));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            // filter chunk +30, role chunk +40, "Hello" +50.
            Assert.That(payload.TtftMs, Is.EqualTo(50));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_content_filter_refusal_names_the_policy()
    {
        await using var harness = new Harness(StubHandler.Json("azure_openai/error-content-filter.json", HttpStatusCode.BadRequest));
        using var response = await harness.Client.SendAsync(AzureRequest(ChatUrl, "{\"messages\":[]}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
            Assert.That(payload.Error!.Code, Is.EqualTo("content_filter"));
            Assert.That(payload.Error.Type, Is.EqualTo("ResponsibleAIPolicyViolation"));
            Assert.That(payload.Error.Message, Does.StartWith("The response was filtered"));
        });
    }

    [Test]
    public async Task A_rate_limit_is_parsed_with_its_numeric_code()
    {
        await using var harness = new Harness(StubHandler.Json("azure_openai/error-429.json", HttpStatusCode.TooManyRequests, r => r.Headers.Add("retry-after", "6")));
        using var response = await harness.Client.SendAsync(AzureRequest(ChatUrl, "{\"messages\":[]}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Error!.Code, Is.EqualTo("429"));
        Assert.That(payload.Error.Type, Is.EqualTo("rate_limit_error"));
        Assert.That(payload.RateLimit!["retry-after"], Is.EqualTo("6"));
    }

    [Test]
    public async Task Embeddings_on_a_deployment_are_skimmed_like_openais()
    {
        var inner = new StubHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new ChunkedStream(StubHandler.Split(Fixture.Bytes("openai/embeddings-response.json"), 5))) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return Task.FromResult(response);
        });
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(AzureRequest("https://contoso.openai.azure.com/openai/deployments/embed-small/embeddings?api-version=2024-10-21", "{\"input\":[\"a\",\"b\"]}"));
        await response.Content.ReadAsByteArrayAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("embedding"));
            Assert.That(payload.Provider, Is.EqualTo("azure_openai"));
            Assert.That(payload.RequestedModel, Is.EqualTo("embed-small"));
            Assert.That(payload.ResponseModel, Is.EqualTo("text-embedding-3-small"));
            Assert.That(payload.PromptTokens, Is.EqualTo(18));
            Assert.That(payload.Response!.Text, Is.EqualTo("[2 embeddings]"));
        });
    }

    [TestCase("https://contoso.cognitiveservices.azure.com/openai/v1/responses")]
    [TestCase("https://contoso.openai.azure.com/openai/responses?api-version=2025-04-01-preview")]
    [TestCase("https://contoso.services.ai.azure.com/openai/deployments/o4-mini/responses?api-version=2025-04-01-preview")]
    public async Task Responses_routes_are_read_by_the_responses_adapter(string url)
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/responses-stream.sse")));
        using var response = await harness.Client.SendAsync(AzureRequest(url, "{\"model\":\"o4-mini\",\"input\":\"Plan a day in Paris.\",\"stream\":true}"));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("azure_openai"));
            Assert.That(payload.CallType, Is.EqualTo("responses"));
            Assert.That(payload.Endpoint, Is.EqualTo("/responses"));
            Assert.That(payload.RequestedModel, Is.EqualTo("o4-mini"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Start at the Louvre, then walk along the Seine to Notre-Dame."));
            Assert.That(payload.TotalTokens, Is.EqualTo(48));
        });
    }

    [Test]
    public async Task Legacy_completions_on_a_deployment_are_text_completions()
    {
        await using var harness = new Harness(StubHandler.Json("openai/completions-response.json"));
        using var response = await harness.Client.SendAsync(AzureRequest("https://contoso.openai.azure.com/openai/deployments/instruct/completions?api-version=2024-10-21", "{\"prompt\":\"Tagline:\"}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.CallType, Is.EqualTo("text_completion"));
        Assert.That(payload.RequestedModel, Is.EqualTo("instruct"));
        Assert.That(payload.Response!.Text, Is.EqualTo("\n\nScoops of happiness in every cone."));
    }

    [Test]
    public async Task A_tool_call_response_keeps_the_call_and_its_filter_results_do_not_get_in_the_way()
    {
        // https://learn.microsoft.com/azure/ai-foundry/openai/how-to/function-calling
        await using var harness = new Harness(StubHandler.Json("azure_openai/chat-response-tool-calls.json"));
        using var response = await harness.Client.SendAsync(AzureRequest(ChatUrl, "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Seattle?\"}],\"tools\":[]}"));
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("azure_openai"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt4o-prod"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-2024-11-20"));
            Assert.That(payload.ToolCalls, Is.EqualTo(new[] { new LlmToolCall { Id = "call_9pWq2mZx4Lk7Rt1Vb3Nc6Hd8", Type = "function", Name = "get_current_weather", Arguments = "{\"location\":\"Seattle, WA\",\"unit\":\"celsius\"}" } }));
            Assert.That(payload.PromptTokens, Is.EqualTo(88));
            Assert.That(payload.CompletionTokens, Is.EqualTo(21));
            Assert.That(payload.TotalTokens, Is.EqualTo(109));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(0));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(0));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }
}
