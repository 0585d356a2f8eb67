using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace LlmObservability.Redaction;

/// <summary>
/// Finds personal data and secrets in text and replaces them. Thread-safe and reusable: build one per configuration
/// and share it.
/// </summary>
/// <remarks>
/// <para>
/// The built-in entities (<see cref="PiiEntities"/>) are found in one pass over the text: a vectorised search jumps
/// between trigger characters and each candidate is validated with span code (Luhn, mod-97, IP parsing, key formats).
/// No built-in detection uses a regular expression, and the time is linear in the text's length on any input.
/// Custom entities (<see cref="PiiRedactorOptions.AddCustomEntity"/>) run as one non-backtracking regular expression
/// each, after the built-in pass.
/// </para>
/// <para>
/// Overlaps are resolved deterministically: the higher priority wins (specific key formats, then context-based secrets,
/// then custom entities, then e-mail, IBAN, card, SSN, IP, phone), then the longer match; nothing is replaced twice,
/// and a detected span is never left partly in the clear.
/// </para>
/// </remarks>
public sealed class PiiRedactor
{
    private const int StackCandidates = 16;

    private readonly ulong _enabled;
    private readonly TriggerSet _triggers;
    private readonly string[] _names;
    private readonly PiiRedactionAction[] _actions;
    private readonly CustomMatcher[] _custom;
    private readonly byte[]? _pseudonymKey;
    private readonly int _pseudonymLength;

    /// <summary>Creates a redactor.</summary>
    /// <param name="options">The settings; null for the defaults (every built-in entity, typed placeholders).</param>
    /// <exception cref="ArgumentException">
    /// An action or disabled entity names an unknown entity, <see cref="PiiRedactionAction.Pseudonym"/> is used without a
    /// <see cref="PiiRedactorOptions.PseudonymKey"/>, or <see cref="PiiRedactorOptions.PseudonymLength"/> is out of range.
    /// </exception>
    /// <exception cref="NotSupportedException">A custom pattern uses a construct that needs backtracking.</exception>
    public PiiRedactor(PiiRedactorOptions? options = null)
    {
        options ??= new PiiRedactorOptions();
        var customCount = options.CustomEntities.Count;
        _names = new string[EntityTable.BuiltInCount + customCount];
        for (var i = 0; i < EntityTable.BuiltInCount; i++) _names[i] = PiiEntities.All[i];
        for (var i = 0; i < customCount; i++) _names[EntityTable.BuiltInCount + i] = options.CustomEntities[i].Name;

        foreach (var name in options.DisabledEntities) IndexOf(name, nameof(options.DisabledEntities));
        _actions = new PiiRedactionAction[_names.Length];
        Array.Fill(_actions, options.DefaultAction);
        foreach (var (name, action) in options.EntityActions) _actions[IndexOf(name, nameof(options.EntityActions))] = action;

        ulong enabled = 0;
        for (var i = 0; i < EntityTable.BuiltInCount; i++)
        {
            if (!options.DisabledEntities.Contains(_names[i])) enabled |= 1UL << i;
        }

        _enabled = enabled;
        _triggers = new TriggerSet(PiiScanner.TriggersFor(enabled));

        var custom = new List<CustomMatcher>(customCount);
        for (var i = 0; i < customCount; i++)
        {
            var definition = options.CustomEntities[i];
            if (options.DisabledEntities.Contains(definition.Name)) continue;
            var regex = new Regex(
                definition.Pattern,
                RegexOptions.NonBacktracking | RegexOptions.CultureInvariant,
                options.CustomPatternTimeout);
            custom.Add(new CustomMatcher(EntityTable.BuiltInCount + i, regex, definition.Validator));
        }

        _custom = [.. custom];

        if (Array.IndexOf(_actions, PiiRedactionAction.Pseudonym) >= 0)
        {
            if (options.PseudonymKey is not { Length: > 0 } key)
                throw new ArgumentException("The Pseudonym action needs a PseudonymKey.", nameof(options));
            _pseudonymKey = (byte[])key.Clone();
        }

        if (options.PseudonymLength is < 4 or > 64)
            throw new ArgumentException("PseudonymLength must be between 4 and 64.", nameof(options));
        _pseudonymLength = options.PseudonymLength;
    }

    /// <summary>Replaces every detected entity in <paramref name="text"/>.</summary>
    /// <param name="text">The text to redact.</param>
    /// <returns>The redacted text; the same instance, with nothing allocated, when nothing was found.</returns>
    /// <exception cref="RegexMatchTimeoutException">A custom entity's pattern exceeded its timeout.</exception>
    public string Redact(string text) => Redact(text, null);

    /// <summary>Replaces every detected entity in <paramref name="text"/> and counts what was replaced.</summary>
    /// <param name="text">The text to redact.</param>
    /// <param name="entityCounts">
    /// When not null, the number of replacements per entity name is added to it (existing counts are increased), as
    /// used for the payload's <c>redaction.entities</c>.
    /// </param>
    /// <returns>The redacted text; the same instance, with nothing allocated, when nothing was found.</returns>
    /// <exception cref="RegexMatchTimeoutException">A custom entity's pattern exceeded its timeout.</exception>
    public string Redact(string text, IDictionary<string, int>? entityCounts)
    {
        ArgumentNullException.ThrowIfNull(text);
        return RedactOrNull(text, entityCounts) ?? text;
    }

    /// <summary>
    /// The redacted text, or null when nothing was found (nothing is then allocated): for text held in a buffer, such as
    /// a payload's UTF-8 content decoded into pooled memory.
    /// </summary>
    internal string? RedactOrNull(ReadOnlySpan<char> text, IDictionary<string, int>? entityCounts)
    {
        var scanner = new PiiScanner(text, _enabled, _triggers, stackalloc Candidate[StackCandidates]);
        try
        {
            scanner.Run();
            AddCustomMatches(text, ref scanner.Candidates);
            if (scanner.Candidates.Count == 0) return null;
            var count = CandidateResolver.Resolve(scanner.Candidates.Items);
            return Replace(text, scanner.Candidates.Items[..count], entityCounts);
        }
        finally
        {
            scanner.Dispose();
        }
    }

    /// <summary>Finds the entities in <paramref name="text"/> without replacing them.</summary>
    /// <param name="text">The text to scan.</param>
    /// <returns>The matches after overlap resolution, ordered by start, never overlapping.</returns>
    /// <exception cref="RegexMatchTimeoutException">A custom entity's pattern exceeded its timeout.</exception>
    public IReadOnlyList<PiiMatch> Find(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var scanner = new PiiScanner(text, _enabled, _triggers, stackalloc Candidate[StackCandidates]);
        try
        {
            scanner.Run();
            AddCustomMatches(text, ref scanner.Candidates);
            if (scanner.Candidates.Count == 0) return [];
            var count = CandidateResolver.Resolve(scanner.Candidates.Items);
            var result = new PiiMatch[count];
            var items = scanner.Candidates.Items;
            for (var i = 0; i < count; i++) result[i] = new PiiMatch(_names[items[i].Entity], items[i].Start, items[i].Length);
            return result;
        }
        finally
        {
            scanner.Dispose();
        }
    }

    private void AddCustomMatches(ReadOnlySpan<char> text, ref CandidateList candidates)
    {
        foreach (var matcher in _custom)
        {
            foreach (var match in matcher.Regex.EnumerateMatches(text))
            {
                if (match.Length == 0) continue;
                if (matcher.Validator is { } validator && !validator(text.Slice(match.Index, match.Length).ToString())) continue;
                candidates.Add(matcher.Entity, EntityTable.CustomPriority, match.Index, match.Length);
            }
        }
    }

    private int IndexOf(string name, string setting)
    {
        var index = Array.IndexOf(_names, name);
        if (index < 0) throw new ArgumentException($"Unknown entity '{name}' in {setting}.", nameof(setting));
        return index;
    }

    private string Replace(ReadOnlySpan<char> text, ReadOnlySpan<Candidate> matches, IDictionary<string, int>? entityCounts)
    {
        var length = text.Length;
        foreach (var m in matches)
        {
            length += ReplacementLength(m) - m.Length;
            if (entityCounts is not null)
            {
                var name = _names[m.Entity];
                entityCounts[name] = entityCounts.TryGetValue(name, out var c) ? c + 1 : 1;
            }
        }

        return string.Create(length, new ReplaceState(this, text, matches), static (destination, state) =>
        {
            var source = state.Text;
            var written = 0;
            var last = 0;
            foreach (var m in state.Matches)
            {
                source[last..m.Start].CopyTo(destination[written..]);
                written += m.Start - last;
                written += state.Redactor.WriteReplacement(source.Slice(m.Start, m.Length), m.Entity, destination[written..]);
                last = m.End;
            }

            source[last..].CopyTo(destination[written..]);
        });
    }

    private readonly ref struct ReplaceState(PiiRedactor redactor, ReadOnlySpan<char> text, ReadOnlySpan<Candidate> matches)
    {
        public PiiRedactor Redactor { get; } = redactor;

        public ReadOnlySpan<char> Text { get; } = text;

        public ReadOnlySpan<Candidate> Matches { get; } = matches;
    }

    private int ReplacementLength(in Candidate m)
    {
        var name = _names[m.Entity];
        return _actions[m.Entity] switch
        {
            PiiRedactionAction.Remove => 0,
            PiiRedactionAction.Pseudonym => name.Length + 3 + _pseudonymLength,
            PiiRedactionAction.Partial when m.Length >= 8 => name.Length + 8,
            _ => name.Length + 2,
        };
    }

    private int WriteReplacement(ReadOnlySpan<char> value, int entity, Span<char> destination)
    {
        var name = _names[entity];
        var action = _actions[entity];
        if (action == PiiRedactionAction.Remove) return 0;

        destination[0] = '[';
        name.CopyTo(destination[1..]);
        var pos = 1 + name.Length;
        if (action == PiiRedactionAction.Pseudonym)
        {
            destination[pos++] = ':';
            WritePseudonym(value, destination.Slice(pos, _pseudonymLength));
            pos += _pseudonymLength;
        }
        else if (action == PiiRedactionAction.Partial && value.Length >= 8)
        {
            destination[pos++] = ':';
            destination[pos++] = '\u2026';
            value[^4..].CopyTo(destination[pos..]);
            pos += 4;
        }

        destination[pos++] = ']';
        return pos;
    }

    private void WritePseudonym(ReadOnlySpan<char> value, Span<char> destination)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var bytes = maxBytes <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var count = Encoding.UTF8.GetBytes(value, bytes);
            Span<byte> hash = stackalloc byte[32];
            HMACSHA256.HashData(_pseudonymKey, bytes[..count], hash);
            Span<char> hex = stackalloc char[64];
            Convert.TryToHexStringLower(hash, hex, out _);
            hex[..destination.Length].CopyTo(destination);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private sealed record CustomMatcher(int Entity, Regex Regex, Func<string, bool>? Validator);
}
