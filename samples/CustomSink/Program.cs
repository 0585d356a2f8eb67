// A custom sink in a few lines, registered next to the built-in ones, fed only what it asks for.
//   dotnet run --project samples/CustomSink
using System.ClientModel;
using System.ClientModel.Primitives;
using CustomSink;
using LlmObservability.DependencyInjection;
using LlmObservability.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using QuickStart;

await using var server = await EmbeddedOpenAiServer.StartAsync();
var csv = Path.Combine(Directory.GetCurrentDirectory(), "llm-costs.csv");
File.Delete(csv);

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Services.AddLlmObservability(o => o.ServiceName = "custom-sink-sample")
    .AddSink(new CsvCostSink(csv), s => s.Events = LlmLogEvents.Success); // only successful calls have a cost worth a line
builder.Services.AddHttpClient("openai").AddLlmObservability();
builder.Services.AddSingleton(sp => new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-sample"), new OpenAIClientOptions
{
    Endpoint = new Uri(server.BaseUrl + "/v1"),
    Transport = new HttpClientPipelineTransport(sp.GetRequiredService<IHttpClientFactory>().CreateClient("openai")),
    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
}));

using var host = builder.Build();
await host.StartAsync();
var chat = host.Services.GetRequiredService<ChatClient>();
foreach (var question in new[] { "What is a sink?", "Why batch writes?", "Please answer with HTTP 429." })
{
    try
    {
        await chat.CompleteChatAsync([new UserChatMessage(question)]);
    }
    catch (ClientResultException ex)
    {
        Console.WriteLine($"(a failed call, status {ex.Status}: the CSV sink asked for successes only)");
    }
}
await host.StopAsync(); // flushes every sink

Console.WriteLine($"CSV written to {csv}:");
Console.WriteLine(await File.ReadAllTextAsync(csv));
