using System.Text.RegularExpressions;

namespace LlmObservability.Pricing;

/// <summary>
/// Turns the model name a call used into the names a price table may list it under, most exact first.
/// </summary>
/// <remarks>
/// In order: the name as given; with the provider's price-file prefix (<c>azure/</c>, <c>gemini/</c>, <c>xai/</c>, ...);
/// without a path prefix (<c>openai/gpt-4o</c>, <c>models/gemini-2.5-pro</c>); without a Bedrock region and vendor
/// prefix and version suffix (<c>us.anthropic.claude-3-5-sonnet-20240620-v1:0</c>); with a Vertex AI
/// <c>@version</c> turned into <c>-version</c>; then each of those without a date or revision suffix
/// (<c>-2024-08-06</c>, <c>-20250929</c>, <c>-001</c>) and without <c>-latest</c>; last, for a Claude name written with a
/// dotted version (<c>anthropic/claude-sonnet-4.5</c>), all of that again with the dot made a dash. Four-digit suffixes (<c>-2411</c>,
/// <c>-0613</c>) are not removed: providers that use them change prices between versions, so those must be listed.
/// </remarks>
internal static partial class ModelNameResolver
{
    private static readonly string[] BedrockRegions = ["us.", "eu.", "apac.", "au.", "jp.", "ca.", "global.", "us-gov."];

    private static readonly string[] BedrockVendors =
        ["anthropic.", "amazon.", "meta.", "mistral.", "cohere.", "ai21.", "deepseek.", "openai.", "qwen.", "writer.", "moonshotai."];

    public static List<string> Candidates(string? provider, string model)
    {
        var bare = new List<string>(4);
        var name = model.Trim();
        AddDistinct(bare, name);

        var slash = name.LastIndexOf('/');
        if (slash >= 0 && slash < name.Length - 1)
        {
            name = name[(slash + 1)..];
            AddDistinct(bare, name);
        }

        if (StripBedrock(name) is { } bedrock)
        {
            if (bedrock.WithoutRegion != name) AddDistinct(bare, bedrock.WithoutRegion);
            name = bedrock.Model;
            AddDistinct(bare, name);
        }

        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            var before = name[..at];
            var version = name[(at + 1)..];
            if (version.Length > 0)
            {
                AddDistinct(bare, $"{before}-{version}");
                var withoutV = VersionSuffix().Replace(before, "");
                if (withoutV != before) AddDistinct(bare, $"{withoutV}-{version}");
            }
            AddDistinct(bare, before);
        }

        var prefixes = PriceFilePrefixes(provider);
        var result = new List<string>(bare.Count * (1 + prefixes.Length) * 2);
        foreach (var candidate in bare) AddWithPrefixes(result, candidate, prefixes);
        foreach (var candidate in bare) AddUndated(result, candidate, prefixes);

        // OpenRouter and other routers write Claude versions with a dot (anthropic/claude-sonnet-4.5) where Anthropic
        // and the price tables write a dash (claude-sonnet-4-5). Tried last, and only for Claude names, so that a name
        // whose dots are real (gpt-4.1, gemini-2.5-flash, or a dotted entry of a price file) is found as written first.
        var dashed = new List<string>(2);
        foreach (var candidate in bare)
        {
            if (candidate.Contains("claude", StringComparison.OrdinalIgnoreCase) && VersionDot().IsMatch(candidate))
            {
                AddDistinct(dashed, VersionDot().Replace(candidate, "-"));
            }
        }
        foreach (var candidate in dashed) AddWithPrefixes(result, candidate, prefixes);
        foreach (var candidate in dashed) AddUndated(result, candidate, prefixes);
        return result;
    }

    /// <summary>The name without a date or revision suffix, then also without <c>-latest</c>, when those differ from it.</summary>
    private static void AddUndated(List<string> result, string candidate, string[] prefixes)
    {
        var stripped = DateSuffix().Replace(candidate, "");
        if (stripped != candidate && stripped.Length > 0) AddWithPrefixes(result, stripped, prefixes);
        var notLatest = LatestSuffix().Replace(stripped, "");
        if (notLatest != stripped && notLatest.Length > 0) AddWithPrefixes(result, notLatest, prefixes);
    }

    /// <summary>The undated base of a dated model name (<c>claude-sonnet-4-5-20250929</c> → <c>claude-sonnet-4-5</c>).</summary>
    public static bool TryGetUndated(string name, out string undated, out string date)
    {
        var match = FullDateSuffix().Match(name);
        if (!match.Success || match.Index == 0)
        {
            undated = date = "";
            return false;
        }
        undated = name[..match.Index];
        date = match.Value.Replace("-", "", StringComparison.Ordinal);
        return true;
    }

    private static void AddWithPrefixes(List<string> result, string name, string[] prefixes)
    {
        AddDistinct(result, name);
        if (name.Contains('/', StringComparison.Ordinal)) return;
        foreach (var prefix in prefixes) AddDistinct(result, $"{prefix}/{name}");
    }

    private static void AddDistinct(List<string> list, string value)
    {
        foreach (var existing in list)
        {
            if (string.Equals(existing, value, StringComparison.OrdinalIgnoreCase)) return;
        }
        list.Add(value);
    }

    private static (string WithoutRegion, string Model)? StripBedrock(string name)
    {
        var rest = name;
        foreach (var region in BedrockRegions)
        {
            if (rest.StartsWith(region, StringComparison.OrdinalIgnoreCase))
            {
                rest = rest[region.Length..];
                break;
            }
        }
        foreach (var vendor in BedrockVendors)
        {
            if (rest.StartsWith(vendor, StringComparison.OrdinalIgnoreCase))
            {
                var model = BedrockVersionSuffix().Replace(rest[vendor.Length..], "");
                return model.Length == 0 ? null : (rest, model);
            }
        }
        return null;
    }

    /// <summary>Prefixes LiteLLM's price file puts before model names of the provider (the catalog's provider names).</summary>
    private static string[] PriceFilePrefixes(string? provider)
    {
        if (string.IsNullOrWhiteSpace(provider)) return [];
        provider = provider.Trim();
        return provider.ToUpperInvariant() switch
        {
            "AZURE" or "AZURE_OPENAI" => ["azure"],
            "AZURE_AI" => ["azure_ai"],
            "GEMINI" or "GOOGLE" or "GOOGLE_AI_STUDIO" or "GOOGLEAI" => ["gemini"],
            "VERTEX_AI" or "VERTEX" or "GOOGLE_VERTEX" => ["vertex_ai"],
            "BEDROCK" or "BEDROCK_CONVERSE" or "AWS_BEDROCK" => ["bedrock"],
            _ => [provider],
        };
    }

    // -2024-08-06, -20250929, -05-20 (Gemini previews), -001 (Gemini revisions)
    [GeneratedRegex(@"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{2}-\d{2}|0\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateSuffix();

    [GeneratedRegex(@"-(?:\d{4}-\d{2}-\d{2}|\d{8})$", RegexOptions.CultureInvariant)]
    private static partial Regex FullDateSuffix();

    [GeneratedRegex("-latest$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex LatestSuffix();

    // -v1, -v1:0, and a context-window variant after it: -v1:0:200k, -v1:0:48k
    [GeneratedRegex(@"-v\d+(?::\d+)?(?::\d+k)?$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex BedrockVersionSuffix();

    // a dot between two digits: the 4.5 of claude-sonnet-4.5
    [GeneratedRegex(@"(?<=\d)\.(?=\d)", RegexOptions.CultureInvariant)]
    private static partial Regex VersionDot();

    [GeneratedRegex(@"-v\d+$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex VersionSuffix();
}
