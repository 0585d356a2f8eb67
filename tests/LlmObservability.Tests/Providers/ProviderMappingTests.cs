using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Providers;

/// <summary>Gateways and private deployments: a declared host speaks a provider's format, or is never recorded.</summary>
public class ProviderMappingTests
{
    private static StubHandler AnthropicResponse() => new((_, _) =>
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent("""{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":10,"output_tokens":2}}""", Encoding.UTF8, "application/json"),
        };
        return Task.FromResult(response);
    });

    private static HttpRequestMessage Post(string url, string body) => new(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    [Test]
    public async Task Without_a_mapping_an_Anthropic_gateway_without_Anthropic_headers_is_not_recognised()
    {
        await using var harness = new Harness(AnthropicResponse());
        using (await harness.Client.SendAsync(Post("https://llm-gateway.internal/claude/v1/messages", """{"model":"claude-sonnet-4-5","messages":[]}"""))) { }
        await harness.Dispatcher.FlushAsync();
        Assert.That(harness.Sink.Payloads, Is.Empty);
    }

    [Test]
    public async Task A_mapping_declares_the_gateway_Anthropic_and_names_the_provider()
    {
        var options = new LlmObservabilityOptions();
        options.ProviderMappings.Add(new LlmProviderMapping { Host = "*.internal", PathPrefix = "/claude/", Format = "anthropic", Provider = "claude-gateway" });
        await using var harness = new Harness(AnthropicResponse(), options);
        using (await harness.Client.SendAsync(Post("https://llm-gateway.internal/claude/v1/messages", """{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}"""))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Provider, Is.EqualTo("claude-gateway"));
        Assert.That(payload.CallType, Is.EqualTo("messages"));
        Assert.That(payload.ApiBase, Is.EqualTo("https://llm-gateway.internal/claude"));
        Assert.That(payload.PromptTokens, Is.EqualTo(10));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hi"));
    }

    [Test]
    public async Task An_Ollama_behind_a_proxy_on_another_port_is_recorded_when_mapped()
    {
        var ndjson = "{\"model\":\"llama3.2\",\"created_at\":\"2026-11-22T10:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":5,\"eval_count\":1}";
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(ndjson, Encoding.UTF8, "application/json") }));
        var options = new LlmObservabilityOptions();
        options.ProviderMappings.Add(new LlmProviderMapping { Host = "models.example.com", Format = "ollama" });
        await using var harness = new Harness(inner, options);
        using (await harness.Client.SendAsync(Post("https://models.example.com/api/chat", """{"model":"llama3.2","stream":false,"messages":[{"role":"user","content":"Hi"}]}"""))) { }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Provider, Is.EqualTo("ollama"));
        Assert.That(payload.CompletionTokens, Is.EqualTo(1));
    }

    [Test]
    public async Task Format_none_keeps_a_host_out_of_the_records_even_on_a_known_path()
    {
        var options = new LlmObservabilityOptions();
        options.ProviderMappings.Add(new LlmProviderMapping { Host = "api.openai.com", Format = "none" });
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), options);
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody())))
        {
            Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
        }
        await harness.Dispatcher.FlushAsync();
        Assert.That(harness.Sink.Payloads, Is.Empty);
    }

    [Test]
    public void A_mapping_with_an_unknown_format_or_no_host_and_no_path_is_rejected_with_its_position()
    {
        var options = new LlmObservabilityOptions();
        options.ProviderMappings.Add(new LlmProviderMapping { Host = "x", Format = "cohere" });
        options.ProviderMappings.Add(new LlmProviderMapping { Format = "openai" });
        var errors = options.GetValidationErrors();
        Assert.That(errors, Has.Some.Contains("ProviderMappings[0].Format 'cohere'"));
        Assert.That(errors, Has.Some.Contains("ProviderMappings[1] needs a Host or a PathPrefix"));
    }
}
