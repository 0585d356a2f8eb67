using LlmObservability.Pricing;
using LlmObservability.Tokenizers;
using Microsoft.Extensions.DependencyInjection;

namespace LlmObservability.Tests.Pricing;

/// <summary>The tiktoken estimator in LlmObservability.Tokenizers.</summary>
public class TokenEstimatorTests
{
    private static readonly TiktokenTokenEstimator Estimator = TiktokenTokenEstimator.Default;

    [TestCase("gpt-4o", "o200k_base")]
    [TestCase("gpt-4o-mini-2024-07-18", "o200k_base")]
    [TestCase("chatgpt-4o-latest", "o200k_base")]
    [TestCase("gpt-4.1-nano", "o200k_base")]
    [TestCase("gpt-5", "o200k_base")]
    [TestCase("gpt-5.4-mini", "o200k_base")]
    [TestCase("o1", "o200k_base")]
    [TestCase("o3-mini", "o200k_base")]
    [TestCase("o4-mini-2025-04-16", "o200k_base")]
    [TestCase("openai/gpt-oss-120b", "o200k_base")]
    [TestCase("ft:gpt-4o-mini:acme::abc", "o200k_base")]
    [TestCase("gpt-4", "cl100k_base")]
    [TestCase("gpt-4-turbo-2024-04-09", "cl100k_base")]
    [TestCase("gpt-3.5-turbo", "cl100k_base")]
    [TestCase("gpt-35-turbo", "cl100k_base")]
    [TestCase("text-embedding-3-small", "cl100k_base")]
    public void Chooses_the_encoding_of_OpenAI_models(string model, string encoding)
    {
        Assert.That(Estimator.EncodingFor(model), Is.EqualTo(encoding));
        Assert.That(TiktokenTokenEstimator.OpenAiEncoding(model), Is.EqualTo(encoding));
    }

    [TestCase("claude-sonnet-4-5")]
    [TestCase("gemini-2.5-pro")]
    [TestCase("mistral-large-latest")]
    [TestCase("omni-x")] // not an o-series name
    [TestCase(null)]
    public void Approximates_other_models_with_cl100k_or_declines(string? model)
    {
        var strict = new TiktokenTokenEstimator(new TiktokenTokenEstimatorOptions { ApproximateOtherModels = false });
        Assert.Multiple(() =>
        {
            Assert.That(Estimator.EncodingFor(model), Is.EqualTo("cl100k_base"));
            Assert.That(strict.EncodingFor(model), Is.Null);
            Assert.That(strict.CountTokens(model, "Hello, world!"), Is.Null);
        });
    }

    // Reference counts from OpenAI's tiktoken, cross-checked with the independent gpt-tokenizer implementation:
    // "Hello, world!" is Hello | , | ␠world | ! in both encodings.
    [TestCase("gpt-4o", "Hello, world!", 4)]
    [TestCase("gpt-4", "Hello, world!", 4)]
    [TestCase("gpt-4o", "", 0)]
    public void Counts_tokens(string model, string text, int expected) =>
        Assert.That(Estimator.CountTokens(model, text), Is.EqualTo(expected));

    [Test]
    public void The_two_encodings_differ_where_o200k_has_a_larger_vocabulary()
    {
        // Non-English text is where o200k_base's larger vocabulary shows (reference counts cross-checked as above).
        const string text = "こんにちは、世界！今日はいい天気ですね。";
        var o200k = Estimator.CountTokens("gpt-4o", text);
        var cl100k = Estimator.CountTokens("gpt-4", text);
        Assert.Multiple(() =>
        {
            Assert.That(o200k, Is.EqualTo(10));
            Assert.That(cl100k, Is.EqualTo(17));
        });
    }

    [Test]
    public void Registers_as_the_token_estimator()
    {
        using var provider = new ServiceCollection().AddTiktokenTokenEstimator().BuildServiceProvider();
        Assert.That(provider.GetRequiredService<ILlmTokenEstimator>().CountTokens("gpt-4o", "Hello, world!"), Is.EqualTo(4));
    }
}
