using LlmObservability.Pricing;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Tests.Pricing;

/// <summary>How names that calls use find their price entry.</summary>
public class ModelResolutionTests
{
    private static readonly PriceCatalog Catalog = PriceCatalog.CreateDefault();

    [TestCase("openai", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06")]      // dated entry listed: itself
    [TestCase("openai", "gpt-4o-2099-01-01", "gpt-4o")]                  // dated entry not listed: the undated one
    [TestCase("openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18")]
    [TestCase("openai", "GPT-4O", "gpt-4o")]                             // case-insensitive
    [TestCase("openrouter", "openai/gpt-4o", "gpt-4o")]                  // path prefix
    [TestCase("openai", "gpt-5.5", "gpt-5.5-2026-04-23")]                // alias
    [TestCase("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929")]
    [TestCase("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929")]
    [TestCase("openrouter", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929")]
    [TestCase("openrouter", "anthropic/claude-sonnet-4.5", "claude-sonnet-4-5-20250929")] // OpenRouter writes Claude versions with a dot
    [TestCase("openrouter", "anthropic/claude-opus-4.1", "claude-opus-4-1-20250805")]
    [TestCase("openrouter", "anthropic/claude-haiku-4.5", "claude-haiku-4-5-20251001")]
    [TestCase("openrouter", "anthropic/claude-3.5-haiku", "claude-3-5-haiku-20241022")]    // dotted, then the newest dated entry
    [TestCase("openrouter", "openai/gpt-4.1", "gpt-4.1")]                                  // real dots stay as written
    [TestCase("openrouter", "openai/gpt-4.1-mini-2025-04-14", "gpt-4.1-mini-2025-04-14")]
    [TestCase("openrouter", "google/gemini-2.5-flash", "gemini-2.5-flash")]
    [TestCase("anthropic", "claude-3-5-haiku", "claude-3-5-haiku-20241022")] // undated → newest dated entry
    [TestCase("anthropic", "claude-3-7-sonnet-20250219", "claude-3-7-sonnet-20250219")]
    [TestCase("gemini", "models/gemini-2.5-pro", "gemini-2.5-pro")]
    [TestCase("gemini", "gemini-2.0-flash-001", "gemini-2.0-flash-001")]
    [TestCase("gemini", "gemini-2.0-flash-002", "gemini-2.0-flash")]       // revision suffix
    [TestCase("mistral", "mistral-small-latest", "mistral-small-2506")]
    [TestCase("deepseek", "deepseek-reasoner", "deepseek-reasoner")]
    [TestCase("xai", "grok-3-mini-latest", "grok-3-mini")]
    [TestCase("azure_openai", "gpt-35-turbo", "gpt-3.5-turbo")]
    public void Resolves(string provider, string model, string expectedKey) =>
        Assert.That(Catalog.Find(provider, model)?.Key, Is.EqualTo(expectedKey));

    [TestCase("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620")]
    [TestCase("us.anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet-20240620")]
    [TestCase("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929")]
    [TestCase("global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001")]
    [TestCase("apac.anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku-20240307")]
    [TestCase("anthropic.claude-sonnet-4-5-v1", "claude-sonnet-4-5-20250929")]
    [TestCase("anthropic.claude-3-haiku-20240307-v1:0:200k", "claude-3-haiku-20240307")] // context-window variant
    [TestCase("anthropic.claude-3-haiku-20240307-v1:0:48k", "claude-3-haiku-20240307")]
    [TestCase("us.anthropic.claude-3-5-sonnet-20240620-v1:0:200k", "claude-3-5-sonnet-20240620")]
    public void Resolves_Bedrock_model_ids(string modelId, string expectedKey) =>
        Assert.That(Catalog.Find("bedrock", modelId)?.Key, Is.EqualTo(expectedKey));

    [TestCase("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-20241022")]
    [TestCase("claude-opus-4-1@20250805", "claude-opus-4-1-20250805")]
    [TestCase("claude-3-haiku@20240307", "claude-3-haiku-20240307")]
    public void Resolves_Vertex_AI_versions(string model, string expectedKey) =>
        Assert.That(Catalog.Find("vertex_ai", model)?.Key, Is.EqualTo(expectedKey));

    [TestCase("mistral-large-2512")] // four-digit versions are never stripped: Mistral reprices between them
    [TestCase("ft:gpt-4o-mini:acme::abc123")]
    [TestCase("llama-3.3-70b-versatile")]
    [TestCase("gpt-4.1.5")]            // a dot is only made a dash in a Claude name
    [TestCase("claude-sonnet-9.9")]    // and then the dashed name must be listed too
    [TestCase("")]
    public void Does_not_guess(string model) => Assert.That(Catalog.Find("openai", model), Is.Null);

    [Test]
    public void Azure_deployment_names_map_to_models()
    {
        var options = new LlmPricingOptions();
        options.AzureDeployments["prod-chat"] = "gpt-4o-mini";
        var catalog = PriceCatalog.Create(options);

        // Request names the deployment; no response model (e.g. the stream broke before it arrived).
        // gpt-4o-mini: 1,000 × $0.15/M + 1,000 × $0.60/M = 0.00015 + 0.0006 = 0.00075
        var cost = catalog.Calculate("azure_openai", "prod-chat", null, LlmUsage.ForOpenAi(1_000, 1_000))!;

        Assert.Multiple(() =>
        {
            Assert.That(cost.PriceKey, Is.EqualTo("gpt-4o-mini"));
            Assert.That(cost.Total, Is.EqualTo(0.00075m));
            Assert.That(catalog.Find("azure_openai", "PROD-CHAT")?.Key, Is.EqualTo("gpt-4o-mini"));
        });
    }

    [Test]
    public void The_response_model_is_preferred_when_priced()
    {
        var options = new LlmPricingOptions();
        options.AzureDeployments["prod-chat"] = "gpt-4o-mini";
        var catalog = PriceCatalog.Create(options);

        var served = catalog.Calculate("azure_openai", "prod-chat", "gpt-4o-2024-11-20", LlmUsage.ForOpenAi(10, 10))!;
        var fallback = catalog.Calculate("openai", "gpt-4o", "some-router-alias", LlmUsage.ForOpenAi(10, 10))!;

        Assert.Multiple(() =>
        {
            Assert.That(served.PriceKey, Is.EqualTo("gpt-4o-2024-11-20"));
            Assert.That(fallback.PriceKey, Is.EqualTo("gpt-4o"));
        });
    }

    [Test]
    public void Undated_names_fall_back_to_the_newest_dated_entry()
    {
        var options = new LlmPricingOptions { UseBuiltInPrices = false };
        options.Overrides["acme-model-20240101"] = new LlmModelPrice { InputPerMillion = 1, OutputPerMillion = 1 };
        options.Overrides["acme-model-20250601"] = new LlmModelPrice { InputPerMillion = 2, OutputPerMillion = 2 };
        options.Overrides["acme-model-2025-03-01"] = new LlmModelPrice { InputPerMillion = 3, OutputPerMillion = 3 };
        var catalog = PriceCatalog.Create(options);

        Assert.That(catalog.Find(null, "acme-model")?.Key, Is.EqualTo("acme-model-20250601"));
    }

    [Test]
    public void Unknown_model_costs_null_and_warns_once_per_model()
    {
        var logger = new TestLogger();
        var catalog = PriceCatalog.CreateDefault(logger);
        var usage = LlmUsage.ForOpenAi(100, 100);

        var first = catalog.Calculate("openai", "no-such-model", null, usage);
        var second = catalog.Calculate("openai", "no-such-model", null, usage);
        var other = catalog.Calculate("openai", "another-unknown", null, usage);
        var known = catalog.Calculate("openai", "gpt-4o", null, usage);
        // The same unknown model seen again with the response naming it, in another case, or behind another requested name:
        // the name looked up and not found is the same, so no new warning.
        var answered = catalog.Calculate("openai", "no-such-model", "no-such-model", usage);
        var otherCase = catalog.Calculate("openai", "no-such-model", "NO-SUCH-MODEL", usage);
        var viaAlias = catalog.Calculate("openai", "my-alias", "no-such-model", usage);
        var emptyResponse = catalog.Calculate("openai", "no-such-model", "", usage);

        var warnings = logger.Messages(LogLevel.Warning);
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Null);
            Assert.That(second, Is.Null);
            Assert.That(other, Is.Null);
            Assert.That(known, Is.Not.Null);
            Assert.That(new[] { answered, otherCase, viaAlias, emptyResponse }, Is.All.Null);
            Assert.That(warnings, Has.Count.EqualTo(2));
            Assert.That(warnings.Count(w => w.Contains("'no-such-model'", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(warnings.Count(w => w.Contains("'another-unknown'", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(logger.Entries.Select(e => e.EventId.Id).Distinct(), Is.EqualTo(new[] { 300 }));
        });
    }

    [Test]
    public void Lookups_are_cached()
    {
        var catalog = PriceCatalog.CreateDefault();
        var first = catalog.Find("anthropic", "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
        var second = catalog.Find("anthropic", "US.ANTHROPIC.CLAUDE-SONNET-4-5-20250929-V1:0");
        Assert.That(second, Is.SameAs(first));
    }
}
