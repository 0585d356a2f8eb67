using System.Text.RegularExpressions;

namespace LlmObservability.Redaction;

/// <summary>
/// Settings for <see cref="PiiRedactor"/>: which entities are detected, what replaces each, and user-defined entities.
/// The redactor copies the settings when it is constructed; later changes to this object do not affect it.
/// </summary>
public sealed class PiiRedactorOptions
{
    private readonly List<CustomEntityDefinition> _customEntities = [];

    /// <summary>The action for entities without an entry in <see cref="EntityActions"/>. Default: <see cref="PiiRedactionAction.Placeholder"/>.</summary>
    public PiiRedactionAction DefaultAction { get; set; } = PiiRedactionAction.Placeholder;

    /// <summary>Per-entity actions, keyed by entity name (<see cref="PiiEntities"/> or a custom entity). Default: empty.</summary>
    public IDictionary<string, PiiRedactionAction> EntityActions { get; } = new Dictionary<string, PiiRedactionAction>(StringComparer.Ordinal);

    /// <summary>Entities that are not detected, by name. Default: empty (every built-in entity is on).</summary>
    public ISet<string> DisabledEntities { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The HMAC-SHA256 key for <see cref="PiiRedactionAction.Pseudonym"/>; required when any entity uses that action.
    /// Keep it secret and stable: anyone with the key can test guesses against pseudonyms. Default: null.
    /// </summary>
#pragma warning disable CA1819 // A key is naturally a byte array; the redactor copies it at construction.
    public byte[]? PseudonymKey { get; set; }
#pragma warning restore CA1819

    /// <summary>Number of hex digits of the HMAC shown in a pseudonym, 4 to 64. Default: 8.</summary>
    public int PseudonymLength { get; set; } = 8;

    /// <summary>
    /// Match timeout for each custom entity's regular expression. Custom patterns run with
    /// <see cref="RegexOptions.NonBacktracking"/>, so their time is linear in the input; the timeout is a guard.
    /// Default: 1 second.
    /// </summary>
    public TimeSpan CustomPatternTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The custom entities added with <see cref="AddCustomEntity(string, string, Func{string, bool}?)"/>.</summary>
    public IReadOnlyList<CustomEntityDefinition> CustomEntities => _customEntities;

    /// <summary>Sets the action for one entity.</summary>
    /// <param name="entity">An entity name from <see cref="PiiEntities"/> or a custom entity's name.</param>
    /// <param name="action">What replaces the entity.</param>
    /// <returns>This instance, for chaining.</returns>
    public PiiRedactorOptions SetAction(string entity, PiiRedactionAction action)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(entity);
        EntityActions[entity] = action;
        return this;
    }

    /// <summary>Turns entities off.</summary>
    /// <param name="entities">Entity names from <see cref="PiiEntities"/> or custom entity names.</param>
    /// <returns>This instance, for chaining.</returns>
    public PiiRedactorOptions Disable(params string[] entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        foreach (var entity in entities)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(entity);
            DisabledEntities.Add(entity);
        }

        return this;
    }

    /// <summary>Turns every built-in entity off except the ones named (custom entities stay as they are).</summary>
    /// <param name="entities">The built-in entity names to keep.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException">A name is not a built-in entity.</exception>
    public PiiRedactorOptions EnableOnly(params string[] entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        foreach (var entity in entities)
        {
            if (!EntityTable.TryGetBuiltIn(entity, out _))
                throw new ArgumentException($"'{entity}' is not a built-in entity.", nameof(entities));
        }

        foreach (var name in PiiEntities.All)
        {
            if (Array.IndexOf(entities, name) < 0) DisabledEntities.Add(name);
            else DisabledEntities.Remove(name);
        }

        return this;
    }

    /// <summary>
    /// Adds a user-defined entity found by a regular expression, e.g.
    /// <c>options.AddCustomEntity("EMPLOYEE_ID", @"EMP-\d{6}", validator: null)</c>.
    /// </summary>
    /// <param name="name">The entity name used in placeholders and counts; must not be a built-in name.</param>
    /// <param name="pattern">
    /// A .NET regular expression. It is compiled with <see cref="RegexOptions.NonBacktracking"/> and
    /// <see cref="RegexOptions.CultureInvariant"/>, so it cannot backtrack catastrophically; constructs that need
    /// backtracking (look-arounds, back-references, atomic groups) are rejected with <see cref="NotSupportedException"/>.
    /// </param>
    /// <param name="validator">Optional check on each matched value; a match is kept only when it returns true.</param>
    /// <returns>This instance, for chaining.</returns>
    public PiiRedactorOptions AddCustomEntity(string name, string pattern, Func<string, bool>? validator = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        if (EntityTable.TryGetBuiltIn(name, out _))
            throw new ArgumentException($"'{name}' is a built-in entity name.", nameof(name));
        foreach (var existing in _customEntities)
        {
            if (string.Equals(existing.Name, name, StringComparison.Ordinal))
                throw new ArgumentException($"A custom entity named '{name}' was already added.", nameof(name));
        }

        _customEntities.Add(new CustomEntityDefinition(name, pattern, validator));
        return this;
    }
}

/// <summary>A user-defined entity: a name, a regular expression, and an optional validator.</summary>
/// <param name="Name">The entity name.</param>
/// <param name="Pattern">The regular expression (run with <see cref="RegexOptions.NonBacktracking"/>).</param>
/// <param name="Validator">Optional check on each matched value.</param>
public sealed record CustomEntityDefinition(string Name, string Pattern, Func<string, bool>? Validator);
