using System.Buffers;

namespace LlmObservability.Redaction;

/// <summary>Check-digit and structure validators used by the scanner. All work on spans and never allocate.</summary>
internal static class Validators
{
    /// <summary>Luhn (mod 10) check over the digits of <paramref name="text"/>; other characters are skipped.</summary>
    public static bool Luhn(ReadOnlySpan<char> text)
    {
        var sum = 0;
        var doubleIt = false;
        for (var i = text.Length - 1; i >= 0; i--)
        {
            var c = text[i];
            if (!char.IsAsciiDigit(c)) continue;
            var d = c - '0';
            if (doubleIt)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }

            sum += d;
            doubleIt = !doubleIt;
        }

        return sum % 10 == 0;
    }

    /// <summary>
    /// US SSN rules: area not 000, 666 or 9xx; group not 00; serial not 0000; not a publicly known fake number
    /// (Woolworth's wallet card 078-05-1120, the SSA pamphlet's 219-09-9999, LifeLock's 457-55-5462, 123-45-6789,
    /// and nine repeated digits).
    /// </summary>
    public static bool UsSsn(int area, int group, int serial)
    {
        if (area == 0 || area == 666 || area >= 900) return false;
        if (group == 0 || serial == 0) return false;
        var value = (area * 100L + group) * 10000 + serial;
        return value switch
        {
            78_05_1120 or 219_09_9999 or 457_55_5462 or 123_45_6789 => false,
            111_11_1111 or 222_22_2222 or 333_33_3333 or 444_44_4444 or 555_55_5555 or 777_77_7777 or 888_88_8888 => false,
            _ => true,
        };
    }
}

/// <summary>
/// The IBAN registry: per country, the IBAN length and the BBAN structure in SWIFT notation (n digits, a upper-case
/// letters, c letters or digits), from the SWIFT IBAN Registry.
/// </summary>
internal static class IbanRegistry
{
    private const string Table =
        "AD:4n4n12c AE:3n16n AL:8n16c AT:5n11n AZ:4a20c BA:3n3n8n2n BE:3n7n2n BG:4a4n2n8c BH:4a14c BI:5n5n11n2n " +
        "BR:8n5n10n1a1c BY:4c4n16c CH:5n12c CR:4n14n CY:3n5n16c CZ:4n6n10n DE:8n10n DJ:5n5n11n2n DK:4n9n1n DO:4c20n " +
        "EE:2n14n EG:4n4n17n ES:4n4n1n1n10n FI:3n11n FK:2a12n FO:4n9n1n FR:5n5n11c2n GB:4a6n8n GE:2a16n GI:4a15c " +
        "GL:4n9n1n GR:3n4n16c GT:4c20c HN:4a20n HR:7n10n HU:3n4n1n15n1n IE:4a6n8n IL:3n3n13n IQ:4a3n12n IS:4n2n6n10n " +
        "IT:1a5n5n12c JO:4a4n18c KW:4a22c KZ:3n13c LB:4n20c LC:4a24c LI:5n12c LT:5n11n LU:3n13c LV:4a13c LY:3n3n15n " +
        "MC:5n5n11c2n MD:2c18c ME:3n13n2n MK:3n10c2n MN:4n12n MR:5n5n11n2n MT:4a5n18c MU:4a2n2n12n3n3a NI:4a20n " +
        "NL:4a10n NO:4n6n1n OM:3n16c PK:4a16c PL:8n16n PS:4a21c PT:4n4n11n2n QA:4a21c RO:4a16c RS:3n13n2n RU:9n5n15c " +
        "SA:2n18c SC:4a2n2n16n3a SD:2n12n SE:3n16n1n SI:5n8n2n SK:4n6n10n SM:1a5n5n12c SO:4n3n12n ST:4n4n11n2n " +
        "SV:4a20n TL:3n14n2n TN:2n3n13n2n TR:5n1n16c UA:6n19c VA:3n15n VG:4a16n XK:4n10n2n YE:4a4n18c";

    /// <summary>Per country (index = (c1 - 'A') * 26 + (c2 - 'A')): the BBAN structure, or null.</summary>
    private static readonly string?[] Structures = BuildStructures();

    /// <summary>Per country: the IBAN length, or 0.</summary>
    private static readonly byte[] Lengths = BuildLengths();

    /// <summary>The IBAN length for a country code, or 0 when the country has no IBAN.</summary>
    public static int Length(char c1, char c2)
        => char.IsAsciiLetterUpper(c1) && char.IsAsciiLetterUpper(c2) ? Lengths[(c1 - 'A') * 26 + (c2 - 'A')] : 0;

    /// <summary>
    /// Whether a compact, upper-case IBAN (no spaces) of the right length has a valid BBAN structure and mod-97 check.
    /// </summary>
    public static bool IsValid(ReadOnlySpan<char> iban)
    {
        if (iban.Length < 5 || !char.IsAsciiDigit(iban[2]) || !char.IsAsciiDigit(iban[3])) return false;
        var structure = Structures[(iban[0] - 'A') * 26 + (iban[1] - 'A')];
        if (structure is null || Lengths[(iban[0] - 'A') * 26 + (iban[1] - 'A')] != iban.Length) return false;

        // BBAN structure, e.g. "4a6n8n".
        var pos = 4;
        var count = 0;
        foreach (var ch in structure)
        {
            if (char.IsAsciiDigit(ch))
            {
                count = count * 10 + (ch - '0');
                continue;
            }

            for (var k = 0; k < count; k++, pos++)
            {
                var c = iban[pos];
                var ok = ch switch
                {
                    'n' => char.IsAsciiDigit(c),
                    'a' => char.IsAsciiLetterUpper(c),
                    _ => char.IsAsciiDigit(c) || char.IsAsciiLetterUpper(c),
                };
                if (!ok) return false;
            }

            count = 0;
        }

        // ISO 7064 mod 97-10 over BBAN + country + check digits, letters as 10..35.
        var remainder = 0;
        for (var k = 0; k < iban.Length; k++)
        {
            var c = iban[(k + 4) % iban.Length];
            remainder = char.IsAsciiDigit(c)
                ? (remainder * 10 + (c - '0')) % 97
                : (remainder * 100 + (c - 'A' + 10)) % 97;
        }

        return remainder == 1;
    }

    private static string?[] BuildStructures()
    {
        var result = new string?[26 * 26];
        foreach (var entry in Table.Split(' '))
            result[(entry[0] - 'A') * 26 + (entry[1] - 'A')] = entry[3..];
        return result;
    }

    private static byte[] BuildLengths()
    {
        var result = new byte[26 * 26];
        foreach (var entry in Table.Split(' '))
        {
            var length = 4;
            var count = 0;
            foreach (var ch in entry.AsSpan(3))
            {
                if (char.IsAsciiDigit(ch)) count = count * 10 + (ch - '0');
                else
                {
                    length += count;
                    count = 0;
                }
            }

            result[(entry[0] - 'A') * 26 + (entry[1] - 'A')] = (byte)length;
        }

        return result;
    }
}

/// <summary>
/// Heuristics that separate real credentials from placeholders and ordinary words in context-based detections
/// (assignments, Authorization headers, curl credentials) and in prefix-keyed tokens.
/// </summary>
internal static class SecretHeuristics
{
    private static readonly SearchValues<string> PlaceholderMarkers = SearchValues.Create(
        ["example", "your_", "_your", "your-", "-your", "placeholder", "changeme", "redacted", "dummy"], StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether a value looks like a credential rather than a word, a variable or a placeholder: at least
    /// <paramref name="minLength"/> characters, at least two character classes (lower, upper, digit, symbol), and not
    /// a placeholder (see <see cref="IsPlaceholder"/>).
    /// </summary>
    public static bool IsSecretLike(ReadOnlySpan<char> value, int minLength, bool checkSequences)
        => value.Length >= minLength && CharacterClasses(value) >= 2 && !IsPlaceholder(value, checkSequences);

    /// <summary>Number of character classes present: lower-case, upper-case, digit, other.</summary>
    public static int CharacterClasses(ReadOnlySpan<char> value)
    {
        int lower = 0, upper = 0, digit = 0, other = 0;
        foreach (var c in value)
        {
            if (char.IsAsciiLetterLower(c)) lower = 1;
            else if (char.IsAsciiLetterUpper(c)) upper = 1;
            else if (char.IsAsciiDigit(c)) digit = 1;
            else other = 1;
        }

        return lower + upper + digit + other;
    }

    /// <summary>
    /// Placeholders and template variables: <c>$VAR</c>, <c>${…}</c>, <c>%VAR%</c>, <c>{{…}}</c>, <c>#…</c>, <c>*…</c>;
    /// a bracketed name such as <c>&lt;token&gt;</c>, <c>[PASSWORD]</c> or <c>{apikey}</c> (unless what is inside mixes
    /// letters and digits like a real credential); six or more of one character in a row (<c>xxxxxx</c>,
    /// <c>******</c>); documentation markers in values of up to 64 characters (<c>example</c>, <c>your_</c>, <c>your-</c>,
    /// <c>placeholder</c>, <c>changeme</c>, <c>redacted</c>, <c>dummy</c>); and, when <paramref name="checkSequences"/> is set, an ascending run of six
    /// (<c>abcdef</c>, <c>123456</c>). A random credential contains none of these except by a chance far below one in
    /// a million. Sequences are checked only for context-based detections, whose format alone is weak evidence.
    /// </summary>
    public static bool IsPlaceholder(ReadOnlySpan<char> value, bool checkSequences)
    {
        if (value.IsEmpty) return true;
        var first = value[0];
        if (first is '$' or '%' or '#' or '*' or '\u2026') return true;
        if (value.Contains("${", StringComparison.Ordinal) || value.Contains("{{", StringComparison.Ordinal)) return true;
        if (first is '<' or '[' or '{')
        {
            var inner = value[1..];
            if (inner.Length > 0 && inner[^1] is '>' or ']' or '}') inner = inner[..^1];
            if (!LooksLikeCredentialInBrackets(inner)) return true;
        }

        var run = 1;
        var ascending = 1;
        for (var i = 1; i < value.Length; i++)
        {
            var c = value[i];
            var p = value[i - 1];
            run = c == p ? run + 1 : 1;
            ascending = checkSequences && char.IsAsciiLetterOrDigit(c) && c == p + 1 ? ascending + 1 : 1;
            if (run >= 6 || ascending >= 6) return true;
        }

        // Placeholder phrases are short; a longer value is a token, and its randomness is what the class test measures.
        return value.Length <= 64 && value.ContainsAny(PlaceholderMarkers);
    }

    /// <summary>
    /// For prefix-keyed tokens whose body is random: no template syntax, no run of six equal characters, no
    /// <c>EXAMPLE</c>/<c>example</c> marker, and, for bodies of 16 or more characters, at least two character classes
    /// unless <paramref name="requireMixedClasses"/> is false (for formats whose alphabet often yields one class).
    /// The vendor prefix and exact format are strong evidence already, so the wider word list of
    /// <see cref="IsPlaceholder"/> is not needed here.
    /// </summary>
    public static bool LooksRandom(ReadOnlySpan<char> body, bool requireMixedClasses = true)
    {
        if (body.IsEmpty || body[0] is '$' or '%' or '<' or '[' or '{' or '#' or '*') return false;
        if (requireMixedClasses && body.Length >= 16 && CharacterClasses(body) < 2) return false;
        var run = 1;
        for (var i = 1; i < body.Length; i++)
        {
            run = body[i] == body[i - 1] ? run + 1 : 1;
            if (run >= 6) return false;
        }

        return !body.Contains("EXAMPLE", StringComparison.Ordinal) && !body.Contains("example", StringComparison.Ordinal);
    }

    /// <summary>Bracketed content that is itself credential-like: only letters, digits, '-' and '_', mixing letters and digits.</summary>
    private static bool LooksLikeCredentialInBrackets(ReadOnlySpan<char> inner)
    {
        if (inner.Length < 8) return false;
        bool letter = false, digit = false;
        foreach (var c in inner)
        {
            if (char.IsAsciiLetter(c)) letter = true;
            else if (char.IsAsciiDigit(c)) digit = true;
            else if (c is not ('-' or '_')) return false;
        }

        return letter && digit;
    }
}
