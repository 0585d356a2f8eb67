using System.Text;
using System.Text.Json;
using LlmObservability.Pricing;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Tests.Pricing;

/// <summary>Reading LiteLLM's model_prices_and_context_window.json format.</summary>
public class LiteLlmPriceTableTests
{
    private static LiteLlmPriceTable Sample => LiteLlmPriceTable.LoadFile(PricingFixtures.LiteLlmSamplePath);

    private static LlmPriceEntry Entry(string key) => Sample.Entries.Single(e => e.Key == key);

    [Test]
    public void Loads_priced_entries_and_reports_malformed_ones()
    {
        var table = Sample;
        Assert.Multiple(() =>
        {
            Assert.That(table.Entries.Select(e => e.Key), Is.EquivalentTo(new[]
            {
                "gpt-4o", "gpt-5", "claude-sonnet-4-5", "anthropic.claude-3-5-sonnet-20240620-v1:0", "gemini/gemini-2.5-pro",
                "gemini/gemini-2.5-flash-preview-04-17", "deepseek/deepseek-chat", "xai/grok-3-mini", "azure/gpt-4o-mini",
                "text-embedding-3-small",
            }));
            Assert.That(table.Entries.Any(e => e.Key == "sample_spec"), Is.False);
            Assert.That(table.IgnoredCount, Is.EqualTo(1)); // dall-e-3: priced per image
            Assert.That(table.Problems.Select(p => p.Key), Is.EquivalentTo(new[]
            {
                "broken/price-as-text", "broken/no-output-price", "broken/negative", "broken/not-an-object",
            }));
            Assert.That(table.Problems.Single(p => p.Key == "broken/price-as-text").Reason, Does.Contain("input_cost_per_token"));
            Assert.That(table.Problems.Single(p => p.Key == "broken/no-output-price").Reason, Does.Contain("output_cost_per_token is missing"));
            Assert.That(table.Entries.All(e => e.Source == LlmPriceSources.LiteLlmFile), Is.True);
            Assert.That(table.Origin, Is.EqualTo(PricingFixtures.LiteLlmSamplePath));
        });
    }

    [Test]
    public void Reads_prices_exactly_from_scientific_notation()
    {
        var gpt4o = Entry("gpt-4o");
        Assert.Multiple(() =>
        {
            Assert.That(gpt4o.Provider, Is.EqualTo("openai"));
            Assert.That(gpt4o.Prices.Input, Is.EqualTo(0.0000025m));
            Assert.That(gpt4o.Prices.CacheRead, Is.EqualTo(0.00000125m));
            Assert.That(gpt4o.Prices.Output, Is.EqualTo(0.00001m));
            Assert.That(gpt4o.Tiers.Single().ServiceTiers, Is.EqualTo(new[] { "batch" }));
            Assert.That(gpt4o.Tiers.Single().Prices.Input, Is.EqualTo(0.00000125m));
            // The batch fields give no cache-read price: it is inherited from the standard prices.
            Assert.That(gpt4o.Tiers.Single().Prices.CacheRead, Is.EqualTo(0.00000125m));
        });
    }

    [Test]
    public void Reads_long_context_and_one_hour_cache_tiers()
    {
        var sonnet = Entry("claude-sonnet-4-5");
        var longContext = sonnet.Tiers.Single();
        Assert.Multiple(() =>
        {
            Assert.That(sonnet.Prices.CacheCreation, Is.EqualTo(0.00000375m));
            Assert.That(sonnet.Prices.CacheCreation1h, Is.EqualTo(0.000006m));
            Assert.That(longContext.AboveInputTokens, Is.EqualTo(200_000));
            Assert.That(longContext.ServiceTiers, Is.Empty);
            Assert.That(longContext.Prices.Input, Is.EqualTo(0.000006m));
            Assert.That(longContext.Prices.Output, Is.EqualTo(0.0000225m));
            Assert.That(longContext.Prices.CacheRead, Is.EqualTo(0.0000006m));
            Assert.That(longContext.Prices.CacheCreation, Is.EqualTo(0.0000075m));
            Assert.That(longContext.Prices.CacheCreation1h, Is.EqualTo(0.000012m));
        });
    }

    [Test]
    public void Reads_flex_and_priority_tiers()
    {
        var gpt5 = Entry("gpt-5");
        var flex = gpt5.Tiers.Single(t => t.ServiceTiers.Contains("flex"));
        var priority = gpt5.Tiers.Single(t => t.ServiceTiers.Contains("priority"));
        Assert.Multiple(() =>
        {
            Assert.That(flex.Prices.Input, Is.EqualTo(0.000000625m));
            Assert.That(flex.Prices.CacheRead, Is.EqualTo(0.0000000625m));
            Assert.That(flex.Prices.Output, Is.EqualTo(0.000005m));
            Assert.That(priority.Prices.Output, Is.EqualTo(0.00002m));
        });
    }

    [Test]
    public void A_reasoning_price_equal_to_output_is_not_a_separate_price()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Entry("gemini/gemini-2.5-pro").Prices.Reasoning, Is.Null);
            Assert.That(Entry("xai/grok-3-mini").Prices.Reasoning, Is.Null);
            Assert.That(Entry("gemini/gemini-2.5-flash-preview-04-17").Prices.Reasoning, Is.EqualTo(0.0000035m));
        });
    }

    [Test]
    public void Embedding_entries_without_output_price_bill_output_at_zero()
    {
        var embedding = Entry("text-embedding-3-small");
        Assert.Multiple(() =>
        {
            Assert.That(embedding.Prices.Input, Is.EqualTo(0.00000002m));
            Assert.That(embedding.Prices.Output, Is.Zero);
        });
    }

    [Test]
    public void Catalog_prices_calls_from_the_file()
    {
        var catalog = PriceCatalog.Create(new LlmPricingOptions { LiteLlmPriceFile = PricingFixtures.LiteLlmSamplePath });

        // Gemini 2.5 Flash preview priced thinking separately: $0.15/M input, $0.60/M output, $3.50/M thinking.
        // 1,000 input × $0.15/M + 200 output × $0.60/M + 800 thinking × $3.50/M = 0.00015 + 0.00012 + 0.0028 = 0.00307
        var gemini = catalog.Calculate("gemini", "gemini-2.5-flash-preview-04-17", null, LlmUsage.ForGemini(1_000, 200, thoughtsTokenCount: 800))!;

        // xai/grok-3-mini found through the provider prefix: 1,000 × $0.30/M + 1,000 × $0.50/M = 0.0003 + 0.0005 = 0.0008
        var grok = catalog.Calculate("xai", "grok-3-mini", null, LlmUsage.ForOpenAi(1_000, 1_000))!;

        // azure/gpt-4o-mini (Azure's own price) beats the built-in OpenAI price for provider azure_openai:
        // 1,000 × $0.165/M + 1,000 × $0.66/M = 0.000165 + 0.00066 = 0.000825
        var azure = catalog.Calculate("azure_openai", "gpt-4o-mini", null, LlmUsage.ForOpenAi(1_000, 1_000))!;

        // DeepSeek's cache-hit field: 4,000 × $0.28/M + 6,000 × $0.028/M + 1,000 × $0.42/M = 0.00112 + 0.000168 + 0.00042 = 0.001708
        var deepseek = catalog.Calculate("deepseek", "deepseek-chat", null, LlmUsage.ForOpenAi(10_000, 1_000, cachedTokens: 6_000))!;

        // Bedrock ID, listed in the file without prefix: 1,000 × $3/M + 100 × $15/M = 0.003 + 0.0015 = 0.0045
        var bedrock = catalog.Calculate("bedrock", "us.anthropic.claude-3-5-sonnet-20240620-v1:0", null, LlmUsage.ForAnthropic(1_000, 100))!;

        Assert.Multiple(() =>
        {
            Assert.That(gemini.Input, Is.EqualTo(0.00015m));
            Assert.That(gemini.Output, Is.EqualTo(0.00012m));
            Assert.That(gemini.Reasoning, Is.EqualTo(0.0028m));
            Assert.That(gemini.Total, Is.EqualTo(0.00307m));
            Assert.That(gemini.PriceKey, Is.EqualTo("gemini/gemini-2.5-flash-preview-04-17"));
            Assert.That(gemini.PriceSource, Is.EqualTo("litellm_file"));
            Assert.That(grok.Total, Is.EqualTo(0.0008m));
            Assert.That(grok.PriceKey, Is.EqualTo("xai/grok-3-mini"));
            Assert.That(azure.Total, Is.EqualTo(0.000825m));
            Assert.That(azure.PriceKey, Is.EqualTo("azure/gpt-4o-mini"));
            Assert.That(deepseek.Total, Is.EqualTo(0.001708m));
            Assert.That(bedrock.Total, Is.EqualTo(0.0045m));
            Assert.That(bedrock.PriceKey, Is.EqualTo("anthropic.claude-3-5-sonnet-20240620-v1:0"));
            Assert.That(catalog.Problems, Has.Count.EqualTo(4));
        });
    }

    [Test]
    public void Loads_from_a_stream()
    {
        const string json = """
            {
              "sample_spec": { "input_cost_per_token": "not a number" },
              "acme/model-a": { "input_cost_per_token": 1e-06, "output_cost_per_token": 2e-06, "litellm_provider": "acme", "mode": "chat", "new_field_from_the_future": [1, 2] }
            }
            """;
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(json));
        var table = LiteLlmPriceTable.Load(stream);
        Assert.Multiple(() =>
        {
            Assert.That(table.Entries.Single().Key, Is.EqualTo("acme/model-a"));
            Assert.That(table.Problems, Is.Empty);
        });
    }

    [Test]
    public void A_document_that_is_not_an_object_of_models_is_rejected_whole()
    {
        using var array = new MemoryStream("[1, 2]"u8.ToArray());
        using var notJson = new MemoryStream("{ not json"u8.ToArray());
        Assert.Multiple(() =>
        {
            Assert.That(() => LiteLlmPriceTable.Load(array), Throws.TypeOf<InvalidDataException>());
            Assert.That(() => LiteLlmPriceTable.Load(notJson), Throws.InstanceOf<JsonException>());
        });
    }

    [Test]
    public void A_missing_file_is_reported_and_the_catalog_still_works()
    {
        var logger = new TestLogger();
        var path = Path.Combine(Path.GetTempPath(), $"no-such-prices-{Guid.NewGuid():N}.json");
        var catalog = PriceCatalog.Create(new LlmPricingOptions { LiteLlmPriceFile = path }, logger);

        Assert.Multiple(() =>
        {
            Assert.That(catalog.Problems.Single().Key, Is.EqualTo(path));
            Assert.That(logger.Messages(LogLevel.Error), Has.Count.EqualTo(1));
            Assert.That(catalog.Find("openai", "gpt-4o")?.Source, Is.EqualTo("builtin"));
        });
    }

    [Test]
    public void Skipped_entries_are_logged_once_when_the_catalog_is_built()
    {
        var logger = new TestLogger();
        PriceCatalog.Create(new LlmPricingOptions { LiteLlmPriceFile = PricingFixtures.LiteLlmSamplePath }, logger);
        var warnings = logger.Messages(LogLevel.Warning);
        Assert.Multiple(() =>
        {
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0], Does.Contain("4 malformed entries"));
        });
    }
}
