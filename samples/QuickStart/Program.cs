// LlmObservability QuickStart: runs offline against an embedded OpenAI-compatible server on 127.0.0.1.
//   dotnet run --project samples/QuickStart
using System.ClientModel;
using System.ClientModel.Primitives;
using LlmObservability;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenAI;
using OpenAI.Chat;
using QuickStart;

await using var server = await EmbeddedOpenAiServer.StartAsync();
var logDirectory = Path.Combine(Directory.GetCurrentDirectory(), "llm-logs");

var builder = Host.CreateApplicationBuilder(args);
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
builder.Logging.AddFilter("Microsoft", LogLevel.Warning).AddFilter("System.Net.Http", LogLevel.Warning);

// The one line (plus the sinks you want):
builder.Services.AddLlmObservability(o => o.ServiceName = "quickstart")
    .AddConsoleSink()
    .AddJsonLinesFileSink(logDirectory);

// Attach the handler to the HttpClient the OpenAI SDK will use.
builder.Services.AddHttpClient("openai").AddLlmObservability();
builder.Services.AddSingleton(sp => new ChatClient("gpt-4o-mini", new ApiKeyCredential("sk-quickstart-not-a-real-key"), new OpenAIClientOptions
{
    Endpoint = new Uri(server.BaseUrl + "/v1"),
    Transport = new HttpClientPipelineTransport(sp.GetRequiredService<IHttpClientFactory>().CreateClient("openai")),
    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
}));

using var host = builder.Build();
await host.StartAsync();
var chat = host.Services.GetRequiredService<ChatClient>();
var dispatcher = host.Services.GetRequiredService<LlmLogDispatcher>();

Console.WriteLine($"Embedded OpenAI-compatible server: {server.BaseUrl}");

using (LlmObservabilityScope.Begin(userId: "u-42", sessionId: "s-7", tags: ["quickstart"]))
{
    // 1. A plain call.
    ChatCompletion plain = await chat.CompleteChatAsync([new UserChatMessage("What is observability?")]);
    Console.WriteLine($"plain     → {plain.Content[0].Text}");
    await dispatcher.FlushAsync(); // only so that the sample's own lines and the log lines alternate

    // 2. A streaming call: the handler forwards each chunk as it arrives and stamps the first one (TTFT).
    Console.Write("streaming → ");
    await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Stream me an answer, please.")]))
    {
        foreach (var part in update.ContentUpdate) Console.Write(part.Text);
    }
    Console.WriteLine();
    await dispatcher.FlushAsync();

    // 3. A call the provider rejects with 429: the SDK throws as usual, and the failure is recorded.
    try
    {
        await chat.CompleteChatAsync([new UserChatMessage("Please answer with HTTP 429.")]);
    }
    catch (ClientResultException ex)
    {
        Console.WriteLine($"429       → the SDK threw ClientResultException (status {ex.Status}), as it would without the handler");
    }
    await dispatcher.FlushAsync();

    // 4. A prompt with an email address in it.
    ChatCompletion withEmail = await chat.CompleteChatAsync([new UserChatMessage("Email the summary to jane.doe@example.com, please.")]);
    Console.WriteLine($"email     → {withEmail.Content[0].Text}");
}

// Stopping the host flushes every queued record to the sinks.
await host.StopAsync();

var files = Directory.Exists(logDirectory) ? Directory.GetFiles(logDirectory, "*.jsonl") : [];
Console.WriteLine();
Console.WriteLine($"JSON-lines log: {string.Join(", ", files)}");
Console.WriteLine("Each line is one call's StandardLoggingPayload (schema version 1). The email call, as logged:");
var emailCall = files.SelectMany(File.ReadLines).Select(line => LlmObservability.Payload.LlmPayloadJson.Deserialize(line)!)
    .LastOrDefault(p => p.Messages?.Any(m => m.Content?.Contains("summary", StringComparison.Ordinal) == true) == true);
if (emailCall is not null)
{
    Console.WriteLine($"  messages[0].content = \"{emailCall.Messages![0].Content}\"   redaction.entities = {string.Join(", ", emailCall.Redaction!.Entities!.Select(e => $"{e.Key}: {e.Value}"))}");
}
