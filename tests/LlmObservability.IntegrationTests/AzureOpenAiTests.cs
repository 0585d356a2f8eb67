using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text;
using LlmObservability.Payload;
using OpenAI;
using OpenAI.Chat;

namespace LlmObservability.IntegrationTests;

/// <summary>Azure OpenAI's deployment route on the emulator: raw HttpClient and the OpenAI SDK pointed at a deployment.</summary>
public class AzureOpenAiTests : EmulatorFixture
{
    private string DeploymentUrl => Server.BaseUrl + "/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21";

    private HttpRequestMessage AzureRequest(object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, DeploymentUrl) { Content = JsonContent.Create(body) };
        request.Headers.Add("api-key", "0123456789abcdef0123456789abcdef");
        return request;
    }

    [Test]
    public async Task A_plain_call_on_a_deployment_is_recorded_as_azure_openai()
    {
        using var response = await Http.SendAsync(AzureRequest(new { messages = new[] { new { role = "user", content = "Hi" } }, temperature = 0.2 }));
        var body = await response.Content.ReadAsStringAsync();
        var payload = await SinglePayloadAsync();

        Assert.That(response.IsSuccessStatusCode, Is.True, body);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("azure_openai"));
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.ApiBase, Is.EqualTo(Server.BaseUrl + "/openai/deployments/gpt4o-prod?api-version=2024-10-21"));
            Assert.That(payload.Endpoint, Is.EqualTo("/chat/completions"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt4o-prod"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-2024-11-20"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help you today?"));
            Assert.That(payload.TotalTokens, Is.EqualTo(28));
            Assert.That(payload.RequestId, Is.EqualTo(response.Headers.GetValues("apim-request-id").Single()));
            Assert.That(payload.ApiKey!.Prefix, Is.EqualTo("01234567"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_streamed_call_on_a_deployment_assembles_text_and_usage()
    {
        using var response = await Http.SendAsync(AzureRequest(new { messages = new[] { new { role = "user", content = "Hi" } }, stream = true, stream_options = new { include_usage = true } }), HttpCompletionOption.ResponseHeadersRead);
        var sse = await response.Content.ReadAsStringAsync();
        var payload = await SinglePayloadAsync();

        Assert.That(sse, Does.Contain("prompt_filter_results"));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help you today?"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-2024-11-20"));
            Assert.That(payload.CompletionTokens, Is.EqualTo(9));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    /// <summary>Adds what Azure asks for: the api-version query and the api-key header (instead of a bearer token).</summary>
    private sealed class AzurePolicy : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Prepare(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Prepare(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private static void Prepare(PipelineMessage message)
        {
            message.Request.Uri = new Uri(message.Request.Uri + "?api-version=2024-10-21");
            message.Request.Headers.Remove("Authorization");
            message.Request.Headers.Set("api-key", "0123456789abcdef0123456789abcdef");
        }
    }

    [Test]
    public async Task The_OpenAI_SDK_pointed_at_a_deployment_is_recorded_as_azure_openai()
    {
        var options = SdkOptions(new OpenAIClientOptions(), "/openai/deployments/gpt4o-prod");
        options.AddPolicy(new AzurePolicy(), PipelinePosition.BeforeTransport);
        var client = new ChatClient("gpt4o-prod", new ApiKeyCredential("unused"), options);

        var text = new StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hi")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
        }
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("azure_openai"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt4o-prod"));
            Assert.That(payload.Response!.Text, Is.EqualTo(text.ToString()).And.EqualTo("Hello! How can I help you today?"));
            Assert.That(payload.ResponseModel, Is.EqualTo("gpt-4o-2024-11-20"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }
}
