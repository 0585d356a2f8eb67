using System.Collections.Concurrent;
using System.Collections.Frozen;
using LlmObservability.Payload;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmObservability.Pricing;

/// <summary>
/// Finds a model's prices by the name a call used and computes the call's cost. Immutable and thread-safe; build one
/// per application with <see cref="CreateDefault"/> or <see cref="Create(LlmPricingOptions, ILogger?)"/> and share it.
/// </summary>
/// <remarks>
/// <para><b>Sources</b>, highest precedence first: <see cref="LlmPricingOptions.Overrides"/> (<c>override</c>), a
/// LiteLLM-format price file (<c>litellm_file</c>), the built-in table (<c>builtin</c>). A name is looked up in each
/// source in turn and the first source that knows it wins.</para>
/// <para><b>Names.</b> Lookups ignore case and accept what providers and SDKs send: date-suffixed names fall back to
/// the undated entry (<c>gpt-4o-2024-08-06</c> → its own entry if listed, else <c>gpt-4o</c>), undated names to the
/// newest dated entry (<c>claude-sonnet-4-5</c> → <c>claude-sonnet-4-5-20250929</c>), path prefixes are dropped
/// (<c>openai/gpt-4o</c>, <c>models/gemini-2.5-pro</c>), Bedrock IDs are reduced to the model
/// (<c>us.anthropic.claude-3-5-sonnet-20240620-v1:0</c>), Vertex AI <c>@</c> versions are read, and Azure deployment
/// names are mapped by <see cref="LlmPricingOptions.AzureDeployments"/>. Resolved names are cached, so a repeated
/// lookup is one dictionary read.</para>
/// <para><b>Unknown models</b> cost null, never 0, and are reported once per provider and model name as a warning
/// (event 300) through the logger, for the first 1,024 such names.</para>
/// </remarks>
public sealed partial class PriceCatalog
{
    private const int MaxCachedNames = 4096;
    private const int MaxReportedUnknownModels = 1024;

    private readonly PriceIndex[] _sources;
    private readonly FrozenDictionary<string, string> _azureDeployments;
    private readonly ConcurrentDictionary<ModelKey, LlmPriceEntry?> _resolved = new(ModelKeyComparer.Instance);
    private readonly ConcurrentDictionary<string, byte> _reportedUnknown = new(StringComparer.OrdinalIgnoreCase);
    private readonly ILogger _logger;
    private int _resolvedCount;
    private int _reportedCount;

    private PriceCatalog(PriceIndex[] sources, IDictionary<string, string> azureDeployments, IReadOnlyList<LlmPriceLoadProblem> problems, ILogger? logger)
    {
        _sources = sources;
        _azureDeployments = azureDeployments.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        Problems = problems;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Version of the embedded built-in table (its <c>version</c> field, e.g. <c>2026.08.20</c>).</summary>
    public static string? BuiltInVersion => PriceTableFormat.BuiltIn.Version;

    /// <summary>Date of the newest price data in the built-in table (its <c>updated</c> field, ISO-8601).</summary>
    public static string? BuiltInUpdated => PriceTableFormat.BuiltIn.Updated;

    /// <summary>Every entry of the built-in table.</summary>
    public static IReadOnlyList<LlmPriceEntry> BuiltInEntries => PriceTableFormat.BuiltIn.Entries;

    /// <summary>Entries of a price file that were skipped while the catalog was built, and files that could not be read.</summary>
    public IReadOnlyList<LlmPriceLoadProblem> Problems { get; }

    /// <summary>A catalog of the built-in table only.</summary>
    /// <param name="logger">Receives the unknown-model warnings; null for none.</param>
    /// <returns>The catalog.</returns>
    public static PriceCatalog CreateDefault(ILogger? logger = null) =>
        new([new PriceIndex(PriceTableFormat.BuiltIn.Entries)], new Dictionary<string, string>(), [], logger);

    /// <summary>
    /// A catalog of the overrides, the LiteLLM price file named by <see cref="LlmPricingOptions.LiteLlmPriceFile"/>
    /// (read now) and the built-in table, in that order of precedence.
    /// </summary>
    /// <param name="options">The pricing options.</param>
    /// <param name="logger">Receives file problems and unknown-model warnings; null for none.</param>
    /// <returns>The catalog.</returns>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="LlmPricingOptions.GetValidationErrors"/>).</exception>
    public static PriceCatalog Create(LlmPricingOptions options, ILogger? logger = null) => Create(options, null, logger);

    /// <summary>
    /// A catalog of the overrides, the given LiteLLM price table (or, when null, the file named by
    /// <see cref="LlmPricingOptions.LiteLlmPriceFile"/>) and the built-in table, in that order of precedence.
    /// </summary>
    /// <param name="options">The pricing options.</param>
    /// <param name="liteLlmPrices">Prices already read with <see cref="LiteLlmPriceTable.Load"/>, e.g. from a stream; null to use the options' file.</param>
    /// <param name="logger">Receives file problems and unknown-model warnings; null for none.</param>
    /// <returns>The catalog.</returns>
    /// <exception cref="ArgumentException">The options are invalid (see <see cref="LlmPricingOptions.GetValidationErrors"/>).</exception>
    public static PriceCatalog Create(LlmPricingOptions options, LiteLlmPriceTable? liteLlmPrices, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid LlmObservability pricing options: {string.Join(" ", errors)}", nameof(options));
        logger ??= NullLogger.Instance;

        var sources = new List<PriceIndex>(3);
        var problems = new List<LlmPriceLoadProblem>();
        if (options.Overrides.Count > 0)
        {
            sources.Add(new PriceIndex(options.Overrides.Select(o => o.Value.ToEntry(o.Key.Trim()))));
        }

        if (liteLlmPrices is null && !string.IsNullOrWhiteSpace(options.LiteLlmPriceFile))
        {
            try
            {
                liteLlmPrices = LiteLlmPriceTable.LoadFile(options.LiteLlmPriceFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or InvalidDataException or NotSupportedException or ArgumentException)
            {
                problems.Add(new LlmPriceLoadProblem(options.LiteLlmPriceFile, $"file not loaded: {e.Message}"));
                Log.LiteLlmFileNotLoaded(logger, e, options.LiteLlmPriceFile);
            }
        }
        if (liteLlmPrices is not null)
        {
            sources.Add(new PriceIndex(liteLlmPrices.Entries));
            problems.AddRange(liteLlmPrices.Problems);
            if (liteLlmPrices.Problems.Count > 0)
            {
                Log.LiteLlmEntriesSkipped(logger, liteLlmPrices.Problems.Count, liteLlmPrices.Origin ?? "(stream)", liteLlmPrices.Problems[0].ToString());
            }
        }

        if (options.UseBuiltInPrices) sources.Add(new PriceIndex(PriceTableFormat.BuiltIn.Entries));
        return new PriceCatalog([.. sources], options.AzureDeployments, problems, logger);
    }

    /// <summary>
    /// The cost of one call, or null when neither model is priced (then a warning is logged, once per provider and
    /// model name). The response model (what actually served the call) is preferred when it is priced; otherwise
    /// the requested model is used.
    /// </summary>
    /// <param name="provider">The provider as the payload names it (<c>openai</c>, <c>anthropic</c>, <c>azure_openai</c>, <c>gemini</c>, ...), or null.</param>
    /// <param name="requestedModel">The model (or Azure deployment) named in the request.</param>
    /// <param name="responseModel">The model named in the response.</param>
    /// <param name="usage">The call's token counts.</param>
    /// <param name="serviceTier">The service tier from the request or response (<c>flex</c>, <c>priority</c>, <c>batch</c>, <c>default</c>, ...), or null.</param>
    /// <returns>The cost, or null when the price is unknown.</returns>
    public LlmCost? Calculate(string? provider, string? requestedModel, string? responseModel, LlmUsage usage, string? serviceTier = null)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var entry = Find(provider, responseModel) ?? Find(provider, requestedModel);
        if (entry is null)
        {
            ReportUnknown(provider, requestedModel, responseModel);
            return null;
        }
        return LlmCostCalculator.Calculate(entry, usage, serviceTier);
    }

    /// <summary>The entry that prices <paramref name="model"/>, following the sources' precedence and the name rules above.</summary>
    /// <param name="provider">The provider, used to try the provider-prefixed names of price files (e.g. <c>xai/grok-4</c>); may be null.</param>
    /// <param name="model">The model or Azure deployment name.</param>
    /// <returns>The entry, or null when no source prices the model.</returns>
    public LlmPriceEntry? Find(string? provider, string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) return null;
        var key = new ModelKey(provider ?? "", model);
        if (_resolved.TryGetValue(key, out var cached)) return cached;

        var resolved = Resolve(provider, model);
        // Bounded, so that a stream of made-up names cannot grow the cache without limit; past it lookups still work.
        if (Volatile.Read(ref _resolvedCount) < MaxCachedNames && _resolved.TryAdd(key, resolved)) Interlocked.Increment(ref _resolvedCount);
        return resolved;
    }

    private LlmPriceEntry? Resolve(string? provider, string model)
    {
        var name = model.Trim();
        if (_azureDeployments.TryGetValue(name, out var mapped)) name = mapped.Trim();
        var candidates = ModelNameResolver.Candidates(provider, name);
        foreach (var source in _sources)
        {
            if (source.Find(candidates) is { } entry) return entry;
        }
        return null;
    }

    private void ReportUnknown(string? provider, string? requestedModel, string? responseModel)
    {
        if (!_logger.IsEnabled(LogLevel.Warning) || Volatile.Read(ref _reportedCount) >= MaxReportedUnknownModels) return;
        // Keyed by the name reported (the one looked up and not found), not by the pair of names: one unknown model seen
        // behind several requested names, or answered with and without a response model, is one warning.
        var model = (string.IsNullOrWhiteSpace(responseModel) ? requestedModel : responseModel)?.Trim();
        if (!_reportedUnknown.TryAdd($"{provider}\n{model}", 0)) return;
        Interlocked.Increment(ref _reportedCount);
        Log.UnknownModel(_logger, model ?? "(none)", requestedModel ?? "(none)", provider ?? "(unknown)");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Warning,
            Message = "LlmObservability has no price for model '{Model}' (requested '{RequestedModel}', provider '{Provider}'); its cost is recorded as null. Add it to the pricing overrides or a LiteLLM price file.")]
        public static partial void UnknownModel(ILogger logger, string model, string requestedModel, string provider);

        [LoggerMessage(EventId = 301, Level = LogLevel.Error,
            Message = "LlmObservability could not load the LiteLLM price file '{Path}'; prices come from the overrides and the built-in table.")]
        public static partial void LiteLlmFileNotLoaded(ILogger logger, Exception exception, string path);

        [LoggerMessage(EventId = 302, Level = LogLevel.Warning,
            Message = "LlmObservability skipped {Count} malformed entries of the LiteLLM price file '{Path}' (see PriceCatalog.Problems); the first: {First}")]
        public static partial void LiteLlmEntriesSkipped(ILogger logger, int count, string path, string first);
    }

    private readonly record struct ModelKey(string Provider, string Model);

    private sealed class ModelKeyComparer : IEqualityComparer<ModelKey>
    {
        public static readonly ModelKeyComparer Instance = new();

        public bool Equals(ModelKey x, ModelKey y) =>
            string.Equals(x.Model, y.Model, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(ModelKey obj) => HashCode.Combine(
            StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Model), StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Provider));
    }
}

/// <summary>One source's entries by every name they answer to, plus the undated-name fallback.</summary>
internal sealed class PriceIndex
{
    private readonly FrozenDictionary<string, LlmPriceEntry> _byName;
    private readonly FrozenDictionary<string, LlmPriceEntry> _newestDated;

    public PriceIndex(IEnumerable<LlmPriceEntry> entries)
    {
        var byName = new Dictionary<string, LlmPriceEntry>(StringComparer.OrdinalIgnoreCase);
        var all = entries.ToList();
        // Keys first, so that an alias never hides another entry's key.
        foreach (var entry in all) byName.TryAdd(entry.Key, entry);
        foreach (var entry in all)
        {
            foreach (var alias in entry.Aliases) byName.TryAdd(alias, entry);
        }

        // claude-sonnet-4-5 → the newest claude-sonnet-4-5-YYYYMMDD, when no entry is called claude-sonnet-4-5.
        var newest = new Dictionary<string, (string Date, LlmPriceEntry Entry)>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, entry) in byName)
        {
            if (!ModelNameResolver.TryGetUndated(name, out var undated, out var date) || byName.ContainsKey(undated)) continue;
            if (!newest.TryGetValue(undated, out var current) || string.CompareOrdinal(date, current.Date) > 0)
            {
                newest[undated] = (date, entry);
            }
        }

        _byName = byName.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _newestDated = newest.ToFrozenDictionary(p => p.Key, p => p.Value.Entry, StringComparer.OrdinalIgnoreCase);
    }

    public LlmPriceEntry? Find(List<string> candidates)
    {
        foreach (var name in candidates)
        {
            if (_byName.TryGetValue(name, out var entry) || _newestDated.TryGetValue(name, out entry)) return entry;
        }
        return null;
    }
}
