using System.ClientModel;
using System.ClientModel.Primitives;
using LlmObservability.DependencyInjection;
using LlmObservability.Payload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenAI;
using OpenAI.Chat;

namespace LlmObservability.IntegrationTests;

/// <summary>The one-line set-up in a real host: calls through IHttpClientFactory end up in the JSON-lines file on shutdown.</summary>
public class HostedJsonLinesTests
{
    [Test]
    public async Task Calls_made_in_a_host_are_in_the_jsonl_file_after_the_host_stops()
    {
        await using var server = await OpenAiEmulator.StartAsync();
        var directory = Directory.CreateTempSubdirectory("llmobs-host-").FullName;
        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Services.AddLlmObservability(o => o.ServiceName = "checkout-api")
                .AddJsonLinesFileSink(directory, s => s.BatchInterval = TimeSpan.FromHours(1)); // only shutdown can flush it
            builder.Services.AddHttpClient("openai").AddLlmObservability();
            builder.Services.AddSingleton(sp => new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-test"), new OpenAIClientOptions
            {
                Endpoint = server.OpenAiEndpoint,
                Transport = new HttpClientPipelineTransport(sp.GetRequiredService<IHttpClientFactory>().CreateClient("openai")),
            }));
            using var host = builder.Build();
            await host.StartAsync();

            var chat = host.Services.GetRequiredService<ChatClient>();
            using (LlmObservabilityScope.Begin(userId: "u-42", sessionId: "s-7", tags: ["checkout"]))
            {
                await chat.CompleteChatAsync([new UserChatMessage("one")]);
                await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("two")])) { }
            }
            await host.StopAsync();

            var lines = Directory.GetFiles(directory, "*.jsonl").SelectMany(File.ReadAllLines).ToArray();
            var payloads = lines.Select(l => LlmPayloadJson.Deserialize(l)!).ToArray();
            Assert.That(payloads, Has.Length.EqualTo(2));
            Assert.That(payloads.Select(p => p.Stream), Is.EquivalentTo(new[] { false, true }));
            Assert.That(payloads, Has.All.Matches<StandardLoggingPayload>(p => p.ServiceName == "checkout-api" && p.Metadata!.UserId == "u-42" && p.Status == LlmCallStatus.Success));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
