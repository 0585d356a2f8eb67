namespace LlmObservability.Pricing;

/// <summary>
/// Counts tokens in text for a model, to estimate usage when a provider reports none (the payload then says
/// <c>usage_estimated: true</c>). The core package has no implementation, to stay free of tokenizer data; the
/// <c>LlmObservability.Tokenizers</c> package provides one based on OpenAI's tiktoken encodings.
/// </summary>
/// <remarks>Implementations must be thread-safe: one instance serves every call.</remarks>
public interface ILlmTokenEstimator
{
    /// <summary>Counts the tokens <paramref name="text"/> would take for <paramref name="model"/>.</summary>
    /// <param name="model">The model name as the call used it, or null when unknown.</param>
    /// <param name="text">The text to count.</param>
    /// <returns>The token count, or null when this estimator cannot estimate for the model.</returns>
    int? CountTokens(string? model, string text);
}
