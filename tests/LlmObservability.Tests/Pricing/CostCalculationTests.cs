using LlmObservability.Payload;
using LlmObservability.Pricing;

namespace LlmObservability.Tests.Pricing;

/// <summary>Worked examples per provider against the built-in table; the arithmetic is in each test's comment.</summary>
public class CostCalculationTests
{
    private static readonly PriceCatalog Catalog = PriceCatalog.CreateDefault();

    private static LlmCost Cost(string provider, string model, LlmUsage usage, string? serviceTier = null)
    {
        var cost = Catalog.Calculate(provider, model, null, usage, serviceTier);
        Assert.That(cost, Is.Not.Null, $"{model} should be priced");
        return cost!;
    }

    [Test]
    public void OpenAi_cached_tokens_are_inside_prompt_tokens()
    {
        // gpt-4o: $2.50/M input, $1.25/M cached input, $10/M output. prompt_tokens 1,500 includes 500 cached.
        // 1,000 uncached × $2.50/M = 0.0025
        //   500 cached   × $1.25/M = 0.000625
        //   200 output   × $10/M   = 0.002
        //                   total  = 0.005125
        var cost = Cost("openai", "gpt-4o", LlmUsage.ForOpenAi(promptTokens: 1_500, completionTokens: 200, cachedTokens: 500));

        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.0025m));
            Assert.That(cost.CacheRead, Is.EqualTo(0.000625m));
            Assert.That(cost.CacheCreation, Is.Zero);
            Assert.That(cost.Output, Is.EqualTo(0.002m));
            Assert.That(cost.Reasoning, Is.Zero);
            Assert.That(cost.Total, Is.EqualTo(0.005125m));
            Assert.That(cost.PriceKey, Is.EqualTo("gpt-4o"));
            Assert.That(cost.PriceSource, Is.EqualTo("builtin"));
        });
    }

    [Test]
    public void OpenAi_reasoning_without_a_separate_price_is_billed_as_output()
    {
        // o3: $2/M input, $8/M output, no separate reasoning price. completion_tokens 1,500 include 1,200 reasoning.
        // 2,000 input  × $2/M = 0.004
        // 1,500 output × $8/M = 0.012   (reasoning inside, billed as output; reasoning cost 0)
        //              total  = 0.016
        var cost = Cost("openai", "o3-2025-04-16", LlmUsage.ForOpenAi(promptTokens: 2_000, completionTokens: 1_500, reasoningTokens: 1_200));

        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.004m));
            Assert.That(cost.Output, Is.EqualTo(0.012m));
            Assert.That(cost.Reasoning, Is.Zero);
            Assert.That(cost.Total, Is.EqualTo(0.016m));
            Assert.That(cost.PriceKey, Is.EqualTo("o3-2025-04-16"));
        });
    }

    [Test]
    public void Reasoning_with_a_separate_price_is_taken_out_of_the_output()
    {
        var options = new LlmPricingOptions();
        options.Overrides["thinker-1"] = new LlmModelPrice { InputPerMillion = 1, OutputPerMillion = 4, ReasoningPerMillion = 10 };
        var catalog = PriceCatalog.Create(options);

        // completion_tokens 500 include 300 reasoning (OpenAI style).
        // 1,000 input     × $1/M  = 0.001
        //   200 output    × $4/M  = 0.0008   (500 − 300 reasoning)
        //   300 reasoning × $10/M = 0.003
        //                   total = 0.0048
        var cost = catalog.Calculate("openai", "thinker-1", null, LlmUsage.ForOpenAi(1_000, 500, reasoningTokens: 300))!;

        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.001m));
            Assert.That(cost.Output, Is.EqualTo(0.0008m));
            Assert.That(cost.Reasoning, Is.EqualTo(0.003m));
            Assert.That(cost.Total, Is.EqualTo(0.0048m));
        });
    }

    [Test]
    public void Anthropic_cache_reads_and_writes_are_beside_input_tokens()
    {
        // claude-sonnet-4-5: $3/M input, $0.30/M cache read, $3.75/M 5-minute write, $6/M 1-hour write, $15/M output.
        // input_tokens 1,000 (uncached), cache_read 2,000, cache_creation 3,000 of which 1,000 with a 1-hour TTL.
        // 1,000 input        × $3/M    = 0.003
        // 2,000 cache read   × $0.30/M = 0.0006
        // 2,000 5-min write  × $3.75/M = 0.0075
        // 1,000 1-hour write × $6/M    = 0.006    → cache_creation 0.0135
        //   500 output       × $15/M   = 0.0075
        //                        total = 0.0246
        var usage = LlmUsage.ForAnthropic(inputTokens: 1_000, outputTokens: 500, cacheReadInputTokens: 2_000, cacheCreationInputTokens: 3_000, cacheCreation1hInputTokens: 1_000);
        var cost = Cost("anthropic", "claude-sonnet-4-5-20250929", usage);

        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.003m));
            Assert.That(cost.CacheRead, Is.EqualTo(0.0006m));
            Assert.That(cost.CacheCreation, Is.EqualTo(0.0135m));
            Assert.That(cost.Output, Is.EqualTo(0.0075m));
            Assert.That(cost.Total, Is.EqualTo(0.0246m));
            Assert.That(cost.PriceKey, Is.EqualTo("claude-sonnet-4-5-20250929"));
        });
    }

    [Test]
    public void The_same_counts_cost_differently_under_the_two_cache_accountings()
    {
        var options = new LlmPricingOptions();
        options.Overrides["flat-model"] = new LlmModelPrice { InputPerMillion = 10, OutputPerMillion = 10, CacheReadPerMillion = 1 };
        var catalog = PriceCatalog.Create(options);
        var counts = new LlmUsage { PromptTokens = 1_000, CachedPromptTokens = 400 };

        // Inside (OpenAI): 600 uncached × $10/M + 400 cached × $1/M = 0.006 + 0.0004 = 0.0064
        var inside = catalog.Calculate("openai", "flat-model", null, counts with { CacheAccounting = LlmCacheAccounting.CachedIncludedInPrompt })!;
        // Beside (Anthropic): 1,000 uncached × $10/M + 400 cached × $1/M = 0.01 + 0.0004 = 0.0104
        var beside = catalog.Calculate("anthropic", "flat-model", null, counts with { CacheAccounting = LlmCacheAccounting.CachedBesidePrompt })!;

        Assert.Multiple(() =>
        {
            Assert.That(inside.Input, Is.EqualTo(0.006m));
            Assert.That(inside.Total, Is.EqualTo(0.0064m));
            Assert.That(beside.Input, Is.EqualTo(0.01m));
            Assert.That(beside.Total, Is.EqualTo(0.0104m));
        });
    }

    [Test]
    public void Cached_tokens_are_never_charged_twice_even_when_counts_disagree()
    {
        // A provider reporting more cached than prompt tokens (inconsistent) must not produce negative input.
        // gpt-4o: 0 uncached; 500 cached × $1.25/M = 0.000625
        var cost = Cost("openai", "gpt-4o", LlmUsage.ForOpenAi(promptTokens: 300, completionTokens: 0, cachedTokens: 500));
        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.Zero);
            Assert.That(cost.Total, Is.EqualTo(0.000625m));
        });
    }

    [Test]
    public void Gemini_thoughts_are_beside_candidates_and_billed_as_output()
    {
        // gemini-2.5-pro (≤200K): $1.25/M input, $0.125/M cached, $10/M output (thinking billed as output).
        // promptTokenCount 10,000 includes 4,000 cached; candidates 1,000 + thoughts 500.
        // 6,000 uncached × $1.25/M  = 0.0075
        // 4,000 cached   × $0.125/M = 0.0005
        // 1,500 output   × $10/M    = 0.015
        //                     total = 0.023
        var cost = Cost("gemini", "gemini-2.5-pro", LlmUsage.ForGemini(10_000, 1_000, cachedContentTokenCount: 4_000, thoughtsTokenCount: 500));

        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.0075m));
            Assert.That(cost.CacheRead, Is.EqualTo(0.0005m));
            Assert.That(cost.Output, Is.EqualTo(0.015m));
            Assert.That(cost.Reasoning, Is.Zero);
            Assert.That(cost.Total, Is.EqualTo(0.023m));
        });
    }

    [Test]
    public void DeepSeek_cache_hits_are_inside_prompt_tokens()
    {
        // deepseek-chat: $0.28/M cache miss, $0.028/M cache hit, $0.42/M output.
        // 4,000 miss × $0.28/M  = 0.00112
        // 6,000 hit  × $0.028/M = 0.000168
        // 1,000 out  × $0.42/M  = 0.00042
        //                 total = 0.001708
        var cost = Cost("deepseek", "deepseek-chat", LlmUsage.ForOpenAi(10_000, 1_000, cachedTokens: 6_000));

        Assert.Multiple(() =>
        {
            Assert.That(cost.Input, Is.EqualTo(0.00112m));
            Assert.That(cost.CacheRead, Is.EqualTo(0.000168m));
            Assert.That(cost.Output, Is.EqualTo(0.00042m));
            Assert.That(cost.Total, Is.EqualTo(0.001708m));
        });
    }

    [Test]
    public void Mistral_latest_alias_prices_the_listed_version()
    {
        // mistral-large-latest → mistral-large-2411: $2/M input, $6/M output.
        // 1,000 × $2/M + 1,000 × $6/M = 0.002 + 0.006 = 0.008
        var cost = Cost("mistral", "mistral-large-latest", LlmUsage.ForOpenAi(1_000, 1_000));
        Assert.Multiple(() =>
        {
            Assert.That(cost.Total, Is.EqualTo(0.008m));
            Assert.That(cost.PriceKey, Is.EqualTo("mistral-large-2411"));
        });
    }

    [Test]
    public void XAi_grok_4_standard_and_long_context()
    {
        // grok-4: $3/M input, $0.75/M cached, $15/M output; above 128K input: $6/M input, $30/M output.
        // 1,000 × $3/M + 100 × $15/M = 0.003 + 0.0015 = 0.0045
        var small = Cost("xai", "grok-4", LlmUsage.ForOpenAi(1_000, 100));
        // 128,001 × $6/M + 100 × $30/M = 0.768006 + 0.003 = 0.771006
        var large = Cost("xai", "grok-4", LlmUsage.ForOpenAi(128_001, 100));

        Assert.Multiple(() =>
        {
            Assert.That(small.Total, Is.EqualTo(0.0045m));
            Assert.That(small.PriceKey, Is.EqualTo("grok-4-0709"));
            Assert.That(large.Total, Is.EqualTo(0.771006m));
        });
    }

    [Test]
    public void Zero_usage_of_a_known_model_costs_zero_not_null()
    {
        var cost = Cost("openai", "gpt-4o-mini", new LlmUsage());
        Assert.That(cost.Total, Is.Zero);
    }

    [Test]
    public void Amounts_are_exact_decimals_without_trailing_zeros()
    {
        var cost = Cost("openai", "gpt-4o", LlmUsage.ForOpenAi(1_000, 0));
        Assert.That(cost.Input.ToString(System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo("0.0025"));
    }

    [Test]
    public void Per_million_prices_convert_exactly()
    {
        var prices = LlmTokenPrices.PerMillion(2.5m, 10m, cacheRead: 0.125m);
        Assert.Multiple(() =>
        {
            Assert.That(prices.Input, Is.EqualTo(0.0000025m));
            Assert.That(prices.Output, Is.EqualTo(0.00001m));
            Assert.That(prices.CacheRead, Is.EqualTo(0.000000125m));
            Assert.That(prices.CacheCreation, Is.Null);
        });
    }
}
