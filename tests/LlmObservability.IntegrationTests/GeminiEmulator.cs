using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Speaks the Gemini API's generateContent and streamGenerateContent (<c>?alt=sse</c>: one SSE event per chunk,
/// flushed one by one; without it: one JSON array) from the fixtures in <c>Fixtures/gemini</c>. A request with
/// <c>tools</c> gets the function-call fixtures; a model named <c>rate-limited</c> gets the 429.
/// </summary>
internal sealed class GeminiEmulator : KestrelEmulator
{
    public static async Task<GeminiEmulator> StartNewAsync()
    {
        var emulator = new GeminiEmulator();
        await emulator.StartAsync();
        return emulator;
    }

    protected override void Map(WebApplication app) => app.MapPost("/v1beta/models/{**modelAndMethod}", HandleAsync);

    private async Task HandleAsync(HttpContext context, string modelAndMethod)
    {
        var request = await ReadRequestAsync(context);
        var tools = request.TryGetProperty("tools", out _);
        if (modelAndMethod.StartsWith("rate-limited:", StringComparison.Ordinal))
        {
            await WriteBytesAsync(context, 429, "application/json", FixtureBytes("gemini/error-429.json"));
            return;
        }
        if (modelAndMethod.EndsWith(":generateContent", StringComparison.Ordinal))
        {
            await WriteBytesAsync(context, 200, "application/json", FixtureBytes(tools ? "gemini/generate-content-response-tool-calls.json" : "gemini/generate-content-response.json"));
            return;
        }
        if (!modelAndMethod.EndsWith(":streamGenerateContent", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 404;
            return;
        }
        var sse = Encoding.UTF8.GetString(FixtureBytes(tools ? "gemini/stream-generate-content-tool-calls.sse" : "gemini/stream-generate-content.sse"));
        var separator = sse.Contains("\r\n\r\n", StringComparison.Ordinal) ? "\r\n\r\n" : "\n\n";
        var events = sse.Split(separator, StringSplitOptions.RemoveEmptyEntries);
        if (context.Request.Query["alt"] == "sse")
        {
            await WritePiecesAsync(context, "text/event-stream", events.Select(e => Encoding.UTF8.GetBytes(e + separator)));
            return;
        }
        var chunks = events.Select(e => e["data: ".Length..]).ToArray();
        IEnumerable<byte[]> Array()
        {
            for (var i = 0; i < chunks.Length; i++) yield return Encoding.UTF8.GetBytes((i == 0 ? "[" : ",\r\n") + chunks[i] + (i == chunks.Length - 1 ? "]" : ""));
        }
        await WritePiecesAsync(context, "application/json; charset=UTF-8", Array());
    }
}
