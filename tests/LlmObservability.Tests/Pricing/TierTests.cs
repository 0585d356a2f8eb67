using LlmObservability.Pricing;

namespace LlmObservability.Tests.Pricing;

/// <summary>Long-context tiers (the whole call at the higher price) and service tiers.</summary>
public class TierTests
{
    private static readonly PriceCatalog Catalog = PriceCatalog.CreateDefault();

    [Test]
    public void Gemini_exactly_200000_input_tokens_is_standard_price()
    {
        // gemini-2.5-pro ≤200K: $1.25/M input, $10/M output.
        // 200,000 × $1.25/M + 1,000 × $10/M = 0.25 + 0.01 = 0.26
        var cost = Catalog.Calculate("gemini", "gemini-2.5-pro", null, LlmUsage.ForGemini(200_000, 1_000))!;
        Assert.That(cost.Total, Is.EqualTo(0.26m));
    }

    [Test]
    public void Gemini_200001_input_tokens_bills_the_whole_call_at_the_long_context_price()
    {
        // gemini-2.5-pro >200K: $2.50/M input, $15/M output, for every token of the call.
        // 200,001 × $2.50/M + 1,000 × $15/M = 0.5000025 + 0.015 = 0.5150025
        var cost = Catalog.Calculate("gemini", "gemini-2.5-pro", null, LlmUsage.ForGemini(200_001, 1_000))!;
        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.5000025m));
            Assert.That(cost.Output, Is.EqualTo(0.015m));
            Assert.That(cost.Total, Is.EqualTo(0.5150025m));
        });
    }

    [Test]
    public void Anthropic_cache_reads_count_toward_the_200K_threshold()
    {
        // claude-sonnet-4-5: 100,000 uncached + 100,000 cache reads = 200,000 input tokens → standard prices.
        // 100,000 × $3/M + 100,000 × $0.30/M + 1,000 × $15/M = 0.3 + 0.03 + 0.015 = 0.345
        var atLimit = Catalog.Calculate("anthropic", "claude-sonnet-4-5", null,
            LlmUsage.ForAnthropic(inputTokens: 100_000, outputTokens: 1_000, cacheReadInputTokens: 100_000))!;

        // One more cached token: 200,001 → long context: $6/M input, $0.60/M cache read, $22.50/M output.
        // 100,000 × $6/M + 100,001 × $0.60/M + 1,000 × $22.50/M = 0.6 + 0.0600006 + 0.0225 = 0.6825006
        var above = Catalog.Calculate("anthropic", "claude-sonnet-4-5", null,
            LlmUsage.ForAnthropic(inputTokens: 100_000, outputTokens: 1_000, cacheReadInputTokens: 100_001))!;

        Assert.Multiple(() =>
        {
            Assert.That(atLimit.Total, Is.EqualTo(0.345m));
            Assert.That(above.Input, Is.EqualTo(0.6m));
            Assert.That(above.CacheRead, Is.EqualTo(0.0600006m));
            Assert.That(above.Output, Is.EqualTo(0.0225m));
            Assert.That(above.Total, Is.EqualTo(0.6825006m));
        });
    }

    [TestCase(null, 0.01)]        // 1,000 × $2/M   + 1,000 × $8/M  = 0.002  + 0.008 = 0.01
    [TestCase("default", 0.01)]   // "default" is the standard tier
    [TestCase("auto", 0.01)]
    [TestCase("scale", 0.01)]     // a tier the table does not price: standard prices
    [TestCase("flex", 0.005)]     // 1,000 × $1/M   + 1,000 × $4/M  = 0.001  + 0.004 = 0.005
    [TestCase("priority", 0.0175)] // 1,000 × $3.50/M + 1,000 × $14/M = 0.0035 + 0.014 = 0.0175
    [TestCase("PRIORITY", 0.0175)]
    public void OpenAi_o3_service_tiers(string? serviceTier, decimal expectedTotal)
    {
        var cost = Catalog.Calculate("openai", "o3", null, LlmUsage.ForOpenAi(1_000, 1_000), serviceTier)!;
        Assert.That(cost.Total, Is.EqualTo(expectedTotal));
    }

    [Test]
    public void Service_tier_and_long_context_together_use_the_combined_tier()
    {
        // gpt-5.4, flex and 300,000 input tokens (>272K): "Flex · Large context" $2.50/M input, $11.25/M output.
        // 300,000 × $2.50/M + 1,000 × $11.25/M = 0.75 + 0.01125 = 0.76125
        var cost = Catalog.Calculate("openai", "gpt-5.4", null, LlmUsage.ForOpenAi(300_000, 1_000), "flex")!;
        Assert.That(cost.Total, Is.EqualTo(0.76125m));
    }

    [Test]
    public void A_service_tier_beats_a_long_context_tier_when_no_combined_tier_exists()
    {
        // gpt-5.4, priority and 300,000 input tokens: no "priority + large" tier, so "Fast mode": $5/M, $30/M.
        // 300,000 × $5/M + 1,000 × $30/M = 1.5 + 0.03 = 1.53
        var cost = Catalog.Calculate("openai", "gpt-5.4", null, LlmUsage.ForOpenAi(300_000, 1_000), "priority")!;
        Assert.That(cost.Total, Is.EqualTo(1.53m));
    }

    [Test]
    public void Batch_is_half_price_through_the_provider_multiplier()
    {
        // claude-sonnet-4-5, batch: 50% of $3/M and $15/M.
        // 1,000 × $1.50/M + 1,000 × $7.50/M = 0.0015 + 0.0075 = 0.009
        var cost = Catalog.Calculate("anthropic", "claude-sonnet-4-5", null, LlmUsage.ForAnthropic(1_000, 1_000), "batch")!;
        Assert.That(cost.Total, Is.EqualTo(0.009m));
    }

    [Test]
    public void Vertex_on_demand_priority_means_priority()
    {
        Assert.Multiple(() =>
        {
            Assert.That(LlmPriceEntry.NormalizeServiceTier("ON_DEMAND_PRIORITY"), Is.EqualTo("priority"));
            Assert.That(LlmPriceEntry.NormalizeServiceTier("ON_DEMAND_FLEX"), Is.EqualTo("flex"));
            Assert.That(LlmPriceEntry.NormalizeServiceTier("ON_DEMAND"), Is.Null);
            Assert.That(LlmPriceEntry.NormalizeServiceTier(" standard "), Is.Null);
            Assert.That(LlmPriceEntry.NormalizeServiceTier("flex"), Is.EqualTo("flex"));
        });
    }

    [Test]
    public void Among_long_context_tiers_the_highest_crossed_threshold_wins()
    {
        var options = new LlmPricingOptions();
        var price = new LlmModelPrice { InputPerMillion = 1, OutputPerMillion = 1 };
        price.Tiers.Add(new LlmModelPriceTier { AboveInputTokens = 128_000, InputPerMillion = 2 });
        price.Tiers.Add(new LlmModelPriceTier { AboveInputTokens = 256_000, InputPerMillion = 3 });
        options.Overrides["stepped"] = price;
        var catalog = PriceCatalog.Create(options);

        decimal InputCost(long tokens) => catalog.Calculate(null, "stepped", null, LlmUsage.ForOpenAi(tokens, 0))!.Input;

        Assert.Multiple(() =>
        {
            Assert.That(InputCost(128_000), Is.EqualTo(0.128m));   // 128,000 × $1/M
            Assert.That(InputCost(128_001), Is.EqualTo(0.256002m)); // 128,001 × $2/M
            Assert.That(InputCost(256_001), Is.EqualTo(0.768003m)); // 256,001 × $3/M
        });
    }
}
