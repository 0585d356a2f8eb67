using System.Text;

namespace LlmObservability.Providers;

/// <summary>What the detector decided about a request: which adapter reads it and how it is named in the payload.</summary>
internal sealed record ProviderRoute(ProviderAdapter Adapter, string Provider, string ApiBase, string Endpoint);

/// <summary>
/// Recognises LLM calls from the request line alone (method, host, path), so that anything else passes through
/// untouched without its body being read. The table is ordered: the first matching rule wins.
/// </summary>
internal static class ProviderDetector
{
    // OpenAI-compatible hosts, named so dashboards can tell them apart; any other host with the path is "openai_compatible".
    private static readonly Dictionary<string, string> OpenAiCompatibleHosts = new(StringComparer.OrdinalIgnoreCase)
    {
        ["api.openai.com"] = "openai",
        ["api.mistral.ai"] = "mistral",
        ["api.groq.com"] = "groq",
        ["api.deepseek.com"] = "deepseek",
        ["openrouter.ai"] = "openrouter",
        ["api.together.xyz"] = "together_ai",
        ["api.together.ai"] = "together_ai",
        ["api.x.ai"] = "xai",
        ["api.fireworks.ai"] = "fireworks_ai",
        ["api.perplexity.ai"] = "perplexity",
    };

    public static ProviderRoute? Detect(HttpRequestMessage request)
    {
        if (request.Method != HttpMethod.Post || request.RequestUri is not { IsAbsoluteUri: true } uri) return null;
        var path = uri.AbsolutePath;

        if (EndsWithSegment(path, "/chat/completions"))
        {
            return Route(OpenAiChatAdapter.Instance, OpenAiProviderName(uri), uri, path.Length - "/chat/completions".Length);
        }
        return null;
    }

    private static string OpenAiProviderName(Uri uri) =>
        OpenAiCompatibleHosts.TryGetValue(uri.Host, out var name) ? name : "openai_compatible";

    private static bool EndsWithSegment(string path, string suffix)
    {
        var trimmed = path.AsSpan().TrimEnd('/');
        return trimmed.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
    }

    private static ProviderRoute Route(ProviderAdapter adapter, string provider, Uri uri, int endpointStart)
    {
        var path = uri.AbsolutePath;
        var apiBase = new StringBuilder(uri.GetLeftPart(UriPartial.Authority)).Append(path.AsSpan(0, endpointStart));
        var query = MaskQuery(uri.Query);
        if (query.Length > 0) apiBase.Append(query);
        return new ProviderRoute(adapter, provider, apiBase.ToString(), path[endpointStart..].TrimEnd('/'));
    }

    private static readonly HashSet<string> SecretQueryKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "key", "api_key", "api-key", "apikey", "token", "access_token", "auth", "sig", "signature", "code",
        "x-goog-api-key", "x-amz-security-token", "x-amz-signature", "x-amz-credential", "client_secret",
    };

    /// <summary>Replaces the values of secret-looking query parameters with <c>***</c>.</summary>
    internal static string MaskQuery(string query)
    {
        if (string.IsNullOrEmpty(query) || query == "?") return string.Empty;
        var builder = new StringBuilder(query.Length);
        foreach (var part in query.TrimStart('?').Split('&'))
        {
            builder.Append(builder.Length == 0 ? '?' : '&');
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? part : part[..equals];
            if (equals >= 0 && SecretQueryKeys.Contains(Uri.UnescapeDataString(key))) builder.Append(key).Append("=***");
            else builder.Append(part);
        }
        return builder.ToString();
    }
}
