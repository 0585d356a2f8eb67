namespace LlmObservability;

/// <summary>
/// Ambient metadata for the LLM calls made inside a block of code, carried by <see cref="AsyncLocal{T}"/> so that it
/// reaches the handler through SDKs that never expose the <see cref="HttpRequestMessage"/>. Scopes nest: an inner
/// scope's user and session replace the outer ones, tags and metadata are merged (inner keys win).
/// </summary>
/// <example>
/// <code>
/// using (LlmObservabilityScope.Begin(userId: "u-42", sessionId: "s-7", tags: ["checkout"]))
///     await chatClient.CompleteChatAsync(messages);
/// </code>
/// </example>
public sealed class LlmObservabilityScope : IDisposable
{
    private static readonly AsyncLocal<LlmObservabilityScope?> CurrentScope = new();
    private readonly LlmObservabilityScope? _parent;
    private bool _disposed;

    private LlmObservabilityScope(LlmObservabilityScope? parent, string? userId, string? sessionId, IReadOnlyList<string> tags,
        IReadOnlyDictionary<string, string> metadata, bool suppressLogging, bool? logMessages)
    {
        _parent = parent;
        UserId = userId;
        SessionId = sessionId;
        Tags = tags;
        Metadata = metadata;
        SuppressLogging = suppressLogging;
        LogMessages = logMessages;
    }

    /// <summary>The innermost scope on this async flow, or null.</summary>
    public static LlmObservabilityScope? Current => CurrentScope.Value;

    /// <summary>The end user (inner scopes override outer ones).</summary>
    public string? UserId { get; }

    /// <summary>The session or conversation.</summary>
    public string? SessionId { get; }

    /// <summary>Tags from this scope and the scopes around it, without duplicates.</summary>
    public IReadOnlyList<string> Tags { get; }

    /// <summary>Custom key/values from this scope and the scopes around it.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>When true, calls inside the scope are not recorded at all.</summary>
    public bool SuppressLogging { get; }

    /// <summary>Overrides <see cref="LlmObservabilityOptions.LogMessages"/> for calls inside the scope; null inherits.</summary>
    public bool? LogMessages { get; }

    /// <summary>Starts a scope. Dispose it (a <c>using</c> block) to restore the enclosing one.</summary>
    /// <param name="userId">The end user; null keeps the enclosing scope's.</param>
    /// <param name="sessionId">The session; null keeps the enclosing scope's.</param>
    /// <param name="tags">Tags added to the enclosing scope's.</param>
    /// <param name="metadata">Key/values added to (or replacing) the enclosing scope's.</param>
    /// <param name="suppressLogging">True to record none of the calls inside; null keeps the enclosing scope's setting.</param>
    /// <param name="logMessages">Overrides whether message content is recorded; null keeps the enclosing scope's setting.</param>
    public static LlmObservabilityScope Begin(
        string? userId = null,
        string? sessionId = null,
        IEnumerable<string>? tags = null,
        IReadOnlyDictionary<string, string>? metadata = null,
        bool? suppressLogging = null,
        bool? logMessages = null)
    {
        var parent = CurrentScope.Value;
        var mergedTags = Merge(parent?.Tags, tags);
        IReadOnlyDictionary<string, string> mergedMetadata;
        if (metadata is null || metadata.Count == 0)
        {
            mergedMetadata = parent?.Metadata ?? EmptyMetadata;
        }
        else
        {
            var dictionary = parent is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(parent.Metadata, StringComparer.Ordinal);
            foreach (var (key, value) in metadata) dictionary[key] = value;
            mergedMetadata = dictionary;
        }

        var scope = new LlmObservabilityScope(
            parent,
            userId ?? parent?.UserId,
            sessionId ?? parent?.SessionId,
            mergedTags,
            mergedMetadata,
            suppressLogging ?? parent?.SuppressLogging ?? false,
            logMessages ?? parent?.LogMessages);
        CurrentScope.Value = scope;
        return scope;
    }

    /// <summary>Starts a scope whose calls are not recorded (health checks, evaluation traffic, ...).</summary>
    public static LlmObservabilityScope Suppress() => Begin(suppressLogging: true);

    /// <summary>Restores the enclosing scope.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // Only unwind when this scope is current on this flow; disposing out of order must not clobber another scope.
        if (ReferenceEquals(CurrentScope.Value, this)) CurrentScope.Value = _parent;
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();

    private static IReadOnlyList<string> Merge(IReadOnlyList<string>? outer, IEnumerable<string>? inner)
    {
        if (inner is null) return outer ?? [];
        var list = outer is null ? new List<string>() : new List<string>(outer);
        foreach (var tag in inner)
        {
            if (!string.IsNullOrEmpty(tag) && !list.Contains(tag)) list.Add(tag);
        }
        return list;
    }
}
