using LlmObservability.Providers;

namespace LlmObservability.Tests.Providers;

/// <summary>Which requests the OpenAI family of adapters claims, and how it names them.</summary>
public class OpenAiFamilyDetectionTests
{
    private static ProviderRoute? Detect(string url, string method = "POST") => ProviderDetector.Detect(new HttpRequestMessage(new HttpMethod(method), url));

    [TestCase("https://api.openai.com/v1/responses", "openai", "responses", "https://api.openai.com/v1", "/responses")]
    [TestCase("https://api.openai.com/v1/embeddings", "openai", "embedding", "https://api.openai.com/v1", "/embeddings")]
    [TestCase("https://api.openai.com/v1/completions", "openai", "text_completion", "https://api.openai.com/v1", "/completions")]
    [TestCase("https://api.openai.com/v1/chat/completions", "openai", "chat_completion", "https://api.openai.com/v1", "/chat/completions")]
    [TestCase("https://openrouter.ai/api/v1/responses", "openrouter", "responses", "https://openrouter.ai/api/v1", "/responses")]
    [TestCase("https://api.groq.com/openai/v1/responses", "groq", "responses", "https://api.groq.com/openai/v1", "/responses")]
    [TestCase("https://api.deepseek.com/beta/completions", "deepseek", "text_completion", "https://api.deepseek.com/beta", "/completions")]
    [TestCase("https://api.mistral.ai/v1/fim/completions", "mistral", "text_completion", "https://api.mistral.ai/v1/fim", "/completions")]
    [TestCase("https://api.mistral.ai/v1/embeddings", "mistral", "embedding", "https://api.mistral.ai/v1", "/embeddings")]
    [TestCase("http://localhost:8000/v1/embeddings", "openai_compatible", "embedding", "http://localhost:8000/v1", "/embeddings")]
    [TestCase("http://localhost:11434/v1/completions", "openai_compatible", "text_completion", "http://localhost:11434/v1", "/completions")]
    [TestCase("https://generativelanguage.googleapis.com/v1beta/openai/embeddings", "openai_compatible", "embedding", "https://generativelanguage.googleapis.com/v1beta/openai", "/embeddings")]
    [TestCase("https://gateway.example.com/llm/v1/responses/", "openai_compatible", "responses", "https://gateway.example.com/llm/v1", "/responses")]
    public void OpenAi_endpoints_are_recognised(string url, string provider, string callType, string apiBase, string endpoint)
    {
        var route = Detect(url);
        Assert.That(route, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(route!.Provider, Is.EqualTo(provider));
            Assert.That(route.Adapter.CallType, Is.EqualTo(callType));
            Assert.That(route.ApiBase, Is.EqualTo(apiBase));
            Assert.That(route.Endpoint, Is.EqualTo(endpoint));
            Assert.That(route.Model, Is.Null);
        });
    }

    [TestCase("https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21", "chat_completion", "gpt4o-prod", "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod?api-version=2024-10-21", "/chat/completions")]
    [TestCase("https://contoso.openai.azure.com/openai/deployments/instruct/completions?api-version=2024-10-21", "text_completion", "instruct", "https://contoso.openai.azure.com/openai/deployments/instruct?api-version=2024-10-21", "/completions")]
    [TestCase("https://contoso.openai.azure.com/openai/deployments/embed%20small/embeddings?api-version=2024-10-21", "embedding", "embed small", "https://contoso.openai.azure.com/openai/deployments/embed%20small?api-version=2024-10-21", "/embeddings")]
    [TestCase("https://contoso.openai.azure.com/openai/deployments/o4-mini/responses?api-version=2025-04-01-preview", "responses", "o4-mini", "https://contoso.openai.azure.com/openai/deployments/o4-mini?api-version=2025-04-01-preview", "/responses")]
    [TestCase("https://apim.contoso.com/team-a/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21&api-key=secret", "chat_completion", "gpt4o", "https://apim.contoso.com/team-a/openai/deployments/gpt4o?api-version=2024-10-21&api-key=***", "/chat/completions")]
    [TestCase("http://127.0.0.1:5000/openai/deployments/d1/chat/completions?api-version=2024-10-21", "chat_completion", "d1", "http://127.0.0.1:5000/openai/deployments/d1?api-version=2024-10-21", "/chat/completions")]
    [TestCase("https://contoso.openai.azure.com/openai/v1/chat/completions", "chat_completion", null, "https://contoso.openai.azure.com/openai/v1", "/chat/completions")]
    [TestCase("https://contoso.cognitiveservices.azure.com/openai/v1/embeddings", "embedding", null, "https://contoso.cognitiveservices.azure.com/openai/v1", "/embeddings")]
    [TestCase("https://contoso.services.ai.azure.com/openai/v1/responses", "responses", null, "https://contoso.services.ai.azure.com/openai/v1", "/responses")]
    [TestCase("https://contoso.openai.azure.com/openai/responses?api-version=2025-04-01-preview", "responses", null, "https://contoso.openai.azure.com/openai?api-version=2025-04-01-preview", "/responses")]
    public void Azure_routes_are_azure_openai_with_the_deployment_as_the_url_model(string url, string callType, string? model, string apiBase, string endpoint)
    {
        var route = Detect(url);
        Assert.That(route, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(route!.Provider, Is.EqualTo("azure_openai"));
            Assert.That(route.Adapter, Is.InstanceOf<AzureOpenAiAdapter>());
            Assert.That(route.Adapter.CallType, Is.EqualTo(callType));
            Assert.That(route.Model, Is.EqualTo(model));
            Assert.That(route.ApiBase, Is.EqualTo(apiBase));
            Assert.That(route.Endpoint, Is.EqualTo(endpoint));
        });
    }

    [TestCase("https://api.groq.com/openai/v1/chat/completions", "groq")]
    [TestCase("https://example.com/openai/v1/embeddings", "openai_compatible")]
    public void The_openai_v1_path_is_azure_only_on_azure_hosts(string url, string provider) =>
        Assert.That(Detect(url)!.Provider, Is.EqualTo(provider));

    [TestCase("https://example.com/api/responses")]               // a common word: not on an unknown host without /v1
    [TestCase("https://example.com/embeddings")]
    [TestCase("https://example.com/completions")]
    [TestCase("https://api.openai.com/v1/responses/resp_123/cancel")]
    [TestCase("https://api.openai.com/v1/responses/input_tokens")]
    [TestCase("https://api.openai.com/v1/responses/compact")]
    [TestCase("https://api.openai.com/v1/embeddings/extra")]
    [TestCase("https://contoso.openai.azure.com/openai/deployments/gpt4o/images/generations")]
    [TestCase("https://contoso.openai.azure.com/openai/files")]
    public void Other_paths_are_not_claimed(string url) => Assert.That(Detect(url), Is.Null);

    [TestCase("https://contoso.openai.azure.com/openai/deployments/chat/completions")] // no deployment segment
    [TestCase("https://contoso.openai.azure.com/openai/deployments/a/b/chat/completions")]
    public void A_malformed_deployment_path_is_left_to_the_generic_chat_rule(string url)
    {
        var route = Detect(url);
        Assert.That(route!.Adapter, Is.InstanceOf<OpenAiChatAdapter>());
        Assert.That(route.Provider, Is.EqualTo("openai_compatible"));
    }

    [Test]
    public void Only_post_is_claimed() => Assert.That(Detect("https://api.openai.com/v1/responses/resp_123", "GET"), Is.Null);
}
