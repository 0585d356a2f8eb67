using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmObservability.Pricing;

/// <summary>An entry of a price file that was skipped, and why.</summary>
/// <param name="Key">The entry's name in the file.</param>
/// <param name="Reason">Why it was skipped.</param>
public sealed record LlmPriceLoadProblem(string Key, string Reason)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Key}: {Reason}";
}

/// <summary>
/// Prices read from a file in LiteLLM's <c>model_prices_and_context_window.json</c> format: a JSON object whose
/// members are models (keyed by name, often with a provider prefix such as <c>azure/</c> or <c>bedrock/</c>) with
/// prices in USD per token.
/// </summary>
/// <remarks>
/// <para>Read fields: <c>input_cost_per_token</c>, <c>output_cost_per_token</c>, <c>cache_read_input_token_cost</c>
/// (or DeepSeek's <c>input_cost_per_token_cache_hit</c>), <c>cache_creation_input_token_cost</c>,
/// <c>cache_creation_input_token_cost_above_1hr</c>, <c>output_cost_per_reasoning_token</c>; each also with a
/// <c>_above_{N}k_tokens</c> suffix (a long-context tier above N × 1,000 input tokens) and/or a <c>_flex</c>,
/// <c>_priority</c> or <c>_batches</c> suffix (a service tier; <c>_batches</c> is the <c>batch</c> tier). A tier's
/// missing prices come from the tier without the service-tier suffix, then from the standard prices. Also read:
/// <c>litellm_provider</c> and <c>mode</c>.</para>
/// <para>The <c>sample_spec</c> entry and unknown fields are ignored. Entries without any per-token price (images,
/// audio by the second, ...) are counted in <see cref="IgnoredCount"/>. An entry with a price that is not a
/// non-negative number, or a chat/completion/responses entry without an input or output price, is skipped and listed
/// in <see cref="Problems"/>; loading never fails because of one entry.</para>
/// </remarks>
public sealed partial class LiteLlmPriceTable
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    private LiteLlmPriceTable(IReadOnlyList<LlmPriceEntry> entries, IReadOnlyList<LlmPriceLoadProblem> problems, int ignoredCount, string? origin)
    {
        Entries = entries;
        Problems = problems;
        IgnoredCount = ignoredCount;
        Origin = origin;
    }

    /// <summary>The priced models, in file order.</summary>
    public IReadOnlyList<LlmPriceEntry> Entries { get; }

    /// <summary>Malformed entries that were skipped, with the reason.</summary>
    public IReadOnlyList<LlmPriceLoadProblem> Problems { get; }

    /// <summary>Entries skipped because they carry no per-token price (image, audio-second or per-call pricing).</summary>
    public int IgnoredCount { get; }

    /// <summary>The file path, when loaded from a file.</summary>
    public string? Origin { get; }

    /// <summary>Reads a LiteLLM-format file.</summary>
    /// <param name="path">The file path.</param>
    /// <returns>The table.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="JsonException">The file is not JSON.</exception>
    /// <exception cref="InvalidDataException">The top level is not a JSON object.</exception>
    public static LiteLlmPriceTable LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var stream = File.OpenRead(path);
        return Load(stream, path);
    }

    /// <summary>Reads LiteLLM-format JSON from a stream (UTF-8).</summary>
    /// <param name="utf8Json">The stream; it is read to the end and not disposed.</param>
    /// <param name="origin">A name for the source, e.g. its path or URL, kept in <see cref="Origin"/>.</param>
    /// <returns>The table.</returns>
    /// <exception cref="JsonException">The stream is not JSON.</exception>
    /// <exception cref="InvalidDataException">The top level is not a JSON object.</exception>
    public static LiteLlmPriceTable Load(Stream utf8Json, string? origin = null)
    {
        ArgumentNullException.ThrowIfNull(utf8Json);
        using var document = JsonDocument.Parse(utf8Json, DocumentOptions);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"A LiteLLM price file is a JSON object of models; found {document.RootElement.ValueKind}.");
        }

        var entries = new List<LlmPriceEntry>();
        var problems = new List<LlmPriceLoadProblem>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ignored = 0;
        foreach (var member in document.RootElement.EnumerateObject())
        {
            if (member.Name == "sample_spec") continue;
            if (!seen.Add(member.Name))
            {
                problems.Add(new(member.Name, "duplicate key; the first entry is kept"));
                continue;
            }
            switch (ReadEntry(member.Name, member.Value, out var entry, out var reason))
            {
                case EntryOutcome.Priced:
                    entries.Add(entry!);
                    break;
                case EntryOutcome.NotTokenPriced:
                    ignored++;
                    break;
                default:
                    problems.Add(new(member.Name, reason!));
                    break;
            }
        }
        return new LiteLlmPriceTable(entries, problems, ignored, origin);
    }

    private enum EntryOutcome { Priced, NotTokenPriced, Malformed }

    private enum PriceSlot { Input, Output, CacheRead, CacheCreation, CacheCreation1h, Reasoning }

    /// <summary>One group of prices sharing a condition (threshold, service tier); null fields were not in the file.</summary>
    private sealed class PartialPrices
    {
        public decimal?[] Values { get; } = new decimal?[6];

        public decimal? this[PriceSlot slot]
        {
            get => Values[(int)slot];
            set => Values[(int)slot] = value;
        }
    }

    private static readonly string[] TokenPricedModes = ["chat", "completion", "responses"];

    private static EntryOutcome ReadEntry(string key, JsonElement value, out LlmPriceEntry? entry, out string? reason)
    {
        entry = null;
        reason = null;
        if (value.ValueKind != JsonValueKind.Object)
        {
            reason = $"not a JSON object but {value.ValueKind}";
            return EntryOutcome.Malformed;
        }

        string? provider = null;
        string? mode = null;
        var groups = new Dictionary<(long Threshold, string? Tier), PartialPrices>();
        foreach (var field in value.EnumerateObject())
        {
            if (field.NameEquals("litellm_provider"))
            {
                provider = field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString() : null;
                continue;
            }
            if (field.NameEquals("mode"))
            {
                mode = field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString() : null;
                continue;
            }

            var match = PriceFieldPattern().Match(field.Name);
            if (!match.Success) continue;
            if (field.Value.ValueKind == JsonValueKind.Null) continue; // LiteLLM writes null for "not priced"
            if (field.Value.ValueKind != JsonValueKind.Number || !field.Value.TryGetDecimal(out var price) || price < 0)
            {
                reason = $"{field.Name} is not a non-negative number ({field.Value.GetRawText()})";
                return EntryOutcome.Malformed;
            }

            var slot = match.Groups["base"].Value switch
            {
                "input_cost_per_token" => PriceSlot.Input,
                "output_cost_per_token" => PriceSlot.Output,
                "cache_read_input_token_cost" or "input_cost_per_token_cache_hit" => PriceSlot.CacheRead,
                "cache_creation_input_token_cost" => PriceSlot.CacheCreation,
                "cache_creation_input_token_cost_above_1hr" => PriceSlot.CacheCreation1h,
                _ => PriceSlot.Reasoning,
            };
            var threshold = match.Groups["k"].Success
                ? long.Parse(match.Groups["k"].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture) * 1000
                : 0;
            string? tier = match.Groups["tier"].Success ? (match.Groups["tier"].Value == "batches" ? "batch" : match.Groups["tier"].Value) : null;
            if (!groups.TryGetValue((threshold, tier), out var group)) groups[(threshold, tier)] = group = new PartialPrices();
            // The cache-hit spelling only fills the slot when the canonical field is absent.
            if (group[slot] is null || match.Groups["base"].Value != "input_cost_per_token_cache_hit") group[slot] = price;
        }

        if (groups.Count == 0) return EntryOutcome.NotTokenPriced;

        groups.TryGetValue((0, null), out var standard);
        standard ??= new PartialPrices();
        var requiresBoth = mode is null || Array.IndexOf(TokenPricedModes, mode) >= 0;
        if (standard[PriceSlot.Input] is null || standard[PriceSlot.Output] is null)
        {
            if (requiresBoth)
            {
                reason = $"{(standard[PriceSlot.Input] is null ? "input_cost_per_token" : "output_cost_per_token")} is missing";
                return EntryOutcome.Malformed;
            }
            // Embedding, rerank, moderation and similar modes bill one side only.
            standard[PriceSlot.Input] ??= 0m;
            standard[PriceSlot.Output] ??= 0m;
        }

        var tiers = new List<LlmPriceTier>();
        foreach (var ((threshold, tier), group) in groups.OrderBy(g => g.Key.Tier is null ? 0 : 1).ThenBy(g => g.Key.Threshold))
        {
            if (threshold == 0 && tier is null) continue;
            // A combined tier inherits from its long-context tier, then its service tier, then the standard prices.
            PartialPrices?[] fallbacks = threshold > 0 && tier is not null
                ? [groups.GetValueOrDefault((threshold, null)), groups.GetValueOrDefault((0, tier)), standard]
                : [standard];
            tiers.Add(new LlmPriceTier
            {
                Name = (tier, threshold) switch
                {
                    (null, _) => $"above {threshold / 1000}k input tokens",
                    (_, 0) => tier,
                    _ => $"{tier}, above {threshold / 1000}k input tokens",
                },
                ServiceTiers = tier is null ? [] : [tier],
                AboveInputTokens = threshold > 0 ? threshold : null,
                Prices = Complete(group, fallbacks),
            });
        }

        entry = new LlmPriceEntry
        {
            Key = key,
            Provider = provider,
            Source = LlmPriceSources.LiteLlmFile,
            Prices = Complete(standard, []),
            Tiers = tiers,
        };
        return EntryOutcome.Priced;
    }

    private static LlmTokenPrices Complete(PartialPrices prices, PartialPrices?[] fallbacks)
    {
        decimal? Get(PriceSlot slot)
        {
            if (prices[slot] is { } own) return own;
            foreach (var fallback in fallbacks)
            {
                if (fallback?[slot] is { } inherited) return inherited;
            }
            return null;
        }

        var output = Get(PriceSlot.Output) ?? 0m;
        var reasoning = Get(PriceSlot.Reasoning);
        return new LlmTokenPrices
        {
            Input = Get(PriceSlot.Input) ?? 0m,
            Output = output,
            CacheRead = Get(PriceSlot.CacheRead),
            CacheCreation = Get(PriceSlot.CacheCreation),
            CacheCreation1h = Get(PriceSlot.CacheCreation1h),
            // A reasoning price equal to the output price is not a separate price: reasoning is then billed as output.
            Reasoning = reasoning == output ? null : reasoning,
        };
    }

    [GeneratedRegex(
        "^(?<base>input_cost_per_token_cache_hit|input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|cache_creation_input_token_cost_above_1hr|cache_creation_input_token_cost|output_cost_per_reasoning_token)(?:_above_(?<k>[0-9]+)k_tokens)?(?:_(?<tier>flex|priority|batches))?$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture)]
    private static partial Regex PriceFieldPattern();
}
