using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port 0) that speaks the OpenAI Chat Completions wire format from the shared
/// fixtures. A test can replace the behaviour for its own calls with <see cref="Respond"/>.
/// </summary>
internal sealed class OpenAiEmulator : IAsyncDisposable
{
    private readonly WebApplication _app;
    private Func<HttpContext, JsonElement, Task>? _override;

    private OpenAiEmulator(WebApplication app) => _app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>The OpenAI SDK endpoint (the base URL plus <c>/v1</c>).</summary>
    public Uri OpenAiEndpoint => new(BaseUrl + "/v1");

    public List<JsonElement> Requests { get; } = [];

    public static async Task<OpenAiEmulator> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var emulator = new OpenAiEmulator(app);
        app.MapPost("/v1/chat/completions", emulator.HandleAsync);
        await app.StartAsync();
        emulator.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return emulator;
    }

    public void Respond(Func<HttpContext, JsonElement, Task> handler) => _override = handler;

    private async Task HandleAsync(HttpContext context)
    {
        using var document = await JsonDocument.ParseAsync(context.Request.Body);
        var request = document.RootElement.Clone();
        lock (Requests) Requests.Add(request);
        context.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers["x-ratelimit-remaining-requests"] = "9999";
        if (_override is not null)
        {
            await _override(context, request);
            return;
        }
        var stream = request.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var tools = request.TryGetProperty("tools", out _);
        if (stream) await WriteSseAsync(context, Fixture(tools ? "openai/chat-stream-tool-calls.sse" : "openai/chat-stream.sse"));
        else await WriteJsonAsync(context, 200, Fixture(tools ? "openai/chat-response-tool-calls.json" : "openai/chat-response.json"));
    }

    public static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    public static async Task WriteJsonAsync(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json);
    }

    /// <summary>Writes each SSE event and flushes it, as a provider does.</summary>
    public static async Task WriteSseAsync(HttpContext context, string sse, Func<int, Task>? beforeEvent = null)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var events = sse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < events.Length; i++)
        {
            if (beforeEvent is not null) await beforeEvent(i);
            await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(events[i] + "\n\n"));
            await context.Response.Body.FlushAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
