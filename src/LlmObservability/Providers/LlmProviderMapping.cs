namespace LlmObservability;

/// <summary>
/// Declares that requests to a host (and path prefix) speak a provider's wire format, for gateways and private
/// deployments that detection by well-known host and path cannot recognise (an Ollama behind a reverse proxy, an
/// Anthropic-compatible gateway without Anthropic's headers, an OpenAI-compatible server whose operations are not under
/// <c>/v1/</c>), or that a host must never be recorded (<see cref="Format"/> <c>none</c>). Mappings are checked in
/// order, before detection. The path must still name one of the format's operations, unless <see cref="Operation"/>
/// declares what the gateway's own paths under <see cref="PathPrefix"/> are.
/// </summary>
public sealed class LlmProviderMapping
{
    /// <summary>The host, exact (<c>llm-gateway.internal</c>) or with a leading wildcard (<c>*.internal</c>); null matches any host.</summary>
    public string? Host { get; set; }

    /// <summary>The request path must start with this (<c>/ai/</c>); null matches any path.</summary>
    public string? PathPrefix { get; set; }

    /// <summary>
    /// The wire format: <c>openai</c> (chat, responses, embeddings, completions by path), <c>azure_openai</c>,
    /// <c>anthropic</c>, <c>gemini</c>, <c>ollama</c>, <c>bedrock</c>, or <c>none</c> (never record these requests).
    /// </summary>
    public string Format { get; set; } = "openai";

    /// <summary>
    /// For a gateway whose paths are its own (<c>/llm/chat</c> rather than <c>/v1/chat/completions</c>): the operation a
    /// request under <see cref="PathPrefix"/> is when its path names none of the format's operations, by its payload
    /// <c>call_type</c>. <c>openai</c>: <c>chat_completion</c>, <c>responses</c>, <c>embedding</c>, <c>text_completion</c>;
    /// <c>anthropic</c>: <c>messages</c>; <c>ollama</c>: <c>chat_completion</c> (<c>/api/chat</c>), <c>text_completion</c>
    /// (<c>/api/generate</c>). A path that does name one of the format's operations is still read as that one. Needs a
    /// <see cref="PathPrefix"/>; not available for <c>azure_openai</c>, <c>gemini</c> and <c>bedrock</c>, whose URLs name
    /// the model. Null or empty (the default; an appsettings.json placeholder <c>""</c> counts as unset): only the
    /// format's own paths are recorded.
    /// </summary>
    public string? Operation
    {
        get => _operation;
        set => _operation = string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private string? _operation;

    /// <summary>The provider name written to payloads (e.g. <c>my-gateway</c>); null keeps the format's usual name.</summary>
    public string? Provider { get; set; }

    /// <summary>The formats <see cref="Format"/> accepts.</summary>
    public static IReadOnlyList<string> KnownFormats { get; } = ["openai", "azure_openai", "anthropic", "gemini", "ollama", "bedrock", "none"];

    internal bool Matches(Uri uri)
    {
        if (Host is { Length: > 0 } host)
        {
            var matches = host.StartsWith("*.", StringComparison.Ordinal)
                ? uri.Host.EndsWith(host[1..], StringComparison.OrdinalIgnoreCase)
                : uri.Host.Equals(host, StringComparison.OrdinalIgnoreCase);
            if (!matches) return false;
        }
        return PathPrefix is not { Length: > 0 } prefix || uri.AbsolutePath.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);
    }
}
