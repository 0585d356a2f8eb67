using LlmObservability.Payload;

namespace LlmObservability.Pricing;

/// <summary>
/// The arithmetic of a call's cost, given a price entry and the call's usage. Pure and allocation-light; use
/// <see cref="PriceCatalog.Calculate"/> to find the entry by model name first.
/// </summary>
/// <remarks>
/// <para>Token classes, each billed once:</para>
/// <list type="bullet">
/// <item><description>uncached input = prompt − cache reads − cache writes when the provider counts them inside the
/// prompt (<see cref="LlmCacheAccounting.CachedIncludedInPrompt"/>), or prompt when it reports them beside it
/// (<see cref="LlmCacheAccounting.CachedBesidePrompt"/>); never below 0;</description></item>
/// <item><description>cache reads at <see cref="LlmTokenPrices.CacheRead"/> (else the input price);</description></item>
/// <item><description>cache writes: the one-hour part at <see cref="LlmTokenPrices.CacheCreation1h"/>, the rest at
/// <see cref="LlmTokenPrices.CacheCreation"/> (each falling back as documented there);</description></item>
/// <item><description>reasoning: when the model has a separate reasoning price, reasoning tokens are billed at it and
/// taken out of the output; otherwise they are billed as output and the <c>reasoning</c> cost is 0. Reasoning tokens
/// reported beside the completion (<see cref="LlmReasoningAccounting.ReasoningBesideCompletion"/>) are added to it.</description></item>
/// </list>
/// <para>The long-context tier is chosen by the call's total input (uncached + cache reads + cache writes). Amounts
/// are exact decimals with trailing zeros removed; nothing is rounded.</para>
/// </remarks>
public static class LlmCostCalculator
{
    /// <summary>Computes the cost of one call.</summary>
    /// <param name="entry">The price entry for the model that served the call.</param>
    /// <param name="usage">The call's token counts.</param>
    /// <param name="serviceTier">The service tier from the request or response (e.g. <c>flex</c>, <c>priority</c>, <c>batch</c>), or null.</param>
    /// <returns>The cost, with <see cref="LlmCost.PriceKey"/> and <see cref="LlmCost.PriceSource"/> taken from the entry.</returns>
    public static LlmCost Calculate(LlmPriceEntry entry, LlmUsage usage, string? serviceTier = null)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ArgumentNullException.ThrowIfNull(usage);

        var prompt = Math.Max(0, usage.PromptTokens);
        var completion = Math.Max(0, usage.CompletionTokens);
        var cacheRead = Math.Max(0, usage.CachedPromptTokens);
        var cacheWrite1h = Math.Max(0, usage.CacheCreation1hTokens);
        var cacheWrite = Math.Max(Math.Max(0, usage.CacheCreationTokens), cacheWrite1h);
        var cacheWrite5m = cacheWrite - cacheWrite1h;
        var reasoning = Math.Max(0, usage.ReasoningTokens);

        var uncachedInput = usage.CacheAccounting == LlmCacheAccounting.CachedBesidePrompt
            ? prompt
            : Math.Max(0, prompt - cacheRead - cacheWrite);
        var totalInput = uncachedInput + cacheRead + cacheWrite;

        var prices = entry.SelectPrices(totalInput, serviceTier);

        long outputTokens;
        long separatelyPricedReasoning;
        if (usage.ReasoningAccounting == LlmReasoningAccounting.ReasoningBesideCompletion)
        {
            separatelyPricedReasoning = prices.Reasoning is null ? 0 : reasoning;
            outputTokens = prices.Reasoning is null ? completion + reasoning : completion;
        }
        else
        {
            var reasoningInside = Math.Min(reasoning, completion);
            separatelyPricedReasoning = prices.Reasoning is null ? 0 : reasoningInside;
            outputTokens = completion - separatelyPricedReasoning;
        }

        var input = uncachedInput * prices.Input;
        var read = cacheRead * (prices.CacheRead ?? prices.Input);
        var write5mPrice = prices.CacheCreation ?? prices.Input;
        var write = (cacheWrite5m * write5mPrice) + (cacheWrite1h * (prices.CacheCreation1h ?? write5mPrice));
        var output = outputTokens * prices.Output;
        var reasoningCost = separatelyPricedReasoning * (prices.Reasoning ?? 0m);

        return new LlmCost
        {
            Input = Trim(input),
            CacheRead = Trim(read),
            CacheCreation = Trim(write),
            Output = Trim(output),
            Reasoning = Trim(reasoningCost),
            Total = Trim(input + read + write + output + reasoningCost),
            PriceKey = entry.Key,
            PriceSource = entry.Source,
        };
    }

    /// <summary>Removes trailing zeros (0.0050500000 → 0.00505) so amounts serialise as written in the price list.</summary>
    private static decimal Trim(decimal value) => value / 1.0000000000000000000000000000m;
}
