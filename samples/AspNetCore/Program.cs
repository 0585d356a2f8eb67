// An ASP.NET Core service with LlmObservability configured from appsettings.json. Sinks whose section is filled in
// are added: Langfuse (keys from LANGFUSE_PUBLIC_KEY / LANGFUSE_SECRET_KEY or the section), the generic HTTP sink
// (LlmObservability:Http:Url), S3 (LlmObservability:S3:BucketName); console and JSON-lines always.
//   dotnet run --project samples/AspNetCore      then      curl -X POST localhost:5000/chat -d 'Hello'
using System.ClientModel;
using System.ClientModel.Primitives;
using AspNetCoreSample;
using LlmObservability;
using LlmObservability.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using QuickStart;

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;

// The sinks, from the LlmObservability and Langfuse sections (see ObservabilitySetup.cs).
ObservabilitySetup.AddObservability(builder.Services, config);

// Without a configured endpoint the sample talks to an embedded OpenAI-compatible server, so it runs offline.
EmbeddedOpenAiServer? embedded = null;
var endpoint = config["OpenAI:Endpoint"];
if (string.IsNullOrEmpty(endpoint))
{
    embedded = await EmbeddedOpenAiServer.StartAsync();
    endpoint = embedded.BaseUrl + "/v1";
}

builder.Services.AddHttpClient("openai").AddLlmObservability();
builder.Services.AddSingleton(sp => new ChatClient(config["OpenAI:Model"] ?? "gpt-4o-mini", new ApiKeyCredential(config["OpenAI:ApiKey"] is { Length: > 0 } key ? key : "sk-sample"), new OpenAIClientOptions
{
    Endpoint = new Uri(endpoint),
    Transport = new HttpClientPipelineTransport(sp.GetRequiredService<IHttpClientFactory>().CreateClient("openai")),
}));

var app = builder.Build();

app.MapPost("/chat", async (HttpRequest request, ChatClient chat) =>
{
    var question = await new StreamReader(request.Body).ReadToEndAsync();
    // Per-request metadata reaches the record even though the SDK never shows us its HttpRequestMessage.
    using var scope = LlmObservabilityScope.Begin(userId: request.Headers["x-user-id"].FirstOrDefault(), tags: ["chat-endpoint"]);
    ChatCompletion answer = await chat.CompleteChatAsync([new UserChatMessage(string.IsNullOrWhiteSpace(question) ? "Hello" : question)]);
    return Results.Text(answer.Content[0].Text);
});

app.Lifetime.ApplicationStopped.Register(() => embedded?.DisposeAsync().AsTask().GetAwaiter().GetResult());
app.Run();
