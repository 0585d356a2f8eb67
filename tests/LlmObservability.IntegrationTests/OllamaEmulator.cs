using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Speaks Ollama's native /api/chat and /api/generate (also under an <c>/ollama</c> prefix, the way proxies mount it)
/// from the fixtures in <c>Fixtures/ollama</c>: NDJSON lines flushed one by one unless the request says
/// <c>"stream": false</c>; a request with <c>tools</c> gets the tool-call fixtures; an unknown model gets the 404.
/// </summary>
internal sealed class OllamaEmulator : KestrelEmulator
{
    public static async Task<OllamaEmulator> StartNewAsync()
    {
        var emulator = new OllamaEmulator();
        await emulator.StartAsync();
        return emulator;
    }

    protected override void Map(WebApplication app)
    {
        foreach (var prefix in new[] { "", "/ollama" })
        {
            app.MapPost(prefix + "/api/chat", context => HandleAsync(context, chat: true));
            app.MapPost(prefix + "/api/generate", context => HandleAsync(context, chat: false));
        }
    }

    private async Task HandleAsync(HttpContext context, bool chat)
    {
        var request = await ReadRequestAsync(context);
        if (request.TryGetProperty("model", out var model) && model.GetString() == "llama3.3")
        {
            await WriteBytesAsync(context, 404, "application/json; charset=utf-8", FixtureBytes("ollama/error-404.json"));
            return;
        }
        var stream = !(request.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.False);
        var tools = request.TryGetProperty("tools", out _);
        if (!stream)
        {
            var whole = chat ? (tools ? "ollama/chat-response-tool-calls.json" : "ollama/chat-response.json") : "ollama/generate-response.json";
            await WriteBytesAsync(context, 200, "application/json; charset=utf-8", FixtureBytes(whole));
            return;
        }
        var fixture = chat ? (tools ? "ollama/chat-stream-tool-calls.ndjson" : "ollama/chat-stream.ndjson") : "ollama/generate-stream.ndjson";
        var lines = Encoding.UTF8.GetString(FixtureBytes(fixture)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await WritePiecesAsync(context, "application/x-ndjson", lines.Select(l => Encoding.UTF8.GetBytes(l + "\n")));
    }
}
