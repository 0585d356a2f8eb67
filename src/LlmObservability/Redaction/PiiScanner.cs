using System.Buffers;

namespace LlmObservability.Redaction;

/// <summary>
/// The single-pass scanner. It finds trigger characters (digits, <c>@</c>, <c>:</c>, <c>=</c>, <c>-</c>, <c>_</c>,
/// <c>J</c>, <c>A</c>, <c>B</c>) 64 at a time with vector compares (<see cref="TriggerMask"/>) and validates each
/// candidate around a trigger with hand-written span code. No regular expression runs here.
/// </summary>
/// <remarks>
/// Linear time on any input: each trigger does a bounded amount of work, except where it consumes a run (a digit
/// cluster, a token) and the scan resumes after that run, or where a failed long scan leaves a marker
/// (<see cref="_jwtNoMatchUntil"/>, <see cref="_ipv6CheckedUntil"/>, the PEM end cache) so it is not repeated.
/// </remarks>
internal ref partial struct PiiScanner
{
    private readonly ReadOnlySpan<char> _text;
    private readonly ulong _enabled;
    private readonly TriggerSet _triggers;
    private int _ipv6CheckedUntil;
    private int _jwtNoMatchUntil;
    private int _pemEndSearchedFrom;
    private int _pemNextEnd;

    /// <summary>The candidates found so far.</summary>
    public CandidateList Candidates;

    // Scratch space for one digit cluster, kept in the scanner so it is not re-zeroed for every cluster.
    private GroupBuffer _groupStarts;
    private GroupBuffer _groupEnds;
    private SeparatorBuffer _separators;

    public PiiScanner(ReadOnlySpan<char> text, ulong enabled, TriggerSet triggers, Span<Candidate> buffer)
    {
        _text = text;
        _enabled = enabled;
        _triggers = triggers;
        _ipv6CheckedUntil = 0;
        _jwtNoMatchUntil = 0;
        _pemEndSearchedFrom = -1;
        _pemNextEnd = -1;
        Candidates = new CandidateList(buffer);
    }

    private const ulong NumericMask =
        (1UL << (int)EntityKind.Phone) | (1UL << (int)EntityKind.CreditCard) | (1UL << (int)EntityKind.Iban) |
        (1UL << (int)EntityKind.UsSsn) | (1UL << (int)EntityKind.IpAddress);

    private const ulong AssignmentMask =
        (1UL << (int)EntityKind.Password) | (1UL << (int)EntityKind.SecretAssignment) |
        (1UL << (int)EntityKind.BearerToken) | (1UL << (int)EntityKind.BasicAuth) |
        (1UL << (int)EntityKind.AwsSecretAccessKey);

    [System.Runtime.CompilerServices.InlineArray(MaxGroups)]
    private struct GroupBuffer
    {
        private int _element;
    }

    [System.Runtime.CompilerServices.InlineArray(MaxGroups)]
    private struct SeparatorBuffer
    {
        private byte _element;
    }

    /// <summary>The trigger characters needed for a set of enabled built-in entities.</summary>
    public static string TriggersFor(ulong enabled)
    {
        bool On(EntityKind k) => (enabled & (1UL << (int)k)) != 0;
        var chars = new System.Text.StringBuilder();
        if ((enabled & NumericMask) != 0) chars.Append("0123456789");
        if (On(EntityKind.Email) || On(EntityKind.Password)) chars.Append('@');
        if (On(EntityKind.IpAddress) || (enabled & AssignmentMask) != 0) chars.Append(':');
        if ((enabled & AssignmentMask) != 0) chars.Append('=');
        if (On(EntityKind.PrivateKey) || On(EntityKind.OpenAiApiKey) || On(EntityKind.AnthropicApiKey) ||
            On(EntityKind.AnthropicAdminKey) || On(EntityKind.SlackToken) || On(EntityKind.BasicAuth))
            chars.Append('-');
        if (On(EntityKind.GitHubToken) || On(EntityKind.HuggingFaceToken) || On(EntityKind.StripeKey)) chars.Append('_');
        if (On(EntityKind.Jwt)) chars.Append('J');
        if (On(EntityKind.AwsAccessKeyId) || On(EntityKind.GoogleApiKey)) chars.Append('A');
        if (On(EntityKind.BearerToken)) chars.Append('B');
        return chars.ToString();
    }

    public void Dispose() => Candidates.Dispose();

    public void Run()
    {
        var text = _text;
        if (_triggers.IsEmpty) return;
        var filter = !_triggers.IsAll;
        var resume = 0;
        var block = 0;
        while (block < text.Length)
        {
            var mask = TriggerMask.Compute(text, block);
            if (resume > block) mask &= ~0UL << (resume - block);
            while (mask != 0)
            {
                var i = block + TriggerMask.Lowest(mask);
                mask &= mask - 1;
                var c = text[i];
                if (filter && !_triggers.Contains(c)) continue;
                var next = Dispatch(i, c);
                resume = next > i ? next : i + 1;
                if (resume >= block + TriggerMask.BlockSize) break;
                mask &= ~0UL << (resume - block);
            }

            block = Math.Max(block + TriggerMask.BlockSize, resume);
        }
    }

    /// <summary>Runs the detectors for the trigger <paramref name="c"/> at <paramref name="i"/>; returns where to resume.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private int Dispatch(int i, char c)
    {
        switch (c)
        {
            case '@':
                ScanAt(i);
                return i + 1;
            case ':':
                return ScanColon(i);
            case '=':
                ScanAssignment(i);
                return i + 1;
            case '-':
                return ScanDash(i);
            case '_':
                return ScanUnderscore(i);
            case 'J':
                return ScanJwt(i);
            case 'A':
                return ScanUpperA(i);
            case 'B':
                ScanBearerWord(i);
                return i + 1;
            default:
                return ScanDigits(i);
        }
    }

    private readonly bool On(EntityKind kind) => (_enabled & (1UL << (int)kind)) != 0;

    private void Emit(EntityKind kind, int start, int end)
    {
        if (On(kind) && end > start) Candidates.Add((int)kind, EntityTable.Priority(kind), start, end - start);
    }

    // ---- character classes -------------------------------------------------------------------------------------

    /// <summary>Letters (any script), digits and underscore: what glues characters into one word.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    /// <summary>Characters of a prefixed token (<c>sk-…</c>, <c>ghp_…</c>): ASCII letters, digits, '-', '_'.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    /// <summary>Characters of a credential in a header or after "Bearer": printable ASCII except quotes and brackets.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsCredentialChar(char c)
        => c > ' ' && c < (char)127 && c is not ('"' or '\'' or '`' or ',' or ';' or '<' or '>' or '(' or ')' or '[' or ']' or '{' or '}' or '\\');

    /// <summary>Characters of an unquoted assigned value.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsValueChar(char c)
        => c > ' ' && c is not ('"' or '\'' or '`' or ',' or ';' or '&' or '<' or '>' or '(' or ')' or '[' or ']' or '{' or '}' or '\\' or '|')
           && !char.IsWhiteSpace(c);

    private readonly int SkipWord(int i)
    {
        var text = _text;
        while (i < text.Length && IsWordChar(text[i])) i++;
        return i;
    }

    private readonly bool HasContextBefore(int position, SearchValues<string> words)
        => _text[Math.Max(0, position - 40)..position].ContainsAny(words);
}
