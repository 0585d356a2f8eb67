using LlmObservability.Pricing;
using Microsoft.ML.Tokenizers;

namespace LlmObservability.Tokenizers;

/// <summary>Options for <see cref="TiktokenTokenEstimator"/>.</summary>
public sealed class TiktokenTokenEstimatorOptions
{
    /// <summary>
    /// Whether models that do not use a tiktoken encoding (Claude, Gemini, Mistral, Llama, ..., and unknown or missing
    /// model names) are estimated with cl100k_base as an approximation. When false, they get no estimate (null).
    /// Default: true.
    /// </summary>
    public bool ApproximateOtherModels { get; set; } = true;
}

/// <summary>
/// Estimates token counts with OpenAI's tiktoken encodings, through Microsoft.ML.Tokenizers and its bundled
/// vocabularies: <c>o200k_base</c> for GPT-4o, GPT-4.1, GPT-4.5, GPT-5 and later, gpt-oss and the o-series
/// (o1, o3, o4-mini, ...); <c>cl100k_base</c> for GPT-4, GPT-3.5 Turbo and the text-embedding-3 / ada-002 models.
/// </summary>
/// <remarks>
/// <para>Counts are exact for OpenAI models' text (the encodings are the ones those models use). Chat requests add a
/// few tokens per message for the message framing, which this does not count.</para>
/// <para>Other providers use their own tokenizers, which are not public or not bundled here. For them the count is a
/// cl100k_base approximation (turn it off with <see cref="TiktokenTokenEstimatorOptions.ApproximateOtherModels"/>):
/// Claude and Gemini typically produce somewhat more tokens than cl100k_base for the same English text, so treat
/// the estimate as a lower-leaning guess, not a bill.</para>
/// <para>Thread-safe; the vocabularies are loaded on first use and shared by all instances.</para>
/// </remarks>
public sealed class TiktokenTokenEstimator : ILlmTokenEstimator
{
    /// <summary>The name of the encoding of GPT-4o and later OpenAI models.</summary>
    public const string O200kBase = "o200k_base";

    /// <summary>The name of the encoding of GPT-4 and GPT-3.5 Turbo.</summary>
    public const string Cl100kBase = "cl100k_base";

    private static readonly Lazy<Tokenizer> O200k = new(() => TiktokenTokenizer.CreateForEncoding(O200kBase), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding(Cl100kBase), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly bool _approximateOtherModels;

    /// <summary>Creates an estimator that approximates non-OpenAI models with cl100k_base.</summary>
    public TiktokenTokenEstimator()
        : this(new TiktokenTokenEstimatorOptions())
    {
    }

    /// <summary>Creates an estimator.</summary>
    /// <param name="options">The options.</param>
    public TiktokenTokenEstimator(TiktokenTokenEstimatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _approximateOtherModels = options.ApproximateOtherModels;
    }

    /// <summary>A shared estimator with the default options.</summary>
    public static TiktokenTokenEstimator Default { get; } = new();

    /// <inheritdoc/>
    public int? CountTokens(string? model, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokenizer = EncodingFor(model) switch
        {
            O200kBase => O200k.Value,
            Cl100kBase => Cl100k.Value,
            _ => null,
        };
        return tokenizer?.CountTokens(text);
    }

    /// <summary>The encoding used for <paramref name="model"/>, or null when it gets no estimate.</summary>
    /// <param name="model">The model name; provider prefixes (<c>openai/</c>, <c>azure/</c>) are ignored.</param>
    /// <returns><see cref="O200kBase"/>, <see cref="Cl100kBase"/>, or null.</returns>
    public string? EncodingFor(string? model)
    {
        var encoding = OpenAiEncoding(model);
        return encoding ?? (_approximateOtherModels ? Cl100kBase : null);
    }

    /// <summary>The tiktoken encoding an OpenAI model uses, or null when the name is not an OpenAI model's.</summary>
    internal static string? OpenAiEncoding(string? model)
    {
        if (string.IsNullOrWhiteSpace(model)) return null;
        var name = model.AsSpan().Trim();
        var slash = name.LastIndexOf('/');
        if (slash >= 0) name = name[(slash + 1)..];

        if (name.StartsWith("ft:", StringComparison.OrdinalIgnoreCase)) name = name[3..];
        if (StartsWith(name, "gpt-4o") || StartsWith(name, "chatgpt-4o") || StartsWith(name, "gpt-4.1") ||
            StartsWith(name, "gpt-4.5") || StartsWith(name, "gpt-oss") || IsOSeries(name))
        {
            return O200kBase;
        }
        if (StartsWith(name, "gpt-") && name.Length > 4 && char.IsAsciiDigit(name[4]))
        {
            // gpt-5, gpt-5.4-mini, gpt-6 ...: every GPT after 4 uses o200k_base; gpt-4, gpt-3.5 and Azure's gpt-35 use cl100k_base.
            var major = 0;
            for (var i = 4; i < name.Length && char.IsAsciiDigit(name[i]) && major < 1000; i++) major = (major * 10) + (name[i] - '0');
            return major is >= 5 and not 35 ? O200kBase : Cl100kBase;
        }
        if (StartsWith(name, "text-embedding-3") || StartsWith(name, "text-embedding-ada-002")) return Cl100kBase;
        return null;
    }

    /// <summary>o1, o3-mini, o4-mini-2025-04-16, ...: "o", digits, then the end or a dash.</summary>
    private static bool IsOSeries(ReadOnlySpan<char> name)
    {
        if (name.Length < 2 || (name[0] != 'o' && name[0] != 'O') || !char.IsAsciiDigit(name[1])) return false;
        var i = 1;
        while (i < name.Length && char.IsAsciiDigit(name[i])) i++;
        return i == name.Length || name[i] == '-';
    }

    private static bool StartsWith(ReadOnlySpan<char> name, string prefix) => name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
}
