using System.Net;
using System.Net.Sockets;

namespace LlmObservability.Redaction;

/// <summary>Detectors for e-mail addresses, URL passwords and IPv6 addresses.</summary>
internal ref partial struct PiiScanner
{
    private void ScanAt(int i)
    {
        if (On(EntityKind.Password) && TryUrlPassword(i)) return;
        if (On(EntityKind.Email)) TryEmail(i);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsLocalPartChar(char c)
        => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '%' or '+' or '-' || (c > (char)127 && char.IsLetterOrDigit(c));

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsDomainChar(char c)
        => char.IsAsciiLetterOrDigit(c) || c == '-' || (c > (char)127 && char.IsLetterOrDigit(c));

    private void TryEmail(int at)
    {
        var text = _text;
        var n = text.Length;
        var start = at;
        var limit = Math.Max(0, at - 64);
        while (start > limit && IsLocalPartChar(text[start - 1])) start--;
        while (start < at && text[start] == '.') start++;
        if (start == at || text[at - 1] == '.') return;

        var p = at + 1;
        var labels = 0;
        var end = -1;
        while (p < n && p - at <= 254)
        {
            var labelStart = p;
            while (p < n && IsDomainChar(text[p]) && !(text[p] == '-' && p + 2 < n && text[p + 1] == '-' && text[p + 2] == '-')) p++;
            if (p == labelStart || text[labelStart] == '-' || text[p - 1] == '-') break;
            labels++;
            if (labels >= 2 && IsTopLevelDomain(text[labelStart..p])) end = p;
            if (p + 1 < n && text[p] == '.' && IsDomainChar(text[p + 1])) p++;
            else break;
        }

        if (end > 0) Emit(EntityKind.Email, start, end);
    }

    private static bool IsTopLevelDomain(ReadOnlySpan<char> label)
    {
        if (label.Length < 2) return false;
        foreach (var c in label)
        {
            if (!char.IsLetter(c)) return false;
        }

        return true;
    }

    /// <summary>The password in <c>scheme://user:password@host</c>.</summary>
    private bool TryUrlPassword(int at)
    {
        var text = _text;
        var p = at - 1;
        var limit = Math.Max(0, at - 256);
        var colon = -1;
        while (p >= limit)
        {
            var c = text[p];
            if (c == '/') break;
            if (char.IsWhiteSpace(c) || c is '"' or '\'' or '<' or '>' or '@') return false;
            if (c == ':') colon = p;
            p--;
        }

        if (p < 2 || p < limit || text[p] != '/' || text[p - 1] != '/' || text[p - 2] != ':' || colon < 0) return false;
        var password = text[(colon + 1)..at];
        if (!SecretHeuristics.IsSecretLike(password, 6, checkSequences: true)) return false;
        Emit(EntityKind.Password, colon + 1, at);
        return true;
    }

    private int ScanColon(int i)
    {
        var next = i + 1;
        if (On(EntityKind.IpAddress) && i >= _ipv6CheckedUntil) next = Math.Max(next, TryIPv6(i));
        if ((_enabled & AssignmentMask) != 0) ScanAssignment(i);
        return next;
    }

    /// <summary>
    /// An IPv6 address around the colon at <paramref name="i"/>: the run of hex digits, colons and dots (for an
    /// IPv4 tail), not glued to a word on either side, with "::" or seven colons, that
    /// <see cref="IPAddress.TryParse(ReadOnlySpan{char}, out IPAddress?)"/> accepts; then an optional %zone and /prefix.
    /// </summary>
    private int TryIPv6(int i)
    {
        var text = _text;
        var n = text.Length;

        // Quick reject for the common "key: value" colon: an address has a hex digit or a colon beside each colon.
        var before = i > 0 ? text[i - 1] : ' ';
        var after = i + 1 < n ? text[i + 1] : ' ';
        if (!(IsHex(before) || before == ':') && !(IsHex(after) || after == ':')) return i + 1;
        if (i > 0 && !IsHex(before) && before != ':' && IsWordChar(before)) return i + 1;

        var start = i;
        var limit = Math.Max(0, i - 45);
        while (start > limit && (IsHex(text[start - 1]) || text[start - 1] == ':')) start--;
        var end = start;
        var scanLimit = Math.Min(n, start + 50);
        while (end < scanLimit && (IsHex(text[end]) || text[end] is ':' or '.')) end++;
        _ipv6CheckedUntil = end;

        // Not glued to a word, nor to a bracket that closes or opens an earlier replacement ("[EMAIL]::").
        if (start > 0 && (IsWordChar(text[start - 1]) || IsHex(text[start - 1]) || text[start - 1] == ']')) return i + 1;
        if (end < n && (IsWordChar(text[end]) || text[end] == '[')) return i + 1;

        var tokenEnd = end;
        while (tokenEnd > start && text[tokenEnd - 1] == '.') tokenEnd--;
        if (tokenEnd - start >= 2 && text[tokenEnd - 1] == ':' && text[tokenEnd - 2] != ':') tokenEnd--;
        var token = text[start..tokenEnd];

        var colons = token.Count(':');
        if (colons is < 2 or > 7) return i + 1;
        var hasDot = token.Contains('.');
        if (!token.Contains("::", StringComparison.Ordinal) && colons != 7 && !(colons == 6 && hasDot)) return i + 1;
        if (!IPAddress.TryParse(token, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
            return i + 1;

        var spanEnd = tokenEnd;
        if (tokenEnd == end && end < n && text[end] == '%')
        {
            var z = end + 1;
            while (z < n && z - end <= 32 && (char.IsAsciiLetterOrDigit(text[z]) || text[z] is '_' or '-')) z++;
            if (z > end + 1) spanEnd = z;
        }

        if (spanEnd < n - 1 && text[spanEnd] == '/' && char.IsAsciiDigit(text[spanEnd + 1]))
        {
            var d = spanEnd + 1;
            var value = 0;
            while (d < n && char.IsAsciiDigit(text[d]) && d - spanEnd <= 3) value = value * 10 + (text[d++] - '0');
            if (value <= 128 && (d >= n || !IsWordChar(text[d]))) spanEnd = d;
        }

        Emit(EntityKind.IpAddress, start, spanEnd);
        _ipv6CheckedUntil = Math.Max(_ipv6CheckedUntil, spanEnd);
        return spanEnd;
    }
}
