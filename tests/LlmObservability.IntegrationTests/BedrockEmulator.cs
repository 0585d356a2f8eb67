using System.Buffers.Binary;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Speaks Bedrock Runtime's Converse and ConverseStream from the fixtures in <c>Fixtures/bedrock</c>: ConverseStream
/// writes the event-stream messages (<c>application/vnd.amazon.eventstream</c>) one by one, flushed; a request with
/// <c>toolConfig</c> gets the tool-use fixtures; the model <c>throttled</c> gets a 429 with <c>x-amzn-ErrorType</c>.
/// Requests are not signature-checked: SigV4 plays no part in what is captured.
/// </summary>
internal sealed class BedrockEmulator : KestrelEmulator
{
    public static async Task<BedrockEmulator> StartNewAsync()
    {
        var emulator = new BedrockEmulator();
        await emulator.StartAsync();
        return emulator;
    }

    public List<string> ModelIds { get; } = [];

    protected override void Map(WebApplication app)
    {
        app.MapPost("/model/{modelId}/converse", (HttpContext context, string modelId) => HandleAsync(context, modelId, stream: false));
        app.MapPost("/model/{modelId}/converse-stream", (HttpContext context, string modelId) => HandleAsync(context, modelId, stream: true));
    }

    private async Task HandleAsync(HttpContext context, string modelId, bool stream)
    {
        var request = await ReadRequestAsync(context);
        lock (ModelIds) ModelIds.Add(modelId);
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        if (modelId == "throttled")
        {
            context.Response.Headers["x-amzn-ErrorType"] = "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/";
            await WriteBytesAsync(context, 429, "application/json", FixtureBytes("bedrock/error-throttling.json"));
            return;
        }
        var tools = request.TryGetProperty("toolConfig", out _);
        if (!stream)
        {
            await WriteBytesAsync(context, 200, "application/json", FixtureBytes(tools ? "bedrock/converse-response-tool-use.json" : "bedrock/converse-response.json"));
            return;
        }
        await WritePiecesAsync(context, "application/vnd.amazon.eventstream", Messages(FixtureBytes(tools ? "bedrock/converse-stream-tool-use.bin" : "bedrock/converse-stream.bin")));
    }

    /// <summary>Cuts an event-stream body into its messages by their prelude lengths.</summary>
    public static IEnumerable<byte[]> Messages(byte[] body)
    {
        for (var offset = 0; offset < body.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset));
            yield return body[offset..(offset + length)];
            offset += length;
        }
    }
}
