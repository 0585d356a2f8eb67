namespace LlmObservability.Pricing;

/// <summary>How a provider's prompt-token count relates to its cached and cache-write token counts.</summary>
public enum LlmCacheAccounting
{
    /// <summary>
    /// <see cref="LlmUsage.PromptTokens"/> counts every input token, cached reads and cache writes included
    /// (OpenAI <c>prompt_tokens</c>, Gemini <c>promptTokenCount</c>, DeepSeek <c>prompt_tokens</c>, xAI).
    /// Uncached input = prompt − cached − cache writes.
    /// </summary>
    CachedIncludedInPrompt,

    /// <summary>
    /// <see cref="LlmUsage.PromptTokens"/> counts uncached input only; cached reads and cache writes are reported
    /// beside it (Anthropic <c>input_tokens</c> next to <c>cache_read_input_tokens</c> and
    /// <c>cache_creation_input_tokens</c>). Uncached input = prompt.
    /// </summary>
    CachedBesidePrompt,
}

/// <summary>How a provider's completion-token count relates to its reasoning-token count.</summary>
public enum LlmReasoningAccounting
{
    /// <summary>
    /// <see cref="LlmUsage.CompletionTokens"/> already includes the reasoning tokens (OpenAI
    /// <c>completion_tokens_details.reasoning_tokens</c>, DeepSeek, Anthropic thinking inside <c>output_tokens</c>).
    /// </summary>
    ReasoningIncludedInCompletion,

    /// <summary>
    /// Reasoning tokens are reported beside the completion tokens (Gemini <c>thoughtsTokenCount</c> next to
    /// <c>candidatesTokenCount</c>) and are billed on top of them.
    /// </summary>
    ReasoningBesideCompletion,
}

/// <summary>
/// Token counts of one call as the provider reported them, with the two flags that say how the counts overlap, so
/// that a cost calculation never charges a token twice. Counts that the provider did not report are 0.
/// </summary>
/// <remarks>
/// Use the factory that matches the wire format (<see cref="ForOpenAi"/>, <see cref="ForAnthropic"/>,
/// <see cref="ForGemini"/>) or set the properties and flags yourself. Negative counts are treated as 0.
/// </remarks>
public sealed record LlmUsage
{
    /// <summary>Input tokens as the provider counts them; see <see cref="CacheAccounting"/> for what that includes.</summary>
    public long PromptTokens { get; init; }

    /// <summary>Output tokens as the provider counts them; see <see cref="ReasoningAccounting"/> for what that includes.</summary>
    public long CompletionTokens { get; init; }

    /// <summary>Input tokens read from the provider's prompt cache.</summary>
    public long CachedPromptTokens { get; init; }

    /// <summary>
    /// Input tokens written to the provider's prompt cache, all cache lifetimes together (Anthropic
    /// <c>cache_creation_input_tokens</c>). The part written with a one-hour lifetime is
    /// <see cref="CacheCreation1hTokens"/>; the rest is billed at the five-minute (default) cache-write price.
    /// </summary>
    public long CacheCreationTokens { get; init; }

    /// <summary>
    /// The part of <see cref="CacheCreationTokens"/> written with a one-hour cache lifetime (Anthropic
    /// <c>cache_creation.ephemeral_1h_input_tokens</c>). When it exceeds <see cref="CacheCreationTokens"/> it is
    /// taken as the whole cache write.
    /// </summary>
    public long CacheCreation1hTokens { get; init; }

    /// <summary>Reasoning ("thinking") tokens; see <see cref="ReasoningAccounting"/>.</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>
    /// Every input token, cache reads and writes included, whichever way the provider counts them: what the OpenTelemetry
    /// GenAI conventions' <c>gen_ai.usage.input_tokens</c> means.
    /// </summary>
    public long TotalInputTokens => CacheAccounting == LlmCacheAccounting.CachedBesidePrompt
        ? Math.Max(0, PromptTokens) + Math.Max(0, CachedPromptTokens) + Math.Max(0, CacheCreationTokens)
        : Math.Max(0, PromptTokens);

    /// <summary>
    /// Every output token, reasoning included, whichever way the provider counts them: what the OpenTelemetry GenAI
    /// conventions' <c>gen_ai.usage.output_tokens</c> means.
    /// </summary>
    public long TotalOutputTokens => ReasoningAccounting == LlmReasoningAccounting.ReasoningBesideCompletion
        ? Math.Max(0, CompletionTokens) + Math.Max(0, ReasoningTokens)
        : Math.Max(0, CompletionTokens);

    /// <summary>Whether <see cref="PromptTokens"/> includes cached and cache-write tokens. Default: included (OpenAI style).</summary>
    public LlmCacheAccounting CacheAccounting { get; init; } = LlmCacheAccounting.CachedIncludedInPrompt;

    /// <summary>Whether <see cref="CompletionTokens"/> includes reasoning tokens. Default: included (OpenAI style).</summary>
    public LlmReasoningAccounting ReasoningAccounting { get; init; } = LlmReasoningAccounting.ReasoningIncludedInCompletion;

    /// <summary>
    /// Usage in OpenAI's shape (also DeepSeek, xAI, Mistral and other OpenAI-compatible APIs): <c>prompt_tokens</c>
    /// includes <c>prompt_tokens_details.cached_tokens</c>, and <c>completion_tokens</c> includes
    /// <c>completion_tokens_details.reasoning_tokens</c>.
    /// </summary>
    /// <param name="promptTokens"><c>usage.prompt_tokens</c> (Responses API: <c>input_tokens</c>).</param>
    /// <param name="completionTokens"><c>usage.completion_tokens</c> (Responses API: <c>output_tokens</c>).</param>
    /// <param name="cachedTokens"><c>prompt_tokens_details.cached_tokens</c>.</param>
    /// <param name="reasoningTokens"><c>completion_tokens_details.reasoning_tokens</c>.</param>
    /// <returns>The usage, flagged as cached-in-prompt and reasoning-in-completion.</returns>
    public static LlmUsage ForOpenAi(long promptTokens, long completionTokens, long cachedTokens = 0, long reasoningTokens = 0) => new()
    {
        PromptTokens = promptTokens,
        CompletionTokens = completionTokens,
        CachedPromptTokens = cachedTokens,
        ReasoningTokens = reasoningTokens,
        CacheAccounting = LlmCacheAccounting.CachedIncludedInPrompt,
        ReasoningAccounting = LlmReasoningAccounting.ReasoningIncludedInCompletion,
    };

    /// <summary>
    /// Usage in Anthropic's Messages shape: <c>input_tokens</c> counts uncached input only, beside
    /// <c>cache_read_input_tokens</c> and <c>cache_creation_input_tokens</c>; thinking is inside <c>output_tokens</c>.
    /// </summary>
    /// <param name="inputTokens"><c>usage.input_tokens</c>.</param>
    /// <param name="outputTokens"><c>usage.output_tokens</c>.</param>
    /// <param name="cacheReadInputTokens"><c>usage.cache_read_input_tokens</c>.</param>
    /// <param name="cacheCreationInputTokens"><c>usage.cache_creation_input_tokens</c> (all lifetimes).</param>
    /// <param name="cacheCreation1hInputTokens"><c>usage.cache_creation.ephemeral_1h_input_tokens</c>.</param>
    /// <returns>The usage, flagged as cached-beside-prompt and reasoning-in-completion.</returns>
    public static LlmUsage ForAnthropic(
        long inputTokens, long outputTokens, long cacheReadInputTokens = 0, long cacheCreationInputTokens = 0, long cacheCreation1hInputTokens = 0) => new()
    {
        PromptTokens = inputTokens,
        CompletionTokens = outputTokens,
        CachedPromptTokens = cacheReadInputTokens,
        CacheCreationTokens = cacheCreationInputTokens,
        CacheCreation1hTokens = cacheCreation1hInputTokens,
        CacheAccounting = LlmCacheAccounting.CachedBesidePrompt,
        ReasoningAccounting = LlmReasoningAccounting.ReasoningIncludedInCompletion,
    };

    /// <summary>
    /// Usage in Gemini's <c>usageMetadata</c> shape: <c>promptTokenCount</c> includes <c>cachedContentTokenCount</c>,
    /// and <c>thoughtsTokenCount</c> is reported beside <c>candidatesTokenCount</c>.
    /// </summary>
    /// <param name="promptTokenCount"><c>usageMetadata.promptTokenCount</c>.</param>
    /// <param name="candidatesTokenCount"><c>usageMetadata.candidatesTokenCount</c>.</param>
    /// <param name="cachedContentTokenCount"><c>usageMetadata.cachedContentTokenCount</c>.</param>
    /// <param name="thoughtsTokenCount"><c>usageMetadata.thoughtsTokenCount</c>.</param>
    /// <returns>The usage, flagged as cached-in-prompt and reasoning-beside-completion.</returns>
    public static LlmUsage ForGemini(long promptTokenCount, long candidatesTokenCount, long cachedContentTokenCount = 0, long thoughtsTokenCount = 0) => new()
    {
        PromptTokens = promptTokenCount,
        CompletionTokens = candidatesTokenCount,
        CachedPromptTokens = cachedContentTokenCount,
        ReasoningTokens = thoughtsTokenCount,
        CacheAccounting = LlmCacheAccounting.CachedIncludedInPrompt,
        ReasoningAccounting = LlmReasoningAccounting.ReasoningBesideCompletion,
    };
}
