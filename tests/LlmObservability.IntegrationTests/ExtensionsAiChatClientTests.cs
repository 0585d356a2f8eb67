using System.ClientModel;
using LlmObservability.Payload;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AiChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AiChatRole = Microsoft.Extensions.AI.ChatRole;

namespace LlmObservability.IntegrationTests;

/// <summary>Microsoft.Extensions.AI's <see cref="IChatClient"/> over the OpenAI SDK, through the handler, against the emulator.</summary>
public class ExtensionsAiChatClientTests : EmulatorFixture
{
    private IChatClient Client() => new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-test-1234567890abcdef"), SdkOptions(new OpenAIClientOptions())).AsIChatClient();

    [Test]
    public async Task A_plain_chat_response_is_recorded_with_what_IChatClient_returned()
    {
        using var client = Client();
        var response = await client.GetResponseAsync([new AiChatMessage(AiChatRole.System, "Be brief."), new AiChatMessage(AiChatRole.User, "Say hello")], new ChatOptions { Temperature = 0.3f, MaxOutputTokens = 50 });
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.Response!.Text, Is.EqualTo(response.Text));
            Assert.That(payload.ResponseModel, Is.EqualTo(response.ModelId));
            Assert.That(payload.PromptTokens, Is.EqualTo(response.Usage!.InputTokenCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(response.Usage.OutputTokenCount));
            Assert.That(payload.TotalTokens, Is.EqualTo(response.Usage.TotalTokenCount));
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "Be brief."), ("user", "Say hello") }));
            Assert.That(payload.ModelParameters!["temperature"].GetDouble(), Is.EqualTo(0.3).Within(1e-6));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task A_streamed_chat_response_assembles_the_same_text_and_usage()
    {
        using var client = Client();
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new AiChatMessage(AiChatRole.User, "Say hello")])) updates.Add(update);
        var response = updates.ToChatResponse();
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo(response.Text).And.EqualTo("Hello! How can I help?"));
            Assert.That(response.Usage, Is.Not.Null, "the SDK asked for usage in the stream");
            Assert.That(payload.PromptTokens, Is.EqualTo(response.Usage!.InputTokenCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(response.Usage.OutputTokenCount));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
    }
}
