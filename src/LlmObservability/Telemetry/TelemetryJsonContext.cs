using System.Text.Json;
using System.Text.Json.Serialization;
using LlmObservability.Payload;

namespace LlmObservability.Telemetry;

/// <summary>Source-generated JSON for message content on spans (snake_case, like the payload).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<LlmMessage>))]
[JsonSerializable(typeof(LlmResponseOutput))]
[JsonSerializable(typeof(IReadOnlyList<LlmToolCall>))] // written by LlmMessageJsonConverter
internal sealed partial class TelemetryJsonContext : JsonSerializerContext
{
    /// <summary>The context the spans use: text escaped as the payload's is (<see cref="LlmPayloadJson.Encoder"/>).</summary>
    public static TelemetryJsonContext Readable => ReadableContext.Instance;

    private static class ReadableContext
    {
        public static readonly TelemetryJsonContext Instance = new(new JsonSerializerOptions(Default.Options) { Encoder = LlmPayloadJson.Encoder });
    }
}
