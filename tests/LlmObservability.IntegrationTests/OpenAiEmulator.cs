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
/// A real Kestrel server on 127.0.0.1 (port 0) that speaks OpenAI's wire formats from the shared fixtures: Chat
/// Completions, Responses, Embeddings (vectors made up per input, float or base64 as asked) and Azure OpenAI's
/// deployment route for chat. A test can replace the behaviour for its own calls with <see cref="Respond"/>.
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
        app.MapPost("/v1/responses", context => emulator.HandleRouteAsync(context, RespondResponsesAsync));
        app.MapPost("/v1/embeddings", context => emulator.HandleRouteAsync(context, RespondEmbeddingsAsync));
        app.MapPost("/openai/deployments/{deployment}/chat/completions", context => emulator.HandleRouteAsync(context, RespondAzureChatAsync));
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

    /// <summary>Records the request and answers it with <paramref name="respond"/> unless a test took over with <see cref="Respond"/>.</summary>
    private async Task HandleRouteAsync(HttpContext context, Func<HttpContext, JsonElement, Task> respond)
    {
        using var document = await JsonDocument.ParseAsync(context.Request.Body);
        var request = document.RootElement.Clone();
        lock (Requests) Requests.Add(request);
        context.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers["x-ratelimit-remaining-requests"] = "9999";
        await (_override ?? respond)(context, request);
    }

    private static Task RespondResponsesAsync(HttpContext context, JsonElement request)
    {
        var stream = request.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var tools = request.TryGetProperty("tools", out _);
        return stream
            ? WriteSseAsync(context, Fixture(tools ? "openai/responses-stream-tool-calls.sse" : "openai/responses-stream.sse"))
            : WriteJsonAsync(context, 200, Fixture(tools ? "openai/responses-response-tool-calls.json" : "openai/responses-response.json"));
    }

    /// <summary>One made-up vector per input (<c>dimensions</c> long, 8 by default), as floats or base64 as the request asks.</summary>
    private static Task RespondEmbeddingsAsync(HttpContext context, JsonElement request)
    {
        var input = request.GetProperty("input");
        var count = input.ValueKind == JsonValueKind.Array && input.GetArrayLength() > 0 && input[0].ValueKind != JsonValueKind.Number ? input.GetArrayLength() : 1;
        var dimensions = request.TryGetProperty("dimensions", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : 8;
        var base64 = request.TryGetProperty("encoding_format", out var f) && f.GetString() == "base64";
        var random = new Random(count);
        var body = new StringBuilder("{\n  \"object\": \"list\",\n  \"data\": [\n");
        for (var i = 0; i < count; i++)
        {
            var vector = new float[dimensions];
            for (var j = 0; j < dimensions; j++) vector[j] = (float)(random.NextDouble() - 0.5);
            body.Append(i == 0 ? "" : ",\n").Append("    {\"object\": \"embedding\", \"index\": ").Append(i).Append(", \"embedding\": ");
            if (base64) body.Append('"').Append(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()))).Append('"');
            else body.Append('[').AppendJoin(", ", vector.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))).Append(']');
            body.Append('}');
        }
        body.Append("\n  ],\n  \"model\": \"text-embedding-3-small\",\n  \"usage\": {\"prompt_tokens\": ").Append(count * 5).Append(", \"total_tokens\": ").Append(count * 5).Append("}\n}\n");
        return WriteJsonAsync(context, 200, body.ToString());
    }

    /// <summary>Azure's deployment route: requires <c>api-key</c> and <c>api-version</c> as Azure does, answers with Azure-shaped bodies.</summary>
    private static Task RespondAzureChatAsync(HttpContext context, JsonElement request)
    {
        if (!context.Request.Headers.ContainsKey("api-key")) return WriteJsonAsync(context, 401, """{"error":{"code":"401","message":"Access denied due to missing subscription key."}}""");
        if (string.IsNullOrEmpty(context.Request.Query["api-version"])) return WriteJsonAsync(context, 404, """{"error":{"code":"404","message":"Resource not found"}}""");
        context.Response.Headers["apim-request-id"] = Guid.NewGuid().ToString();
        context.Response.Headers.Remove("x-request-id");
        var stream = request.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        return stream ? WriteSseAsync(context, Fixture("azure_openai/chat-stream.sse")) : WriteJsonAsync(context, 200, Fixture("azure_openai/chat-response.json"));
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
