using System.Text.Json.Serialization;

namespace LlmObservability.Providers;

/// <summary>Source-generated metadata for the few values adapters create themselves (AOT-safe).</summary>
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(string))]
internal sealed partial class ProviderJsonContext : JsonSerializerContext;
