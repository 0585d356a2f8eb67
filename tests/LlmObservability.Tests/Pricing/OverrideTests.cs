using LlmObservability.Pricing;
using Microsoft.Extensions.Configuration;

namespace LlmObservability.Tests.Pricing;

/// <summary>Per-model overrides from code and configuration, and the precedence of the sources.</summary>
public class OverrideTests
{
    [Test]
    public void Override_beats_the_built_in_table_also_for_dated_response_models()
    {
        var options = new LlmPricingOptions();
        options.Overrides["gpt-4o"] = new LlmModelPrice { InputPerMillion = 2, OutputPerMillion = 8, CacheReadPerMillion = 1 };
        var catalog = PriceCatalog.Create(options);

        // OpenAI answers with the dated name, which the built-in table lists exactly; the override still wins.
        // 1,000 uncached × $2/M + 500 cached × $1/M + 200 output × $8/M = 0.002 + 0.0005 + 0.0016 = 0.0041
        var cost = catalog.Calculate("openai", "gpt-4o", "gpt-4o-2024-08-06", LlmUsage.ForOpenAi(1_500, 200, cachedTokens: 500))!;

        Assert.Multiple(() =>
        {
            Assert.That(cost.PriceSource, Is.EqualTo("override"));
            Assert.That(cost.PriceKey, Is.EqualTo("gpt-4o"));
            Assert.That(cost.Total, Is.EqualTo(0.0041m));
            // Models without an override still come from the built-in table.
            Assert.That(catalog.Find("openai", "gpt-4o-mini")?.Source, Is.EqualTo("builtin"));
        });
    }

    [Test]
    public void Precedence_is_override_then_LiteLLM_file_then_built_in()
    {
        var file = LiteLlmPriceTable.LoadFile(PricingFixtures.LiteLlmSamplePath);

        var builtInOnly = PriceCatalog.CreateDefault();
        var withFile = PriceCatalog.Create(new LlmPricingOptions(), file, null);
        var options = new LlmPricingOptions();
        options.Overrides["gpt-4o"] = new LlmModelPrice { InputPerMillion = 1, OutputPerMillion = 1 };
        var withOverride = PriceCatalog.Create(options, file, null);

        Assert.Multiple(() =>
        {
            Assert.That(builtInOnly.Find("openai", "gpt-4o")?.Source, Is.EqualTo("builtin"));
            Assert.That(withFile.Find("openai", "gpt-4o")?.Source, Is.EqualTo("litellm_file"));
            Assert.That(withOverride.Find("openai", "gpt-4o")?.Source, Is.EqualTo("override"));
            // Not in the file: falls through to the built-in table.
            Assert.That(withFile.Find("openai", "o3")?.Source, Is.EqualTo("builtin"));
        });
    }

    [Test]
    public void Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pricing:Overrides:acme-chat:InputPerMillion"] = "0.5",
            ["Pricing:Overrides:acme-chat:OutputPerMillion"] = "1.5",
            ["Pricing:Overrides:acme-chat:CacheReadPerMillion"] = "0.05",
            ["Pricing:Overrides:acme-chat:Tiers:0:Name"] = "Flex",
            ["Pricing:Overrides:acme-chat:Tiers:0:ServiceTiers:0"] = "flex",
            ["Pricing:Overrides:acme-chat:Tiers:0:InputPerMillion"] = "0.25",
            ["Pricing:Overrides:acme-chat:Tiers:0:OutputPerMillion"] = "0.75",
            ["Pricing:AzureDeployments:team-a-gpt"] = "acme-chat",
            ["Pricing:LiteLlmPriceFile"] = PricingFixtures.LiteLlmSamplePath,
        }).Build();

        var options = LlmPricingOptions.FromConfiguration(configuration.GetSection("Pricing"));
        var catalog = PriceCatalog.Create(options);

        // 1,000 uncached × $0.50/M + 1,000 cached × $0.05/M + 1,000 output × $1.50/M = 0.0005 + 0.00005 + 0.0015 = 0.00205
        var standard = catalog.Calculate("azure_openai", "team-a-gpt", null, LlmUsage.ForOpenAi(2_000, 1_000, cachedTokens: 1_000))!;
        // Flex tier: 1,000 × $0.25/M + 1,000 cached × $0.05/M (inherited) + 1,000 × $0.75/M = 0.00025 + 0.00005 + 0.00075 = 0.00105
        var flex = catalog.Calculate("azure_openai", "team-a-gpt", null, LlmUsage.ForOpenAi(2_000, 1_000, cachedTokens: 1_000), "flex")!;

        Assert.Multiple(() =>
        {
            Assert.That(options.LiteLlmPriceFile, Is.EqualTo(PricingFixtures.LiteLlmSamplePath));
            Assert.That(standard.PriceSource, Is.EqualTo("override"));
            Assert.That(standard.Total, Is.EqualTo(0.00205m));
            Assert.That(flex.Total, Is.EqualTo(0.00105m));
            Assert.That(catalog.Find("xai", "grok-3-mini")?.Source, Is.EqualTo("litellm_file"));
        });
    }

    [Test]
    public void Invalid_overrides_are_rejected_at_creation()
    {
        var options = new LlmPricingOptions();
        options.Overrides["half-priced"] = new LlmModelPrice { InputPerMillion = 1 };
        options.Overrides["negative"] = new LlmModelPrice { InputPerMillion = -1, OutputPerMillion = 1 };
        var noCondition = new LlmModelPrice { InputPerMillion = 1, OutputPerMillion = 1 };
        noCondition.Tiers.Add(new LlmModelPriceTier { InputPerMillion = 2 });
        options.Overrides["tier-without-condition"] = noCondition;

        var errors = options.GetValidationErrors();
        Assert.Multiple(() =>
        {
            Assert.That(errors, Has.Count.EqualTo(3));
            Assert.That(() => PriceCatalog.Create(options), Throws.ArgumentException.With.Message.Contains("half-priced"));
        });
    }
}
