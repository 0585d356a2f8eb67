using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port 0) that speaks the Anthropic Messages wire format (<c>POST /v1/messages</c>)
/// from the shared fixtures in <c>Fixtures/anthropic/</c>: a whole message or an SSE stream, with or without tool use,
/// depending on the request's <c>stream</c> and <c>tools</c>. A test can replace the behaviour with <see cref="Respond"/>.
/// </summary>
internal sealed class AnthropicEmulator : KestrelEmulator
{
    private Func<HttpContext, JsonElement, Task>? _override;

    /// <summary>The request headers received, in order (names lower-cased).</summary>
    public List<Dictionary<string, string>> RequestHeaders { get; } = [];

    /// <summary>Starts a server; <see cref="KestrelEmulator.BaseUrl"/> (its root) is what the Anthropic SDK takes as its base URL.</summary>
    public static async Task<AnthropicEmulator> StartNewAsync()
    {
        var emulator = new AnthropicEmulator();
        await emulator.StartAsync();
        return emulator;
    }

    protected override void Map(WebApplication app) => app.MapPost("/v1/messages", HandleAsync);

    public void Respond(Func<HttpContext, JsonElement, Task> handler) => _override = handler;

    private async Task HandleAsync(HttpContext context)
    {
        var request = await ReadRequestAsync(context);
        lock (RequestHeaders) RequestHeaders.Add(context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()));
        context.Response.Headers["request-id"] = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers["anthropic-ratelimit-requests-remaining"] = "49";
        context.Response.Headers["anthropic-ratelimit-tokens-remaining"] = "79000";
        if (_override is not null)
        {
            await _override(context, request);
            return;
        }
        var stream = request.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var tools = request.TryGetProperty("tools", out _);
        if (stream) await OpenAiEmulator.WriteSseAsync(context, Fixture(tools ? "anthropic/messages-stream-tool-use.sse" : "anthropic/messages-stream.sse"));
        else await OpenAiEmulator.WriteJsonAsync(context, 200, Fixture(tools ? "anthropic/messages-response-tool-use.json" : "anthropic/messages-response.json"));
    }

    public static string Fixture(string name) => OpenAiEmulator.Fixture(name);
}
