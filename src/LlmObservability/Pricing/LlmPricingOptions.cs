using Microsoft.Extensions.Configuration;

namespace LlmObservability.Pricing;

/// <summary>
/// Where prices come from. Bind it from configuration with <see cref="FromConfiguration"/> (for example the
/// <c>LlmObservability:Pricing</c> section) or set it in code, then build a catalog with
/// <see cref="PriceCatalog.Create(LlmPricingOptions, Microsoft.Extensions.Logging.ILogger?)"/>.
/// </summary>
/// <remarks>
/// <para>Precedence, highest first: <see cref="Overrides"/>, then the <see cref="LiteLlmPriceFile"/>, then the built-in
/// table. A model is looked up in each source in that order, and the first source that knows it prices the call,
/// even when a lower source has a more exact entry: an override for <c>gpt-4o</c> also prices a response that names
/// <c>gpt-4o-2024-08-06</c>.</para>
/// <example>
/// <code language="json">
/// "Pricing": {
///   "LiteLlmPriceFile": "prices/model_prices_and_context_window.json",
///   "AzureDeployments": { "prod-chat": "gpt-4o", "cheap-chat": "gpt-4o-mini" },
///   "Overrides": {
///     "gpt-4o": { "InputPerMillion": 2.0, "OutputPerMillion": 8.0, "CacheReadPerMillion": 1.0 },
///     "my-finetune": { "InputPerMillion": 3.75, "OutputPerMillion": 15 }
///   }
/// }
/// </code>
/// </example>
/// </remarks>
public sealed class LlmPricingOptions
{
    /// <summary>
    /// Per-model prices that beat every other source, keyed by model name (case-insensitive; the same name
    /// normalisation as for the other sources applies, so <c>gpt-4o</c> also prices <c>openai/gpt-4o</c> and
    /// <c>gpt-4o-2024-08-06</c>). Configuration keys cannot contain ':'; set such names (Bedrock IDs, fine-tunes) in code.
    /// Default: empty.
    /// </summary>
    public IDictionary<string, LlmModelPrice> Overrides { get; } = new Dictionary<string, LlmModelPrice>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Azure OpenAI deployment name → model name. Azure requests name a deployment, not a model; a requested or
    /// response model equal to a key here (case-insensitive, for every provider) is priced as the mapped model.
    /// Choose deployment names that do not shadow model names called elsewhere. Default: empty.
    /// </summary>
    public IDictionary<string, string> AzureDeployments { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Path of a price file in LiteLLM's <c>model_prices_and_context_window.json</c> format, loaded once when the
    /// catalog is created. A missing or unreadable file is reported through the logger and the catalog uses the other
    /// sources. Default: null (none).
    /// </summary>
    public string? LiteLlmPriceFile { get; set; }

    /// <summary>Whether the built-in table is consulted after the other sources. Default: true.</summary>
    public bool UseBuiltInPrices { get; set; } = true;

    /// <summary>Binds options from a configuration section (properties as named here).</summary>
    /// <param name="section">The section, e.g. <c>configuration.GetSection("LlmObservability:Pricing")</c>.</param>
    /// <returns>The bound options.</returns>
    public static LlmPricingOptions FromConfiguration(IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var options = new LlmPricingOptions();
        section.Bind(options);
        return options;
    }

    /// <summary>Describes every invalid setting; empty when the options are valid.</summary>
    /// <returns>One message per problem.</returns>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        foreach (var (model, price) in Overrides)
        {
            if (string.IsNullOrWhiteSpace(model)) errors.Add("Overrides: a model name is empty.");
            if (price is null)
            {
                errors.Add($"Overrides[{model}]: no price given.");
                continue;
            }
            price.AddValidationErrors($"Overrides[{model}]", errors);
        }
        foreach (var (deployment, model) in AzureDeployments)
        {
            if (string.IsNullOrWhiteSpace(deployment) || string.IsNullOrWhiteSpace(model))
            {
                errors.Add($"AzureDeployments: deployment '{deployment}' must map to a model name.");
            }
        }
        return errors;
    }
}

/// <summary>
/// A model's prices in USD per million tokens, as written in configuration. Input and output are required; a
/// missing cache price falls back as described on <see cref="LlmTokenPrices"/>.
/// </summary>
public sealed class LlmModelPrice
{
    /// <summary>The provider, for information (shown nowhere in cost results). Default: null.</summary>
    public string? Provider { get; set; }

    /// <summary>Uncached input, USD per million tokens. Required.</summary>
    public decimal? InputPerMillion { get; set; }

    /// <summary>Output, USD per million tokens. Required.</summary>
    public decimal? OutputPerMillion { get; set; }

    /// <summary>Cache reads, USD per million tokens. Default: null (billed as input).</summary>
    public decimal? CacheReadPerMillion { get; set; }

    /// <summary>Five-minute cache writes, USD per million tokens. Default: null (billed as input).</summary>
    public decimal? CacheCreationPerMillion { get; set; }

    /// <summary>One-hour cache writes, USD per million tokens. Default: null (billed as five-minute writes).</summary>
    public decimal? CacheCreation1hPerMillion { get; set; }

    /// <summary>Reasoning tokens priced apart from output, USD per million tokens. Default: null (billed as output).</summary>
    public decimal? ReasoningPerMillion { get; set; }

    /// <summary>Conditional prices (service tiers, long context). Default: none.</summary>
    public IList<LlmModelPriceTier> Tiers { get; } = [];

    internal void AddValidationErrors(string where, List<string> errors)
    {
        if (InputPerMillion is null || OutputPerMillion is null) errors.Add($"{where}: InputPerMillion and OutputPerMillion are required.");
        AddNegativeErrors(where, errors, InputPerMillion, OutputPerMillion, CacheReadPerMillion, CacheCreationPerMillion, CacheCreation1hPerMillion, ReasoningPerMillion);
        for (var i = 0; i < Tiers.Count; i++)
        {
            var tier = Tiers[i];
            var at = $"{where}.Tiers[{i}]";
            if (tier is null) { errors.Add($"{at}: empty."); continue; }
            if (tier.ServiceTiers.Count == 0 && tier.AboveInputTokens is null) errors.Add($"{at}: needs ServiceTiers or AboveInputTokens.");
            if (tier.AboveInputTokens < 0) errors.Add($"{at}: AboveInputTokens must not be negative.");
            AddNegativeErrors(at, errors, tier.InputPerMillion, tier.OutputPerMillion, tier.CacheReadPerMillion, tier.CacheCreationPerMillion, tier.CacheCreation1hPerMillion, tier.ReasoningPerMillion);
        }
    }

    private static void AddNegativeErrors(string where, List<string> errors, params decimal?[] values)
    {
        foreach (var value in values)
        {
            if (value < 0)
            {
                errors.Add($"{where}: prices must not be negative.");
                return;
            }
        }
    }

    internal LlmPriceEntry ToEntry(string model)
    {
        var basePrices = LlmTokenPrices.PerMillion(
            InputPerMillion ?? 0, OutputPerMillion ?? 0, CacheReadPerMillion, CacheCreationPerMillion, CacheCreation1hPerMillion, ReasoningPerMillion);
        var tiers = new List<LlmPriceTier>(Tiers.Count);
        foreach (var tier in Tiers)
        {
            tiers.Add(new LlmPriceTier
            {
                Name = tier.Name,
                ServiceTiers = [.. tier.ServiceTiers],
                AboveInputTokens = tier.AboveInputTokens,
                Prices = LlmTokenPrices.PerMillion(
                    tier.InputPerMillion ?? InputPerMillion ?? 0,
                    tier.OutputPerMillion ?? OutputPerMillion ?? 0,
                    tier.CacheReadPerMillion ?? CacheReadPerMillion,
                    tier.CacheCreationPerMillion ?? CacheCreationPerMillion,
                    tier.CacheCreation1hPerMillion ?? CacheCreation1hPerMillion,
                    tier.ReasoningPerMillion ?? ReasoningPerMillion),
            });
        }
        return new LlmPriceEntry
        {
            Key = model,
            Provider = Provider,
            Source = LlmPriceSources.Override,
            Prices = basePrices,
            Tiers = tiers,
        };
    }
}

/// <summary>
/// Prices that apply to a model under conditions, in USD per million tokens. A price left null is taken from the
/// model's standard price.
/// </summary>
public sealed class LlmModelPriceTier
{
    /// <summary>A label, e.g. <c>Flex</c>. Default: null.</summary>
    public string? Name { get; set; }

    /// <summary>Service tiers this applies to (e.g. <c>flex</c>, <c>priority</c>, <c>batch</c>). Default: empty (any).</summary>
    public IList<string> ServiceTiers { get; } = [];

    /// <summary>Applies when the call's total input tokens exceed this (e.g. 200000). Default: null (any size).</summary>
    public long? AboveInputTokens { get; set; }

    /// <summary>Uncached input, USD per million tokens.</summary>
    public decimal? InputPerMillion { get; set; }

    /// <summary>Output, USD per million tokens.</summary>
    public decimal? OutputPerMillion { get; set; }

    /// <summary>Cache reads, USD per million tokens.</summary>
    public decimal? CacheReadPerMillion { get; set; }

    /// <summary>Five-minute cache writes, USD per million tokens.</summary>
    public decimal? CacheCreationPerMillion { get; set; }

    /// <summary>One-hour cache writes, USD per million tokens.</summary>
    public decimal? CacheCreation1hPerMillion { get; set; }

    /// <summary>Reasoning tokens, USD per million tokens.</summary>
    public decimal? ReasoningPerMillion { get; set; }
}
