using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LlmObservability.Pricing;

/// <summary>
/// Reads price tables in the library's own format (<c>"format": "llm-observability-prices"</c>, format_version 1),
/// the format of the embedded built-in table. Prices in the file are USD per million tokens; they become per-token
/// prices by an exact <see cref="decimal"/> division. Described in docs/PRICING.md.
/// </summary>
internal static class PriceTableFormat
{
    public const string FormatName = "llm-observability-prices";
    public const int FormatVersion = 1;
    private const string BuiltInResourceName = "LlmObservability.Pricing.BuiltInPrices.json";

    private static readonly Lazy<PriceTable> BuiltInTable = new(LoadBuiltIn, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The embedded table, read once per process.</summary>
    public static PriceTable BuiltIn => BuiltInTable.Value;

    private static PriceTable LoadBuiltIn()
    {
        using var stream = typeof(PriceTableFormat).Assembly.GetManifestResourceStream(BuiltInResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {BuiltInResourceName} is missing from {typeof(PriceTableFormat).Assembly.GetName().Name}.");
        return Read(stream, LlmPriceSources.BuiltIn);
    }

    public static PriceTable Read(Stream utf8Json, string source)
    {
        var document = JsonSerializer.Deserialize(utf8Json, PriceTableJsonContext.Default.PriceTableDocument)
            ?? throw new InvalidDataException("The price table is empty.");
        if (document.Format != FormatName || document.FormatVersion != FormatVersion)
        {
            throw new InvalidDataException($"Expected a '{FormatName}' table of format_version {FormatVersion}, found '{document.Format}' version {document.FormatVersion}.");
        }

        var entries = new List<LlmPriceEntry>(document.Models?.Count ?? 0);
        foreach (var model in document.Models ?? [])
        {
            if (string.IsNullOrWhiteSpace(model.Key) || model.Prices is null) throw new InvalidDataException("A model has no key or no prices.");
            var basePrices = ToPrices(model.Prices, null, model.Key);
            var tiers = new List<LlmPriceTier>(model.Tiers?.Count ?? 0);
            foreach (var tier in model.Tiers ?? [])
            {
                if (tier.Prices is null) throw new InvalidDataException($"A tier of {model.Key} has no prices.");
                tiers.Add(new LlmPriceTier
                {
                    Name = tier.Name,
                    ServiceTiers = tier.ServiceTiers ?? [],
                    AboveInputTokens = tier.AboveInputTokens,
                    Prices = ToPrices(tier.Prices, model.Prices, model.Key),
                });
            }

            IReadOnlyDictionary<string, decimal>? multipliers = null;
            if (model.Provider is not null && document.Providers is not null &&
                document.Providers.TryGetValue(model.Provider, out var defaults) && defaults.ServiceTierMultipliers is { Count: > 0 } factors)
            {
                multipliers = factors.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
            }

            entries.Add(new LlmPriceEntry
            {
                Key = model.Key,
                Provider = model.Provider,
                Source = source,
                Aliases = model.Aliases ?? [],
                Prices = basePrices,
                Tiers = tiers,
                ServiceTierMultipliers = multipliers ?? FrozenDictionary<string, decimal>.Empty,
            });
        }
        return new PriceTable(document.Version, document.Updated, entries);
    }

    /// <summary>Per-million prices to per-token prices; a tier's missing fields come from the model's standard prices.</summary>
    private static LlmTokenPrices ToPrices(PricesDto prices, PricesDto? fallback, string key)
    {
        var input = prices.Input ?? fallback?.Input;
        var output = prices.Output ?? fallback?.Output;
        if (input is null || output is null) throw new InvalidDataException($"{key}: input and output prices are required.");
        return LlmTokenPrices.PerMillion(
            input.Value,
            output.Value,
            prices.CacheRead ?? fallback?.CacheRead,
            prices.CacheCreation ?? fallback?.CacheCreation,
            prices.CacheCreation1h ?? fallback?.CacheCreation1h,
            prices.Reasoning ?? fallback?.Reasoning);
    }
}

/// <summary>A table read from a file in the library's format.</summary>
internal sealed record PriceTable(string? Version, string? Updated, IReadOnlyList<LlmPriceEntry> Entries);

internal sealed class PriceTableDocument
{
    public string? Format { get; set; }

    public int FormatVersion { get; set; }

    public string? Version { get; set; }

    public string? Updated { get; set; }

    public string? Unit { get; set; }

    public Dictionary<string, ProviderDefaultsDto>? Providers { get; set; }

    public List<ModelDto>? Models { get; set; }
}

internal sealed class ProviderDefaultsDto
{
    public Dictionary<string, decimal>? ServiceTierMultipliers { get; set; }
}

internal sealed class ModelDto
{
    public string Key { get; set; } = "";

    public string? Provider { get; set; }

    public List<string>? Aliases { get; set; }

    public PricesDto? Prices { get; set; }

    public List<TierDto>? Tiers { get; set; }

    public string? Notes { get; set; }
}

internal sealed class TierDto
{
    public string? Name { get; set; }

    public List<string>? ServiceTiers { get; set; }

    public long? AboveInputTokens { get; set; }

    public PricesDto? Prices { get; set; }
}

internal sealed class PricesDto
{
    public decimal? Input { get; set; }

    public decimal? CacheRead { get; set; }

    public decimal? CacheCreation { get; set; }

    [JsonPropertyName("cache_creation_1h")]
    public decimal? CacheCreation1h { get; set; }

    public decimal? Output { get; set; }

    public decimal? Reasoning { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(PriceTableDocument))]
internal sealed partial class PriceTableJsonContext : JsonSerializerContext;
