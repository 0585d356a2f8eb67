using System.Buffers;
using System.Net;
using System.Net.Sockets;

namespace LlmObservability.Redaction;

/// <summary>Digit-triggered detectors: IBAN, IPv4, credit card, US SSN, phone.</summary>
internal ref partial struct PiiScanner
{
    private const int MaxGroups = 24;

    // Separator kinds between digit groups (flags).
    private const byte SepSpace = 1;
    private const byte SepDash = 2;
    private const byte SepDot = 4;
    private const byte SepSlash = 8;
    private const byte SepParen = 16;

    private static readonly SearchValues<string> SsnContext =
        SearchValues.Create(["ssn", "social security", "ss#", "ss #"], StringComparison.OrdinalIgnoreCase);

    private static readonly SearchValues<string> PhoneContext =
        SearchValues.Create(["phone", "tel", "mobile", "cell", "call", "fax", "whatsapp", "sms", "number"], StringComparison.OrdinalIgnoreCase);

    private int ScanDigits(int i)
    {
        var text = _text;

        // IBAN: two upper-case letters at a word start, then the two check digits.
        if (i >= 2 && On(EntityKind.Iban) && char.IsAsciiLetterUpper(text[i - 2]) && char.IsAsciiLetterUpper(text[i - 1])
            && (i < 3 || !IsWordChar(text[i - 3])) && i + 1 < text.Length && char.IsAsciiDigit(text[i + 1]))
        {
            var end = TryIban(i - 2);
            if (end > 0)
            {
                Emit(EntityKind.Iban, i - 2, end);
                return end;
            }
        }

        if (i > 0)
        {
            // Part of a larger token: "abc123", "v1.2", "550e8400-446655440000". A ']' before the separator is the end
            // of an earlier replacement ("[PHONE]-415"): the run it was cut from was one token, so this is no new start.
            var prev = text[i - 1];
            if (IsWordChar(prev)
                || (prev is '-' or '.' && i > 1 && char.IsLetterOrDigit(text[i - 2]))
                || (prev is '-' or '.' or '/' or ')' && i > 1 && text[i - 2] == ']'))
                return SkipWord(i);
        }

        // Fast path: a short number not joined to another group ("3", "850", "12%") can be none of the entities.
        var runEnd = i;
        while (runEnd < text.Length && char.IsAsciiDigit(text[runEnd])) runEnd++;
        if (runEnd - i < 8 && (runEnd >= text.Length || !IsClusterSeparator(text, runEnd)))
            return runEnd;

        return ScanNumberCluster(i);
    }

    /// <summary>Whether a separator that may join digit groups starts at <paramref name="p"/> and a digit follows it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsClusterSeparator(ReadOnlySpan<char> text, int p)
    {
        var c = text[p];
        if (c is not (' ' or '-' or '.' or '/' or ')')) return false;
        var q = p + 1;
        if (q < text.Length && text[q] is ' ' or '-' or '(') q++;
        return q < text.Length && char.IsAsciiDigit(text[q]);
    }

    /// <summary>
    /// Reads a cluster of digit groups joined by single separators (space, '-', '.', '/', parentheses) and classifies
    /// windows of it. Returns where the scan resumes (the end of the cluster).
    /// </summary>
    private int ScanNumberCluster(int i)
    {
        var text = _text;
        var n = text.Length;
        Span<int> gs = _groupStarts;
        Span<int> ge = _groupEnds;
        Span<byte> sep = _separators;
        var count = 0;
        var p = i;
        sep[0] = 0;
        while (true)
        {
            var s = p;
            while (p < n && char.IsAsciiDigit(text[p])) p++;
            gs[count] = s;
            ge[count] = p;
            count++;
            if (count == MaxGroups || p >= n) break;

            var q = p;
            byte kind = 0;
            var c = text[q];
            if (c == ')')
            {
                kind = SepParen;
                q++;
                if (q < n && text[q] == ' ') { kind |= SepSpace; q++; }
                else if (q < n && text[q] == '-') { kind |= SepDash; q++; }
            }
            else if (c is ' ' or '-' or '.' or '/')
            {
                kind = c switch { ' ' => SepSpace, '-' => SepDash, '.' => SepDot, _ => SepSlash };
                q++;
                if (c == ' ' && q < n && text[q] == '(') { kind |= SepParen; q++; }
            }

            if (kind == 0 || q >= n || !char.IsAsciiDigit(text[q])) break;
            sep[count] = kind;
            p = q;
        }

        var resume = ge[count - 1];

        // Glued to a word on the right ("15T10", "123abc"): the last group belongs to that word.
        if (resume < n && IsWordChar(text[resume])) count--;
        if (count == 0) return SkipWord(resume);

        var plus = i > 0 && text[i - 1] == '+' && (i < 2 || !IsWordChar(text[i - 2]));
        var openParen = i > 0 && text[i - 1] == '(';

        var k = 0;
        while (k < count)
        {
            var consumed = 0;
            if (k == 0 || (sep[k] & (SepDot | SepParen)) == 0) consumed = TryIPv4(gs, ge, sep, count, k);
            if (consumed == 0 && (k == 0 || sep[k] == SepSpace))
            {
                var first = k == 0;
                if (!(first && plus)) consumed = TryCard(gs, ge, sep, count, k);
                if (consumed == 0 && !(first && plus)) consumed = TrySsn(gs, ge, sep, count, k);
                if (consumed == 0) consumed = TryPhone(gs, ge, sep, count, k, first && plus, first && openParen);
            }

            k += consumed > 0 ? consumed : 1;
        }

        return resume;
    }

    private int TryIban(int start)
    {
        var text = _text;
        var length = IbanRegistry.Length(text[start], text[start + 1]);
        if (length == 0) return 0;

        Span<char> compact = stackalloc char[34];
        var p = start;
        var count = 0;
        while (p < text.Length && count < length)
        {
            var c = text[p];
            if (char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c))
            {
                compact[count++] = c;
                p++;
            }
            else if (c == ' ' && count % 4 == 0 && p + 1 < text.Length && char.IsAsciiLetterOrDigit(text[p + 1]))
            {
                p++; // printed form: groups of four separated by single spaces
            }
            else break;
        }

        if (count != length) return 0;
        if (p < text.Length && IsWordChar(text[p])) return 0;
        return IbanRegistry.IsValid(compact[..count]) ? p : 0;
    }

    private int TryIPv4(scoped ReadOnlySpan<int> gs, scoped ReadOnlySpan<int> ge, scoped ReadOnlySpan<byte> sep, int count, int k)
    {
        if (!On(EntityKind.IpAddress) || k + 3 >= count) return 0;
        for (var j = k; j < k + 4; j++)
        {
            if (j > k && sep[j] != SepDot) return 0;
            if (ge[j] - gs[j] > 3 || GroupValue(gs[j], ge[j]) > 255) return 0;
        }

        var text = _text;
        if (!IPAddress.TryParse(text[gs[k]..ge[k + 3]], out var address) || address.AddressFamily != AddressFamily.InterNetwork)
            return 0;

        var consumed = 4;
        var end = ge[k + 3];
        if (k + 4 < count && sep[k + 4] == SepSlash && ge[k + 4] - gs[k + 4] <= 2 && GroupValue(gs[k + 4], ge[k + 4]) <= 32)
        {
            end = ge[k + 4];
            consumed = 5;
        }

        Emit(EntityKind.IpAddress, gs[k], end);
        return consumed;
    }

    private int TryCard(scoped ReadOnlySpan<int> gs, scoped ReadOnlySpan<int> ge, scoped ReadOnlySpan<byte> sep, int count, int k)
    {
        if (!On(EntityKind.CreditCard)) return 0;
        var text = _text;
        var firstDigit = text[gs[k]];
        if (firstDigit is < '1' or > '6') return 0;

        var len0 = ge[k] - gs[k];
        if (len0 is >= 12 and <= 19)
        {
            if (!Validators.Luhn(text[gs[k]..ge[k]])) return 0;
            Emit(EntityKind.CreditCard, gs[k], ge[k]);
            return 1;
        }

        if (len0 != 4) return 0;
        var total = 4;
        var best = -1;
        byte separator = 0;
        for (var j = k + 1; j < count; j++)
        {
            var length = ge[j] - gs[j];
            if (length is < 2 or > 6) break;
            if (j == k + 1)
            {
                separator = sep[j];
                if (separator is not (SepSpace or SepDash)) break;
            }
            else if (sep[j] != separator) break;

            total += length;
            if (total > 19) break;
            if (total < 12 || !Validators.Luhn(text[gs[k]..ge[j]])) continue;

            // A window that stops inside a longer run of joined groups ("4242 4242 4242 | 4241") is not a card,
            // unless it is a standard layout (4-4-4-4, 4-6-5, 4-6-4) followed by something else (e.g. a CVC).
            var last = j + 1 == count || sep[j + 1] != separator;
            if (last || IsStandardCardLayout(ge, gs, k, j)) best = j;
        }

        if (best < 0) return 0;
        Emit(EntityKind.CreditCard, gs[k], ge[best]);
        return best - k + 1;
    }

    private int TrySsn(scoped ReadOnlySpan<int> gs, scoped ReadOnlySpan<int> ge, scoped ReadOnlySpan<byte> sep, int count, int k)
    {
        if (!On(EntityKind.UsSsn)) return 0;

        // AAA-GG-SSSS with one separator used throughout, not continued by another joined group.
        if (k + 2 < count && ge[k] - gs[k] == 3 && ge[k + 1] - gs[k + 1] == 2 && ge[k + 2] - gs[k + 2] == 4
            && sep[k + 1] == sep[k + 2] && sep[k + 1] is SepDash or SepSpace or SepDot
            && (k + 3 == count || sep[k + 3] == SepSpace))
        {
            if (!Validators.UsSsn(GroupValue(gs[k], ge[k]), GroupValue(gs[k + 1], ge[k + 1]), GroupValue(gs[k + 2], ge[k + 2])))
                return 0;
            Emit(EntityKind.UsSsn, gs[k], ge[k + 2]);
            return 3;
        }

        // Nine bare digits only where the text says it is an SSN.
        if (ge[k] - gs[k] == 9 && (k + 1 == count || sep[k + 1] == SepSpace) && HasContextBefore(gs[k], SsnContext))
        {
            var s = gs[k];
            if (!Validators.UsSsn(GroupValue(s, s + 3), GroupValue(s + 3, s + 5), GroupValue(s + 5, s + 9))) return 0;
            Emit(EntityKind.UsSsn, s, ge[k]);
            return 1;
        }

        return 0;
    }

    private int TryPhone(scoped ReadOnlySpan<int> gs, scoped ReadOnlySpan<int> ge, scoped ReadOnlySpan<byte> sep, int count, int k, bool plus, bool openParen)
    {
        if (!On(EntityKind.Phone)) return 0;
        var text = _text;

        if (plus)
        {
            // International: +CC …, 8 to 15 digits in all (E.164), country code not starting with 0.
            if (text[gs[k]] == '0') return 0;
            var total = 0;
            var best = -1;
            for (var j = k; j < count; j++)
            {
                if (j > k && (sep[j] & SepSlash) != 0) break;
                total += ge[j] - gs[j];
                if (total > 15) break;
                if (total >= 8) best = j;
            }

            if (best < 0) return 0;
            Emit(EntityKind.Phone, gs[k] - 1, ge[best]);
            return best - k + 1;
        }

        // A single run of 10 or 11 digits only where the text says it is a phone number.
        var len0 = ge[k] - gs[k];
        if (len0 is 10 or 11 && (k + 1 == count || sep[k + 1] == SepSpace))
        {
            if (!HasContextBefore(gs[k], PhoneContext)) return 0;
            Emit(EntityKind.Phone, gs[k], ge[k]);
            return 1;
        }

        // National: separated groups, 9 to 12 digits.
        var parenthesized = openParen && k + 1 < count && (sep[k + 1] & SepParen) != 0;
        if (len0 is < 1 or > 5 || (parenthesized && len0 is < 2 or > 4)) return 0;
        var digits = len0;
        var bestEnd = -1;
        var anyDot = false;
        var anyOther = false;
        var allThree = true;
        for (var j = k + 1; j < count; j++)
        {
            var s = sep[j];
            if ((s & SepSlash) != 0) break;
            if ((s & SepDot) != 0) anyDot = true;
            else anyOther = true;
            if (anyDot && anyOther) break;
            if (j > k + 1 && (s & SepParen) != 0) break;

            var length = ge[j] - gs[j];
            var groups = j - k + 1;
            if (length is < 2 or > 8 || (groups > 2 && (length > 5 || ge[k + 1] - gs[k + 1] > 5))) break;
            if (length != 3) allThree = false;
            digits += length;
            if (digits > 12) break;
            if (digits < 9) continue;

            // Two groups only with a trunk prefix or an area code in parentheses: "030 1234567", "(030) 1234567".
            var ok = !(anyDot && groups < 3);
            if (groups == 2 && (length < 4 || (!parenthesized && text[gs[k]] != '0'))) ok = false;

            // "1 234 567 890" or "10.000.000": thousands grouping, not a phone number.
            if (allThree && len0 <= 3 && !parenthesized && (s & SepDash) == 0) ok = false;
            if (ok) bestEnd = j;
        }

        if (bestEnd < 0) return 0;
        Emit(EntityKind.Phone, parenthesized ? gs[k] - 1 : gs[k], ge[bestEnd]);
        return bestEnd - k + 1;
    }

    private static bool IsStandardCardLayout(scoped ReadOnlySpan<int> ge, scoped ReadOnlySpan<int> gs, int k, int j)
    {
        var groups = j - k + 1;
        if (groups == 4)
        {
            for (var g = k; g <= j; g++)
            {
                if (ge[g] - gs[g] != 4) return false;
            }

            return true;
        }

        return groups == 3 && ge[k + 1] - gs[k + 1] == 6 && ge[j] - gs[j] is 4 or 5;
    }

    private readonly int GroupValue(int start, int end)
    {
        var value = 0;
        for (var p = start; p < end && p - start < 9; p++) value = value * 10 + (_text[p] - '0');
        return end - start > 9 ? int.MaxValue : value;
    }
}
