using System.Text;

namespace LlmObservability.Redaction;

/// <summary>
/// How payloads are redacted before anything leaves the process (and before the console sink prints). Redaction is on
/// by default with every built-in entity. Everything here binds from configuration; custom entities (a pattern and a
/// validator) are added in code with <see cref="ConfigureRedactor"/>.
/// </summary>
public sealed class LlmRedactionOptions
{
    private readonly List<Action<PiiRedactorOptions>> _configure = [];

    /// <summary>Redacts PII and secrets in every text field of the payload. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>What replaces a match unless <see cref="EntityActions"/> says otherwise. Default: a typed placeholder such as <c>[EMAIL]</c>.</summary>
    public PiiRedactionAction DefaultAction { get; set; } = PiiRedactionAction.Placeholder;

    /// <summary>Per-entity actions, e.g. <c>CREDIT_CARD: Partial</c>, <c>EMAIL: Pseudonym</c>.</summary>
    public IDictionary<string, PiiRedactionAction> EntityActions { get; } = new Dictionary<string, PiiRedactionAction>(StringComparer.Ordinal);

    /// <summary>Entities not to look for (names from <see cref="PiiEntities"/>).</summary>
    public IList<string> DisabledEntities { get; } = [];

    /// <summary>The HMAC key for <see cref="PiiRedactionAction.Pseudonym"/> (its UTF-8 bytes); keep it secret and stable so pseudonyms correlate across calls.</summary>
    public string? PseudonymKey { get; set; }

    /// <summary>
    /// Data URIs and base64 runs longer than this many characters (images, audio, files sent inline) are replaced by a
    /// note of their size, e.g. <c>[data:image/png;base64, 48.2 KB]</c>. Default: 256. 0 turns it off.
    /// </summary>
    public int MaxInlineDataChars { get; set; } = 256;

    /// <summary>Adjusts the redactor in code: custom entities with validators, pseudonym length, pattern timeout.</summary>
    public LlmRedactionOptions ConfigureRedactor(Action<PiiRedactorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _configure.Add(configure);
        return this;
    }

    internal PiiRedactorOptions BuildRedactorOptions()
    {
        var options = new PiiRedactorOptions { DefaultAction = DefaultAction };
        foreach (var (entity, action) in EntityActions) options.SetAction(entity, action);
        if (DisabledEntities.Count > 0) options.Disable([.. DisabledEntities]);
        if (PseudonymKey is { Length: > 0 } key) options.PseudonymKey = Encoding.UTF8.GetBytes(key);
        foreach (var configure in _configure) configure(options);
        return options;
    }

    internal IEnumerable<string> GetValidationErrors()
    {
        if (MaxInlineDataChars < 0) yield return $"Redaction.MaxInlineDataChars must not be negative (was {MaxInlineDataChars}).";
        foreach (var name in DisabledEntities.Concat(EntityActions.Keys))
        {
            if (!PiiEntities.All.Contains(name)) yield return $"Redaction: '{name}' is not a built-in entity (known: {string.Join(", ", PiiEntities.All)}).";
        }
        if ((DefaultAction == PiiRedactionAction.Pseudonym || EntityActions.Values.Contains(PiiRedactionAction.Pseudonym)) && string.IsNullOrEmpty(PseudonymKey) && _configure.Count == 0)
            yield return "Redaction: the Pseudonym action needs a PseudonymKey.";
    }
}
