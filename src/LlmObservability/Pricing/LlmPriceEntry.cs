using System.Collections.Frozen;

namespace LlmObservability.Pricing;

/// <summary>The values of <see cref="LlmPriceEntry.Source"/> and of the payload's <c>cost.price_source</c>.</summary>
public static class LlmPriceSources
{
    /// <summary>The table embedded in the library (generated from Langfuse's default prices plus a supplement).</summary>
    public const string BuiltIn = "builtin";

    /// <summary>A file in LiteLLM's <c>model_prices_and_context_window.json</c> format.</summary>
    public const string LiteLlmFile = "litellm_file";

    /// <summary>A per-model override from <see cref="LlmPricingOptions.Overrides"/>.</summary>
    public const string Override = "override";
}

/// <summary>
/// Prices of one token class each, in USD per token. A missing (null) price falls back as documented on each
/// property; it never means "free". Use <see cref="PerMillion"/> to build one from per-million-token prices.
/// </summary>
public sealed record LlmTokenPrices
{
    private const decimal Million = 1_000_000m;

    /// <summary>Uncached input tokens.</summary>
    public required decimal Input { get; init; }

    /// <summary>Output tokens (and reasoning tokens when <see cref="Reasoning"/> is null).</summary>
    public required decimal Output { get; init; }

    /// <summary>Input tokens read from the prompt cache; null: billed at <see cref="Input"/>.</summary>
    public decimal? CacheRead { get; init; }

    /// <summary>Input tokens written to the prompt cache with the default (five-minute) lifetime; null: billed at <see cref="Input"/>.</summary>
    public decimal? CacheCreation { get; init; }

    /// <summary>Input tokens written to the prompt cache with a one-hour lifetime; null: billed at <see cref="CacheCreation"/>.</summary>
    public decimal? CacheCreation1h { get; init; }

    /// <summary>Reasoning tokens when the provider prices them apart from output; null: billed as output.</summary>
    public decimal? Reasoning { get; init; }

    /// <summary>Builds prices from USD-per-million-token figures, dividing exactly in <see cref="decimal"/>.</summary>
    /// <param name="input">Uncached input, USD per million tokens.</param>
    /// <param name="output">Output, USD per million tokens.</param>
    /// <param name="cacheRead">Cache reads, USD per million tokens, or null.</param>
    /// <param name="cacheCreation">Five-minute cache writes, USD per million tokens, or null.</param>
    /// <param name="cacheCreation1h">One-hour cache writes, USD per million tokens, or null.</param>
    /// <param name="reasoning">Reasoning tokens priced apart from output, USD per million tokens, or null.</param>
    /// <returns>The per-token prices.</returns>
    public static LlmTokenPrices PerMillion(
        decimal input, decimal output, decimal? cacheRead = null, decimal? cacheCreation = null, decimal? cacheCreation1h = null, decimal? reasoning = null) => new()
    {
        Input = input / Million,
        Output = output / Million,
        CacheRead = cacheRead / Million,
        CacheCreation = cacheCreation / Million,
        CacheCreation1h = cacheCreation1h / Million,
        Reasoning = reasoning / Million,
    };

    /// <summary>Every price multiplied by <paramref name="factor"/> (e.g. 0.5 for a batch discount).</summary>
    internal LlmTokenPrices Scale(decimal factor) => new()
    {
        Input = Input * factor,
        Output = Output * factor,
        CacheRead = CacheRead * factor,
        CacheCreation = CacheCreation * factor,
        CacheCreation1h = CacheCreation1h * factor,
        Reasoning = Reasoning * factor,
    };
}

/// <summary>
/// Prices that replace an entry's standard prices when a call meets every condition: a service tier named in
/// <see cref="ServiceTiers"/> (when not empty) and more than <see cref="AboveInputTokens"/> input tokens (when set).
/// </summary>
/// <remarks>
/// A long-context tier applies to the whole call, as Anthropic and Google bill it: every token of a call with
/// 200,001 input tokens is billed at the higher prices, and a call with exactly 200,000 at the standard ones.
/// Input tokens here are all input tokens of the call: uncached, cache reads and cache writes.
/// </remarks>
public sealed record LlmPriceTier
{
    /// <summary>A label for people, e.g. <c>Flex</c> or <c>Long context (&gt;200K)</c>.</summary>
    public string? Name { get; init; }

    /// <summary>Service tiers (compared case-insensitively) this tier applies to; empty: any service tier.</summary>
    public IReadOnlyList<string> ServiceTiers { get; init; } = [];

    /// <summary>The tier applies when the call's total input tokens exceed this; null: any size.</summary>
    public long? AboveInputTokens { get; init; }

    /// <summary>The complete prices of this tier (fields a source left out were filled from the standard prices).</summary>
    public required LlmTokenPrices Prices { get; init; }

    internal bool Matches(string? serviceTier, long totalInputTokens)
    {
        if (ServiceTiers.Count > 0)
        {
            if (serviceTier is null) return false;
            var found = false;
            foreach (var name in ServiceTiers)
            {
                if (string.Equals(name, serviceTier, StringComparison.OrdinalIgnoreCase)) { found = true; break; }
            }
            if (!found) return false;
        }
        return AboveInputTokens is not long threshold || totalInputTokens > threshold;
    }
}

/// <summary>One priced model: its standard prices, conditional tiers, and where the prices came from.</summary>
public sealed record LlmPriceEntry
{
    private static readonly FrozenDictionary<string, decimal> NoMultipliers =
        FrozenDictionary<string, decimal>.Empty;

    /// <summary>The entry's name in its source; written to the payload as <c>cost.price_key</c>.</summary>
    public required string Key { get; init; }

    /// <summary>The provider the source attributes the model to (e.g. <c>openai</c>), when it says.</summary>
    public string? Provider { get; init; }

    /// <summary>Where the prices came from: one of <see cref="LlmPriceSources"/>.</summary>
    public required string Source { get; init; }

    /// <summary>Other names that resolve to this entry exactly (besides the name normalisation every lookup applies).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>The standard prices.</summary>
    public required LlmTokenPrices Prices { get; init; }

    /// <summary>Prices that apply instead under conditions; see <see cref="LlmPriceTier"/> and <see cref="SelectPrices"/>.</summary>
    public IReadOnlyList<LlmPriceTier> Tiers { get; init; } = [];

    /// <summary>
    /// Discounts by service tier for tiers without prices of their own, e.g. <c>batch</c> → 0.5: the selected prices are
    /// multiplied by the factor.
    /// </summary>
    public IReadOnlyDictionary<string, decimal> ServiceTierMultipliers { get; init; } = NoMultipliers;

    /// <summary>
    /// The prices for one call. Among the tiers whose conditions the call meets, a tier with a service-tier condition
    /// beats one without, a tier with both conditions beats either alone, and between long-context tiers the
    /// highest threshold wins; with no match the standard prices apply. When the call names a service tier that no
    /// chosen tier prices, a <see cref="ServiceTierMultipliers"/> factor for it is applied to the chosen prices.
    /// </summary>
    /// <param name="totalInputTokens">All input tokens of the call: uncached, cache reads and cache writes.</param>
    /// <param name="serviceTier">The service tier from the request or response, or null; see <see cref="NormalizeServiceTier"/>.</param>
    /// <returns>The prices to bill the call at.</returns>
    public LlmTokenPrices SelectPrices(long totalInputTokens, string? serviceTier)
    {
        var tierName = NormalizeServiceTier(serviceTier);
        LlmPriceTier? best = null;
        var bestScore = -1;
        foreach (var tier in Tiers)
        {
            if (!tier.Matches(tierName, totalInputTokens)) continue;
            var score = (tier.ServiceTiers.Count > 0 ? 2 : 0) + (tier.AboveInputTokens is null ? 0 : 1);
            if (score > bestScore || (score == bestScore && (tier.AboveInputTokens ?? 0) > (best!.AboveInputTokens ?? 0)))
            {
                best = tier;
                bestScore = score;
            }
        }

        var prices = best?.Prices ?? Prices;
        if (tierName is not null && (best is null || best.ServiceTiers.Count == 0) &&
            ServiceTierMultipliers.TryGetValue(tierName, out var factor))
        {
            prices = prices.Scale(factor);
        }
        return prices;
    }

    /// <summary>
    /// Reduces the service-tier spellings of the providers to the names tiers use: null, empty, <c>default</c>,
    /// <c>auto</c>, <c>standard</c>, <c>standard_only</c> and <c>on_demand</c> mean the standard tier (null);
    /// Vertex AI's traffic types <c>on_demand_priority</c> and <c>on_demand_flex</c> mean <c>priority</c> and
    /// <c>flex</c>; anything else is kept, trimmed. All compared case-insensitively (Vertex writes them in capitals).
    /// </summary>
    /// <param name="serviceTier">The tier as the request or response spelled it.</param>
    /// <returns>The tier name to match, or null for the standard tier.</returns>
    public static string? NormalizeServiceTier(string? serviceTier)
    {
        if (string.IsNullOrWhiteSpace(serviceTier)) return null;
        var tier = serviceTier.Trim();
        foreach (var standard in StandardTierNames)
        {
            if (string.Equals(tier, standard, StringComparison.OrdinalIgnoreCase)) return null;
        }
        if (string.Equals(tier, "on_demand_priority", StringComparison.OrdinalIgnoreCase)) return "priority";
        if (string.Equals(tier, "on_demand_flex", StringComparison.OrdinalIgnoreCase)) return "flex";
        return tier;
    }

    private static readonly string[] StandardTierNames = ["default", "auto", "standard", "standard_only", "on_demand"];
}
