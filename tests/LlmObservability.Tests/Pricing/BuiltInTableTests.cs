using LlmObservability.Pricing;

namespace LlmObservability.Tests.Pricing;

/// <summary>The embedded built-in table: it loads, covers the providers, and is internally consistent.</summary>
public class BuiltInTableTests
{
    [Test]
    public void Has_a_version_and_an_update_date()
    {
        Assert.Multiple(() =>
        {
            Assert.That(PriceCatalog.BuiltInVersion, Does.Match(@"^\d{4}\.\d{2}\.\d{2}$"));
            Assert.That(PriceCatalog.BuiltInUpdated, Does.Match(@"^\d{4}-\d{2}-\d{2}$"));
        });
    }

    [TestCase("openai", 50)]
    [TestCase("anthropic", 20)]
    [TestCase("google", 15)]
    [TestCase("mistral", 15)]
    [TestCase("deepseek", 2)]
    [TestCase("xai", 5)]
    public void Covers_the_provider(string provider, int atLeast) =>
        Assert.That(PriceCatalog.BuiltInEntries.Count(e => e.Provider == provider), Is.GreaterThanOrEqualTo(atLeast));

    [Test]
    public void Every_entry_is_well_formed()
    {
        Assert.Multiple(() =>
        {
            foreach (var entry in PriceCatalog.BuiltInEntries)
            {
                Assert.That(entry.Source, Is.EqualTo("builtin"));
                Assert.That(entry.Key, Is.EqualTo(entry.Key.Trim()).And.Not.Empty);
                Assert.That(entry.Prices.Input, Is.GreaterThan(0m), entry.Key);
                Assert.That(entry.Prices.Output, Is.GreaterThanOrEqualTo(0m), entry.Key);
                Assert.That(entry.Prices.CacheRead ?? 0m, Is.LessThanOrEqualTo(entry.Prices.Input), $"{entry.Key}: cache reads cost less than input");
                foreach (var tier in entry.Tiers)
                {
                    Assert.That(tier.ServiceTiers.Count > 0 || tier.AboveInputTokens is not null, Is.True, $"{entry.Key}: tier {tier.Name} has a condition");
                }
            }
        });
    }

    [Test]
    public void Keys_and_aliases_are_unique()
    {
        var names = PriceCatalog.BuiltInEntries.SelectMany(e => e.Aliases.Prepend(e.Key)).ToList();
        Assert.That(names, Is.Unique.Using((IEqualityComparer<string>)StringComparer.OrdinalIgnoreCase));
    }

    [Test]
    public void Batch_multiplier_applies_to_providers_with_a_batch_api()
    {
        var gpt4o = PriceCatalog.BuiltInEntries.Single(e => e.Key == "gpt-4o");
        var deepseek = PriceCatalog.BuiltInEntries.Single(e => e.Key == "deepseek-chat");
        Assert.Multiple(() =>
        {
            Assert.That(gpt4o.ServiceTierMultipliers["batch"], Is.EqualTo(0.5m));
            Assert.That(deepseek.ServiceTierMultipliers, Is.Empty);
        });
    }
}
