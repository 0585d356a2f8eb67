using System.Text.Json.Serialization;
using LlmObservability.Payload;

namespace LlmObservability.Telemetry;

/// <summary>Source-generated JSON for message content on spans (snake_case, like the payload).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IReadOnlyList<LlmMessage>))]
[JsonSerializable(typeof(LlmResponseOutput))]
[JsonSerializable(typeof(IReadOnlyList<LlmToolCall>))] // written by LlmMessageJsonConverter
internal sealed partial class TelemetryJsonContext : JsonSerializerContext;
