using System.Text;

namespace LlmObservability.Providers;

/// <summary>What the detector decided about a request: which adapter reads it and how it is named in the payload.</summary>
internal sealed record ProviderRoute(ProviderAdapter Adapter, string Provider, string ApiBase, string Endpoint)
{
    /// <summary>
    /// The model (or deployment) named by the URL itself, e.g. Azure OpenAI's <c>/openai/deployments/{deployment}/…</c>;
    /// adapters use it as the requested model when the body names none. Null when the path names no model.
    /// </summary>
    public string? Model { get; init; }

    /// <summary>A route whose endpoint is the path from <paramref name="endpointStart"/> on; what precedes it (and the masked query) is the api_base.</summary>
    public static ProviderRoute Create(ProviderAdapter adapter, string provider, Uri uri, int endpointStart)
    {
        // An application calls the same few URLs over and over: the route (strings included) is made once per URL and
        // shared, which spares every call the strings below. A route depends only on these four inputs. URLs with a
        // query are not kept (a query can carry an API key, e.g. Gemini's ?key=).
        var original = uri.OriginalString;
        if (original.Contains('?')) return Build(adapter, provider, uri, endpointStart);
        var slot = (original.GetHashCode() & int.MaxValue) % RecentRoutes.Length;
        if (Volatile.Read(ref RecentRoutes[slot]) is { } recent && recent.Matches(adapter, provider, original, endpointStart)) return recent.Route;
        var route = Build(adapter, provider, uri, endpointStart);
        Volatile.Write(ref RecentRoutes[slot], new RecentRoute(adapter, provider, original, endpointStart, route));
        return route;
    }

    // A small direct-mapped cache: a URL that collides with another is rebuilt, never confused with it.
    private static readonly RecentRoute?[] RecentRoutes = new RecentRoute?[32];

    private sealed record RecentRoute(ProviderAdapter Adapter, string Provider, string Uri, int EndpointStart, ProviderRoute Route)
    {
        public bool Matches(ProviderAdapter adapter, string provider, string uri, int endpointStart) =>
            ReferenceEquals(adapter, Adapter) && endpointStart == EndpointStart && string.Equals(provider, Provider, StringComparison.Ordinal)
            && string.Equals(uri, Uri, StringComparison.Ordinal);
    }

    private static ProviderRoute Build(ProviderAdapter adapter, string provider, Uri uri, int endpointStart)
    {
        var path = uri.AbsolutePath;
        var apiBase = new StringBuilder(uri.GetLeftPart(UriPartial.Authority)).Append(path.AsSpan(0, endpointStart));
        var query = ProviderDetector.MaskQuery(uri.Query);
        if (query.Length > 0) apiBase.Append(query);
        return new ProviderRoute(adapter, provider, apiBase.ToString(), path[endpointStart..].TrimEnd('/'));
    }
}

/// <summary>
/// Recognises LLM calls from the request line alone (method, host, path), so that anything else passes through
/// untouched without its body being read. The table is ordered: the first matching rule wins.
/// </summary>
internal static class ProviderDetector
{
    /// <summary>
    /// The detection table, most specific first: the first adapter whose <see cref="ProviderAdapter.Match"/> answers wins.
    /// Adding a wire format is one adapter file plus its line here.
    /// </summary>
    private static readonly ProviderAdapter[] Adapters =
    [
        AzureOpenAiAdapter.Instance, // before every OpenAI route: same paths under /openai/deployments/{deployment}/
        OpenAiResponsesAdapter.Instance,
        OpenAiEmbeddingsAdapter.Instance,
        OpenAiCompletionsAdapter.Instance,
        OpenAiChatAdapter.Instance,
        AnthropicMessagesAdapter.Instance,
        GeminiGenerateContentAdapter.Instance,
        BedrockConverseAdapter.Instance,
        OllamaAdapter.Instance, // also answers /api/generate with OllamaAdapter.Generate
    ];

    /// <summary>Every adapter, in detection order (the reliability suite fuzzes each one).</summary>
    internal static IReadOnlyList<ProviderAdapter> All => Adapters;

    /// <summary>The adapters each <see cref="LlmProviderMapping.Format"/> stands for.</summary>
    private static readonly Dictionary<string, ProviderAdapter[]> Formats = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = [OpenAiResponsesAdapter.Instance, OpenAiEmbeddingsAdapter.Instance, OpenAiCompletionsAdapter.Instance, OpenAiChatAdapter.Instance],
        ["azure_openai"] = [AzureOpenAiAdapter.Instance],
        ["anthropic"] = [AnthropicMessagesAdapter.Instance],
        ["gemini"] = [GeminiGenerateContentAdapter.Instance],
        ["ollama"] = [OllamaAdapter.Instance],
        ["bedrock"] = [BedrockConverseAdapter.Instance],
        ["none"] = [],
    };

    internal static bool IsKnownFormat(string? format) => format is not null && Formats.ContainsKey(format);

    /// <summary>
    /// The operations an <see cref="LlmProviderMapping.Operation"/> may name, per format, by <c>call_type</c>, with the
    /// provider name the route gets (null: OpenAI-compatible naming by host). Formats whose URL names the model (Azure
    /// deployments, Gemini, Bedrock) have none: on another path the model would be lost.
    /// </summary>
    private static readonly Dictionary<string, Dictionary<string, (ProviderAdapter Adapter, string? Provider)>> Operations = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = new(StringComparer.OrdinalIgnoreCase)
        {
            ["chat_completion"] = (OpenAiChatAdapter.Instance, null),
            ["responses"] = (OpenAiResponsesAdapter.Instance, null),
            ["embedding"] = (OpenAiEmbeddingsAdapter.Instance, null),
            ["text_completion"] = (OpenAiCompletionsAdapter.Instance, null),
        },
        ["anthropic"] = new(StringComparer.OrdinalIgnoreCase) { ["messages"] = (AnthropicMessagesAdapter.Instance, "anthropic") },
        ["ollama"] = new(StringComparer.OrdinalIgnoreCase)
        {
            ["chat_completion"] = (OllamaAdapter.Instance, "ollama"),
            ["text_completion"] = (OllamaAdapter.Generate, "ollama"),
        },
    };

    /// <summary>Why <paramref name="mapping"/>'s <see cref="LlmProviderMapping.Operation"/> is invalid, or null when it is valid (or unset). The format is known.</summary>
    internal static string? OperationError(LlmProviderMapping mapping)
    {
        if (mapping.Operation is null) return null;
        if (!Operations.TryGetValue(mapping.Format, out var operations))
        {
            return $"Operation '{mapping.Operation}' cannot be declared for Format '{mapping.Format}' (only for openai, anthropic and ollama: the other formats' URLs name the model).";
        }
        if (!operations.ContainsKey(mapping.Operation))
        {
            return $"Operation '{mapping.Operation}' is not one of Format '{mapping.Format}''s: {string.Join(", ", operations.Keys)}.";
        }
        if (string.IsNullOrEmpty(mapping.PathPrefix))
        {
            return "Operation needs a PathPrefix (the requests it applies to); without one it would claim every POST to the host.";
        }
        return null;
    }

    /// <summary>
    /// The route for a request under a mapping that declares an <see cref="LlmProviderMapping.Operation"/>, once the
    /// format's own paths did not match: api_base is the URL up to the prefix, the endpoint the rest of the path (the
    /// last segment when the path is the prefix itself). Null when the mapping declares none (or an invalid one).
    /// </summary>
    private static ProviderRoute? DeclaredRoute(LlmProviderMapping mapping, Uri uri)
    {
        if (mapping.Operation is not { } operation || !Operations.TryGetValue(mapping.Format, out var operations)
            || !operations.TryGetValue(operation, out var declared) || mapping.PathPrefix is not { Length: > 0 } prefix)
        {
            return null;
        }
        var path = uri.AbsolutePath;
        var endpointStart = prefix.AsSpan().TrimEnd('/').Length;
        if (path.AsSpan(endpointStart).TrimEnd('/').IsEmpty) endpointStart = Math.Max(path.AsSpan().TrimEnd('/').LastIndexOf('/'), 0);
        var provider = declared.Provider ?? OpenAiChatAdapter.ProviderName(uri);
        return ProviderRoute.Create(declared.Adapter, provider, uri, endpointStart);
    }

    public static ProviderRoute? Detect(HttpRequestMessage request, IList<LlmProviderMapping>? mappings = null)
    {
        if (request.Method != HttpMethod.Post || request.RequestUri is not { IsAbsoluteUri: true } uri) return null;
        if (mappings is { Count: > 0 })
        {
            foreach (var mapping in mappings)
            {
                if (!mapping.Matches(uri)) continue;
                if (!Formats.TryGetValue(mapping.Format, out var declared) || declared.Length == 0) return null; // "none": never recorded
                foreach (var adapter in declared)
                {
                    if (adapter.MatchTrusted(request, uri) is { } mapped) return Named(mapped, mapping);
                }
                // A gateway's own path: the operation the mapping declares for it (when it declares one).
                if (DeclaredRoute(mapping, uri) is { } route) return Named(route, mapping);
            }
        }
        // An application calls the same few URLs over and over: a route decided by the URL alone is remembered, so the
        // next call with that URL skips the table. Not when an adapter that reads headers took part (another call to the
        // same URL with other headers may be decided otherwise), nor for URLs with a query (it can carry a key).
        var original = uri.OriginalString;
        var slot = -1;
        if (!original.Contains('?'))
        {
            slot = (original.GetHashCode() & int.MaxValue) % RecentRoutes.Length;
            if (Volatile.Read(ref RecentRoutes[slot]) is { } recent && string.Equals(recent.Uri, original, StringComparison.Ordinal)) return recent.Route;
        }
        foreach (var adapter in Adapters)
        {
            if (adapter.MatchReadsHeaders) slot = -1;
            if (adapter.Match(request, uri) is not { } route) continue;
            if (slot >= 0) Volatile.Write(ref RecentRoutes[slot], new RecentRoute(original, route));
            return route;
        }
        return null;
    }

    private static ProviderRoute Named(ProviderRoute route, LlmProviderMapping mapping) =>
        mapping.Provider is { Length: > 0 } name ? route with { Provider = name } : route;

    // A small direct-mapped memo of the table's answers: a URL that collides with another is decided again, never
    // confused with it.
    private static readonly RecentRoute?[] RecentRoutes = new RecentRoute?[32];

    private sealed record RecentRoute(string Uri, ProviderRoute Route);

    /// <summary>True when the path ends with <paramref name="suffix"/> (ignoring a trailing slash and case).</summary>
    public static bool EndsWithSegment(string path, string suffix) =>
        path.AsSpan().TrimEnd('/').EndsWith(suffix, StringComparison.OrdinalIgnoreCase);

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
