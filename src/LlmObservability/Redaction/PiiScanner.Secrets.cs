namespace LlmObservability.Redaction;

/// <summary>Detectors for keys, tokens and credentials.</summary>
internal ref partial struct PiiScanner
{
    private const int MaxValueLength = 256;

    private static readonly System.Buffers.SearchValues<char> Brackets = System.Buffers.SearchValues.Create("[](){}<>");
    private const int MaxCredentialLength = 2048;
    private const int MaxTokenLength = 512;
    private const int MaxJwtLength = 16384;
    private const int MaxPemBody = 65536;

    private enum KeyKind
    {
        None,
        Authorization,
        Password,
        Secret,
        AwsSecret,
        Cookie,
        SetCookie,
    }

    // ---- key: value and key=value --------------------------------------------------------------------------------

    /// <summary>A value assigned to a secret-looking key, at the ':' or '=' at <paramref name="i"/>.</summary>
    private void ScanAssignment(int i)
    {
        var text = _text;
        var n = text.Length;
        var valueStart = i + 1;
        if (text[i] == '=')
        {
            if (i > 0 && text[i - 1] is '=' or '!' or '<' or '>' or ':') return; // comparison, or ":=" seen at ':'
            if (valueStart < n && text[valueStart] == '=') return;
            if (valueStart < n && text[valueStart] == '>') valueStart++; // =>
        }
        else
        {
            if (valueStart < n && text[valueStart] is ':' or '/') return; // "::", "://"
            if (i > 0 && text[i - 1] == ':') return;
            if (valueStart < n && text[valueStart] == '=') valueStart++; // :=
        }

        // The key: identifier characters before the separator, allowing a closing quote and a space or two.
        var keyEnd = i;
        var spaces = 0;
        while (keyEnd > 0 && text[keyEnd - 1] == ' ' && spaces < 2)
        {
            keyEnd--;
            spaces++;
        }

        if (keyEnd > 0 && text[keyEnd - 1] is '"' or '\'')
        {
            keyEnd--;
            if (keyEnd > 0 && text[keyEnd - 1] == '\\') keyEnd--;
        }

        if (!MayEndWithKeyword(text, keyEnd)) return;
        var keyStart = keyEnd;
        var limit = Math.Max(0, keyEnd - 64);
        while (keyStart > limit && (char.IsAsciiLetterOrDigit(text[keyStart - 1]) || text[keyStart - 1] is '_' or '-' or '.')) keyStart--;
        if (keyStart == keyEnd || (keyStart > 0 && text[keyStart - 1] == '[')) return; // "[PASSWORD:…]" is our own output

        var kind = ClassifyKey(text[keyStart..keyEnd]);
        if (kind == KeyKind.None) return;

        var p = valueStart;
        var ws = 0;
        while (p < n && text[p] is ' ' or '\t' && ws < 8)
        {
            p++;
            ws++;
        }

        if (kind == KeyKind.Authorization)
        {
            ScanAuthorizationValue(p);
            return;
        }

        if (kind is KeyKind.Cookie or KeyKind.SetCookie)
        {
            ScanCookieValue(p, kind == KeyKind.SetCookie);
            return;
        }

        if (!ReadAssignedValue(p, out var vs, out var ve)) return;
        var value = text[vs..ve];
        if (value.Contains("://", StringComparison.Ordinal) || value[0] is '/' or '~' or '.') return; // URLs and paths
        if (kind != KeyKind.Password && IsElided(text, vs, ve)) return;

        switch (kind)
        {
            case KeyKind.Password:
                if (SecretHeuristics.IsSecretLike(value, 6, checkSequences: true)) Emit(EntityKind.Password, vs, ve);
                break;
            case KeyKind.AwsSecret when value.Length == 40 && IsBase64(value) && SecretHeuristics.LooksRandom(value):
                Emit(EntityKind.AwsSecretAccessKey, vs, ve);
                break;
            default:
                if (SecretHeuristics.IsSecretLike(value, 8, checkSequences: true)) Emit(EntityKind.SecretAssignment, vs, ve);
                break;
        }
    }

    /// <summary>
    /// A short head followed by an ellipsis (<c>sk_live_...</c>, <c>"AIzaSy..."</c>, <c>sk-ant-api03-…</c>): how
    /// documentation and chat show which kind of key goes there, not a key. Only heads under 20 characters count, so
    /// a full API key followed by "..." as punctuation is still a secret; passwords are short, so they are not asked.
    /// </summary>
    private static bool IsElided(ReadOnlySpan<char> text, int start, int end)
    {
        var value = text[start..end];
        var head = value.TrimEnd('.').TrimEnd('\u2026');
        var rest = text[end..];
        var ellipsis = value.Length - head.Length >= 3 || value.EndsWith('\u2026')
            || rest.StartsWith("...", StringComparison.Ordinal) || rest.StartsWith('\u2026');
        return ellipsis && head.Length < 20;
    }

    /// <summary>The last three letters of every key word (authorization, token, password, passwd, pwd, passphrase,
    /// secret, …key, credential, credentials, signature, cookie), packed as in <see cref="MayEndWithKeyword"/>.</summary>
    private static readonly uint[] KeywordEndings =
        [Pack("ion"), Pack("ken"), Pack("ord"), Pack("swd"), Pack("pwd"), Pack("ase"), Pack("ret"), Pack("key"), Pack("ial"), Pack("als"), Pack("ure"), Pack("kie")];

    private static uint Pack(string ending) => ending[2] | ((uint)ending[1] << 8) | ((uint)ending[0] << 16);

    /// <summary>
    /// A cheap pre-filter run at every ':' and '=': whether the identifier before <paramref name="keyEnd"/> can end
    /// with a key word, judged by its last three letters (ignoring case, '_', '-', '.' and trailing digits).
    /// </summary>
    private static bool MayEndWithKeyword(ReadOnlySpan<char> text, int keyEnd)
    {
        var k = keyEnd - 1;
        while (k >= 0 && char.IsAsciiDigit(text[k])) k--;
        var packed = LettersBefore(text, ref k);
        if (packed == 0) return false;
        foreach (var ending in KeywordEndings)
        {
            if (ending != packed) continue;
            // Of the many words ending in "ure" (temperature, feature, failure...), only "signature" is a key word: its
            // three letters before are looked at here, so the others cost no classification.
            return ending != SignatureEnding || LettersBefore(text, ref k) == Pack("nat");
        }

        return false;
    }

    private static readonly uint SignatureEnding = Pack("ure");

    /// <summary>
    /// The three letters ending at <paramref name="k"/>, lower-cased and packed (the last in the low byte, as
    /// <see cref="Pack"/> packs a word's ending), skipping '_', '-', '.'; 0 when a character other than those comes
    /// first or eight characters hold fewer than three letters. <paramref name="k"/> moves to the character before them.
    /// </summary>
    private static uint LettersBefore(ReadOnlySpan<char> text, ref int k)
    {
        uint packed = 0;
        var letters = 0;
        for (var steps = 0; k >= 0 && letters < 3 && steps < 8; k--, steps++)
        {
            var c = text[k];
            if (c is '_' or '-' or '.') continue;
            if (!char.IsAsciiLetter(c)) return 0;
            packed |= (uint)(c | 0x20) << (8 * letters++);
        }

        return letters == 3 ? packed : 0;
    }

    private static KeyKind ClassifyKey(ReadOnlySpan<char> key)
    {
        // The key's last letters, lower-cased, ignoring '_', '-', '.' and trailing digits: "X-Api_Key2" -> "xapikey".
        Span<char> tail = stackalloc char[16];
        var length = 0;
        var k = key.Length - 1;
        while (k >= 0 && char.IsAsciiDigit(key[k])) k--;
        for (; k >= 0 && length < tail.Length; k--)
        {
            var c = key[k];
            if (c is '_' or '-' or '.') continue;
            tail[tail.Length - 1 - length++] = (char)(c | 0x20);
        }

        var word = tail[(tail.Length - length)..];
        if (word.IsEmpty) return KeyKind.None;
        return word[^1] switch
        {
            'n' when word.EndsWith("authorization") => KeyKind.Authorization,
            'n' when word.EndsWith("token") => KeyKind.Secret,
            'd' when word.EndsWith("password") || word.EndsWith("passwd") || word.EndsWith("pwd") => KeyKind.Password,
            'e' when word.EndsWith("passphrase") => KeyKind.Password,
            // AWS SigV4: "Signature=<64 hex>" inside an Authorization value, "X-Amz-Signature=" in a presigned URL.
            'e' when word.EndsWith("signature") => KeyKind.Secret,
            'e' when word.EndsWith("setcookie") => KeyKind.SetCookie,
            'e' when word.EndsWith("cookie") => KeyKind.Cookie,
            't' when word.EndsWith("secret") => KeyKind.Secret,
            'y' when word.EndsWith("secretaccesskey") => KeyKind.AwsSecret,
            'y' when word.EndsWith("apikey") || word.EndsWith("accesskey") || word.EndsWith("secretkey") || word.EndsWith("privatekey")
                || word.EndsWith("authkey") || word.EndsWith("sessionkey") || word.EndsWith("signingkey") => KeyKind.Secret,
            'l' when word.EndsWith("credential") => KeyKind.Secret,
            's' when word.EndsWith("credentials") => KeyKind.Secret,
            _ => KeyKind.None,
        };
    }

    /// <summary>A quoted value (up to its closing quote) or an unquoted one (up to a delimiter); no whitespace inside.</summary>
    private readonly bool ReadAssignedValue(int p, out int start, out int end)
    {
        var text = _text;
        var n = text.Length;
        start = end = p;
        if (p >= n) return false;
        if (text[p] == '\\' && p + 1 < n && text[p + 1] is '"' or '\'') p++;
        var quote = text[p];
        if (quote is '"' or '\'' or '`')
        {
            start = p + 1;
            end = start;
            var limit = Math.Min(n, start + MaxValueLength);
            while (end < limit && text[end] != quote && text[end] != '\\' && !char.IsWhiteSpace(text[end])) end++;
            if (end >= n || (text[end] != quote && text[end] != '\\')) return false;
        }
        else
        {
            start = p;
            end = p;
            var limit = Math.Min(n, start + MaxValueLength);
            while (end < limit && IsValueChar(text[end])) end++;
            if (end < n && (IsValueChar(text[end]) || IsOpeningBracket(text[end]))) return false; // too long, or glued to more
            while (end > start && text[end - 1] is '.' or ':') end--; // sentence punctuation
        }

        // An '=' inside the value ("a=b=c") means it is another assignment, not a value; base64 padding may end it.
        var inner = text[start..end].TrimEnd('=');
        return end > start && !inner.Contains('=');
    }

    /// <summary>The credential of an Authorization header value starting at <paramref name="p"/>.</summary>
    private void ScanAuthorizationValue(int p)
    {
        var text = _text;
        var n = text.Length;
        if (p < n && text[p] == '\\') p++;
        var quoted = p < n && text[p] is '"' or '\'';
        if (quoted) p++;

        var w = p;
        while (w < n && w - p < 32 && (char.IsAsciiLetterOrDigit(text[w]) || text[w] == '-')) w++;
        if (w > p && w < n && text[w] == ' ' && char.IsAsciiLetter(text[p]))
        {
            var scheme = text[p..w];
            var cs = w;
            while (cs < n && text[cs] == ' ' && cs - w < 8) cs++;
            if (scheme.Equals("Digest", StringComparison.OrdinalIgnoreCase))
            {
                ScanDigestResponse(cs, quoted);
                return;
            }

            var ce = ReadCredential(cs);
            if (ce < 0) return;
            var credential = text[cs..ce];
            if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                if (SecretHeuristics.IsSecretLike(credential, 8, checkSequences: true)) Emit(EntityKind.BearerToken, cs, ce);
            }
            else if (scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            {
                if (IsBasicCredential(credential)) Emit(EntityKind.BasicAuth, cs, ce);
            }
            else if (SecretHeuristics.IsSecretLike(credential, 8, checkSequences: true))
            {
                Emit(EntityKind.SecretAssignment, cs, ce);
            }

            return;
        }

        var end = ReadCredential(p);
        if (end > p && SecretHeuristics.IsSecretLike(text[p..end], 8, checkSequences: true)) Emit(EntityKind.SecretAssignment, p, end);
    }

    /// <summary>
    /// The <c>response="…"</c> of a Digest Authorization value (RFC 7616) whose parameters start at <paramref name="start"/>:
    /// the hash that proves the password. The other parameters (username, realm, nonce, uri) are not credentials. The
    /// value ends at the end of the line or, when it was quoted itself (a JSON member), at its closing quote.
    /// </summary>
    private void ScanDigestResponse(int start, bool quoted)
    {
        var text = _text;
        var end = Math.Min(text.Length, start + MaxCredentialLength);
        for (var k = start; k < end; k++)
        {
            if (text[k] is '\r' or '\n' || (quoted && text[k] == '"' && text[k - 1] != '\\'))
            {
                end = k;
                break;
            }
        }

        var value = text[start..end];
        var at = value.IndexOf("response=", StringComparison.OrdinalIgnoreCase);
        if (at < 0 || (at > 0 && IsWordChar(value[at - 1]))) return; // not "rspauth", not "xresponse"
        var hs = start + at + 9;
        if (hs < end && text[hs] == '\\') hs++;
        if (hs < end && text[hs] == '"') hs++;
        var he = hs;
        while (he < end && IsHex(text[he])) he++;
        if (he - hs >= 32) Emit(EntityKind.SecretAssignment, hs, he); // MD5 (32) or SHA-256 (64) hex digest
    }

    /// <summary>
    /// The cookie values of a Cookie (<paramref name="setCookie"/> false: every <c>name=value</c> pair, separated by
    /// <c>;</c>) or Set-Cookie header value (the first pair of each cookie; what follows are attributes such as Path and
    /// Expires) starting at <paramref name="p"/>. A JSON array of such values (<c>"set-cookie":["a=…","b=…"]</c>) is
    /// read item by item. Every value of eight characters or more that is not a placeholder is a credential: the header
    /// names it one, so no randomness test is needed.
    /// </summary>
    private void ScanCookieValue(int p, bool setCookie)
    {
        var text = _text;
        var n = text.Length;
        var limit = Math.Min(n, p + MaxCredentialLength);
        var array = p < limit && text[p] == '[';
        if (array) p++;
        for (var item = 0; item < 16 && p < limit; item++)
        {
            while (p < limit && text[p] is ' ' or '\t') p++;
            if (p < limit && text[p] == '\\') p++;
            var quote = p < limit && text[p] is '"' or '\'' ? text[p++] : '\0';
            for (var pair = 0; pair < 64 && p < limit; pair++)
            {
                while (p < limit && text[p] == ' ') p++;
                var ns = p;
                while (p < limit && IsCookieNameChar(text[p])) p++;
                if (p == ns || p >= limit || text[p] != '=') return;
                p++;
                if (p + 1 < limit && text[p] == '\\' && text[p + 1] == '"') p++;
                var dquoted = p < limit && text[p] == '"';
                if (dquoted) p++;
                var vs = p;
                while (p < limit && IsCookieOctet(text[p])) p++;
                var value = text[vs..p];
                if (value.Length >= 8 && !SecretHeuristics.IsPlaceholder(value, checkSequences: true)) Emit(EntityKind.SecretAssignment, vs, p);
                if (dquoted && p < limit && text[p] == '\\') p++;
                if (dquoted && p < limit && text[p] == '"') p++;
                if (setCookie || p >= limit || text[p] != ';') break;
                p++;
            }

            if (!array || quote == '\0') return;
            // The rest of this item (a Set-Cookie's attributes) up to its closing quote, then ',' and the next item.
            while (p < limit && !(text[p] == quote && text[p - 1] != '\\')) p++;
            p++;
            while (p < limit && text[p] is ' ' or '\t' or '\r' or '\n') p++;
            if (p >= limit || text[p] != ',') return;
            p++;
            while (p < limit && text[p] is ' ' or '\t' or '\r' or '\n') p++;
        }
    }

    /// <summary>Characters of a cookie name (an RFC 9110 token).</summary>
    private static bool IsCookieNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    /// <summary>Characters of a cookie value (RFC 6265 cookie-octet): printable ASCII except space, '"', ',', ';' and '\\'.</summary>
    private static bool IsCookieOctet(char c) => c > ' ' && c < (char)127 && c is not ('"' or ',' or ';' or '\\');

    /// <summary>End of a credential starting at <paramref name="start"/>, or -1 when it is empty or too long.</summary>
    private readonly int ReadCredential(int start)
    {
        var text = _text;
        var end = start;
        var limit = Math.Min(text.Length, start + MaxCredentialLength);
        while (end < limit && IsCredentialChar(text[end])) end++;
        if (end < text.Length && (IsCredentialChar(text[end]) || IsOpeningBracket(text[end]))) return -1; // too long, or glued to more
        while (end > start && text[end - 1] is '.' or ':') end--;
        return end > start ? end : -1;
    }

    /// <summary>Basic credentials: base64 that decodes to "user:password" (user not empty).</summary>
    private static bool IsBasicCredential(ReadOnlySpan<char> credential)
    {
        if (credential.Length < 8 || credential.Length > 1024 || SecretHeuristics.IsPlaceholder(credential, checkSequences: false)) return false;
        Span<byte> decoded = stackalloc byte[credential.Length];
        if (!Convert.TryFromBase64Chars(credential, decoded, out var written)) return false;
        var colon = decoded[..written].IndexOf((byte)':');
        return colon > 0;
    }

    private static bool IsOpeningBracket(char c) => c is '[' or '(' or '{' or '<';

    private static bool IsBase64(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('+' or '/' or '=')) return false;
        }

        return true;
    }

    /// <summary>A standalone "Bearer &lt;credential&gt;" (e.g. in a JSON header value).</summary>
    private void ScanBearerWord(int i)
    {
        var text = _text;
        if (!text[i..].StartsWith("Bearer ", StringComparison.Ordinal) || (i > 0 && IsWordChar(text[i - 1]))) return;
        var cs = i + 7;
        while (cs < text.Length && text[cs] == ' ' && cs - i < 16) cs++;
        if (Candidates.Count > 0 && Candidates.Items[^1].Start == cs) return; // already found as an Authorization header
        var ce = ReadCredential(cs);
        if (ce > cs && SecretHeuristics.IsSecretLike(text[cs..ce], 8, checkSequences: true)) Emit(EntityKind.BearerToken, cs, ce);
    }

    // ---- prefixed tokens ---------------------------------------------------------------------------------------

    private int ScanDash(int i)
    {
        var text = _text;
        if (text[i..].StartsWith("-----BEGIN ", StringComparison.Ordinal))
        {
            if (On(EntityKind.PrivateKey))
            {
                var end = TryPrivateKey(i);
                if (end > 0)
                {
                    Emit(EntityKind.PrivateKey, i, end);
                    return end;
                }
            }

            return i + 5;
        }

        if (i >= 2 && text[i - 2] == 's' && text[i - 1] == 'k' && (i < 3 || !IsTokenChar(text[i - 3])))
        {
            var end = TrySkKey(i - 2);
            if (end > 0) return end;
        }

        if (i >= 4 && text[i - 4] == 'x' && text[i - 3] == 'o' && text[i - 2] == 'x' && text[i - 1] is 'a' or 'b' or 'p' or 'o' or 's' or 'e' or 'r'
            && (i < 5 || !IsTokenChar(text[i - 5])) && On(EntityKind.SlackToken))
        {
            var end = TrySlackToken(i - 4);
            if (end > 0) return end;
        }

        if (On(EntityKind.BasicAuth) && i > 0 && char.IsWhiteSpace(text[i - 1])) TryCurlUser(i);
        return i + 1;
    }

    /// <summary>OpenAI (<c>sk-…</c>) and Anthropic (<c>sk-ant-…</c>) keys starting at <paramref name="s"/>.</summary>
    private int TrySkKey(int s)
    {
        var text = _text;
        var n = text.Length;
        var p = s + 3;
        var e = p;
        var limit = Math.Min(n, p + MaxTokenLength);
        while (e < limit && IsTokenChar(text[e])) e++;
        if (e < n && IsTokenChar(text[e])) return 0;
        var body = text[p..e];

        if (body.StartsWith("ant-", StringComparison.Ordinal))
        {
            // sk-ant-api03-<93>AA, sk-ant-admin01-<93>AA: the key format ends in "AA".
            var kind = body.StartsWith("ant-admin", StringComparison.Ordinal) ? EntityKind.AnthropicAdminKey : EntityKind.AnthropicApiKey;
            var dash = body[4..].IndexOf('-');
            if (dash < 0) return 0;
            var secret = body[(4 + dash + 1)..];
            if (secret.Length < 80 || !secret.EndsWith("AA", StringComparison.Ordinal) || !SecretHeuristics.LooksRandom(secret)) return 0;
            Emit(kind, s, e);
            return e;
        }

        // sk-, sk-proj-, sk-svcacct-, sk-admin-: a random body of at least 20 characters. Legacy keys carry "T3BlbkFJ";
        // otherwise lower, upper and digits must all appear, which hyphenated words ("sk-learn-compatible") never do.
        if (body.Length < 20 || !SecretHeuristics.LooksRandom(body)) return 0;
        if (!body.Contains("T3BlbkFJ", StringComparison.Ordinal))
        {
            bool lower = false, upper = false, digit = false;
            foreach (var c in body)
            {
                if (char.IsAsciiLetterLower(c)) lower = true;
                else if (char.IsAsciiLetterUpper(c)) upper = true;
                else if (char.IsAsciiDigit(c)) digit = true;
            }

            if (!(lower && upper && digit)) return 0;
        }

        Emit(EntityKind.OpenAiApiKey, s, e);
        return e;
    }

    /// <summary>
    /// Slack tokens: <c>xox?-</c>, at least two numeric IDs of 8 to 13 digits, then a random part of 20 or more
    /// characters.
    /// </summary>
    private int TrySlackToken(int s)
    {
        var text = _text;
        var n = text.Length;
        var p = s + 5;
        var e = p;
        var limit = Math.Min(n, p + MaxTokenLength);
        while (e < limit && (char.IsAsciiLetterOrDigit(text[e]) || text[e] == '-')) e++;
        if (e < n && IsTokenChar(text[e])) return 0;

        var numericIds = 0;
        var q = p;
        while (q < e)
        {
            var d = q;
            while (d < e && char.IsAsciiDigit(text[d])) d++;
            if (d - q is < 8 or > 13 || d >= e || text[d] != '-') break;
            numericIds++;
            q = d + 1;
        }

        var rest = text[q..e];
        if (numericIds < 2 || rest.Length < 20 || !SecretHeuristics.LooksRandom(rest)) return 0;
        Emit(EntityKind.SlackToken, s, e);
        return e;
    }

    /// <summary>
    /// <c>curl -u user:password</c> / <c>--user</c>: the credential, or the user alone when the password is empty
    /// (API keys passed as the user, <c>-u "key:"</c>).
    /// </summary>
    private void TryCurlUser(int i)
    {
        var text = _text;
        var n = text.Length;
        int p;
        if (text[i..].StartsWith("-u", StringComparison.Ordinal) && i + 2 < n && text[i + 2] is ' ' or '"' or '\'') p = i + 2;
        else if (text[i..].StartsWith("--user", StringComparison.Ordinal) && i + 6 < n && text[i + 6] is ' ' or '=') p = i + 6;
        else return;

        var skipped = 0;
        while (p < n && text[p] is ' ' or '=' && skipped < 4)
        {
            p++;
            skipped++;
        }

        if (!ReadCurlToken(ref p, out var ts, out var te, out var quoted)) return;
        ReadOnlySpan<char> user, password;
        var credStart = ts;
        var credEnd = te;
        if (quoted && p < n && text[p] == ':')
        {
            // "user":"password"
            p++;
            if (!ReadCurlToken(ref p, out var ps, out var pe, out _)) return;
            user = text[ts..te];
            password = text[ps..pe];
            credEnd = pe;
        }
        else
        {
            var whole = text[ts..te];
            if (SecretHeuristics.IsPlaceholder(whole, checkSequences: false) || whole.IndexOfAny(Brackets) >= 0) return;
            var colon = whole.IndexOf(':');
            if (colon < 0) return; // no password: curl prompts for it
            user = whole[..colon];
            password = whole[(colon + 1)..].Trim("'\"");
        }

        var secret = password.IsEmpty ? user : password;
        if (!SecretHeuristics.IsSecretLike(secret, 6, checkSequences: true)) return;
        Emit(EntityKind.BasicAuth, credStart, credEnd);
    }

    private readonly bool ReadCurlToken(ref int p, out int start, out int end, out bool quoted)
    {
        var text = _text;
        var n = text.Length;
        start = end = p;
        quoted = false;
        if (p >= n) return false;
        var quote = text[p];
        if (quote is '"' or '\'')
        {
            quoted = true;
            start = p + 1;
            end = start;
            var limit = Math.Min(n, start + MaxValueLength);
            while (end < limit && text[end] != quote && text[end] != '\n') end++;
            if (end >= n || text[end] != quote) return false;
            p = end + 1;
            return true;
        }

        var lim = Math.Min(n, p + MaxValueLength);
        while (end < lim && !char.IsWhiteSpace(text[end])) end++;
        p = end;
        return end > start;
    }

    /// <summary>A PEM or PGP private key block starting at <paramref name="i"/> ("-----BEGIN ").</summary>
    private int TryPrivateKey(int i)
    {
        var text = _text;
        var n = text.Length;
        var labelStart = i + 11;
        var labelEnd = labelStart;
        while (labelEnd < n && labelEnd - labelStart < 64 && (char.IsAsciiLetterUpper(text[labelEnd]) || text[labelEnd] is ' ' or '0' or '2' or '5' or '8'))
            labelEnd++;
        if (!text[labelEnd..].StartsWith("-----", StringComparison.Ordinal)) return 0;
        if (!text[labelStart..labelEnd].Contains("PRIVATE KEY", StringComparison.Ordinal)) return 0;
        var bodyStart = labelEnd + 5;

        // The body up to the END line may hold only base64, whitespace (or escaped "\n") and RFC 1421 header lines.
        var endMarker = NextPemEnd(bodyStart);
        if (endMarker >= 0 && endMarker - bodyStart <= MaxPemBody && IsPemBody(text[bodyStart..endMarker]))
        {
            if (CountBase64(text[bodyStart..endMarker]) < 40) return 0;
            var close = endMarker + 9;
            var closeEnd = text[close..].IndexOf("-----", StringComparison.Ordinal);
            return closeEnd is >= 0 and <= 64 ? close + closeEnd + 5 : close;
        }

        // No END line (a truncated key): the base64 run that follows the BEGIN line.
        var e = bodyStart;
        var limit = Math.Min(n, bodyStart + MaxPemBody);
        while (e < limit && (char.IsAsciiLetterOrDigit(text[e]) || text[e] is '+' or '/' or '=' or '\\' || char.IsWhiteSpace(text[e]))) e++;
        while (e > bodyStart && (char.IsWhiteSpace(text[e - 1]) || text[e - 1] == '\\')) e--;
        return CountBase64(text[bodyStart..e]) >= 40 ? e : 0;
    }

    /// <summary>The next "-----END " at or after <paramref name="from"/>; cached so repeated BEGIN lines stay linear.</summary>
    private int NextPemEnd(int from)
    {
        if (_pemEndSearchedFrom >= 0 && from >= _pemEndSearchedFrom && (_pemNextEnd < 0 || _pemNextEnd >= from)) return _pemNextEnd;
        var rel = _text[from..].IndexOf("-----END ", StringComparison.Ordinal);
        _pemEndSearchedFrom = from;
        _pemNextEnd = rel < 0 ? -1 : from + rel;
        return _pemNextEnd;
    }

    private static bool IsPemBody(ReadOnlySpan<char> body)
    {
        foreach (var c in body)
        {
            if (!char.IsAsciiLetterOrDigit(c) && !char.IsWhiteSpace(c) && c is not ('+' or '/' or '=' or '\\' or ':' or ',' or '-'))
                return false;
        }

        return !body.Contains("-----", StringComparison.Ordinal);
    }

    private static int CountBase64(ReadOnlySpan<char> body)
    {
        var count = 0;
        foreach (var c in body)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '+' or '/') count++;
        }

        return count;
    }

    private int ScanUnderscore(int i)
    {
        var text = _text;
        var n = text.Length;

        // GitHub: ghp_, gho_, ghu_, ghs_, ghr_ + at least 30 alphanumerics.
        if (i >= 3 && text[i - 3] == 'g' && text[i - 2] == 'h' && text[i - 1] is 'p' or 'o' or 'u' or 's' or 'r'
            && (i < 4 || !IsTokenChar(text[i - 4])) && On(EntityKind.GitHubToken))
        {
            var e = AlphanumericRun(i + 1, allowUnderscore: false);
            if (e - (i + 1) >= 30 && (e >= n || !IsTokenChar(text[e])) && SecretHeuristics.LooksRandom(text[(i + 1)..e]))
            {
                Emit(EntityKind.GitHubToken, i - 3, e);
                return e;
            }
        }

        // GitHub fine-grained: github_pat_ + at least 50 of [A-Za-z0-9_].
        if (i >= 6 && text[(i - 6)..i].SequenceEqual("github") && text[(i + 1)..].StartsWith("pat_", StringComparison.Ordinal)
            && (i < 7 || !IsTokenChar(text[i - 7])) && On(EntityKind.GitHubToken))
        {
            var bodyStart = i + 5;
            var e = AlphanumericRun(bodyStart, allowUnderscore: true);
            if (e - bodyStart >= 50 && (e >= n || !IsTokenChar(text[e])) && SecretHeuristics.LooksRandom(text[bodyStart..e]))
            {
                Emit(EntityKind.GitHubToken, i - 6, e);
                return e;
            }
        }

        // Hugging Face: hf_ + exactly 34 letters, mixed case.
        if (i >= 2 && text[i - 2] == 'h' && text[i - 1] == 'f' && (i < 3 || !IsTokenChar(text[i - 3])) && On(EntityKind.HuggingFaceToken))
        {
            var e = i + 1;
            while (e < n && e - i <= 40 && char.IsAsciiLetter(text[e])) e++;
            if (e - (i + 1) == 34 && (e >= n || !IsTokenChar(text[e])) && SecretHeuristics.LooksRandom(text[(i + 1)..e]))
            {
                Emit(EntityKind.HuggingFaceToken, i - 2, e);
                return e;
            }
        }

        // Stripe: sk_live_, sk_test_, rk_live_, rk_test_ + at least 20 alphanumerics.
        if (i >= 2 && text[i - 2] is 's' or 'r' && text[i - 1] == 'k' && (i < 3 || !IsTokenChar(text[i - 3])) && On(EntityKind.StripeKey)
            && (text[(i + 1)..].StartsWith("live_", StringComparison.Ordinal) || text[(i + 1)..].StartsWith("test_", StringComparison.Ordinal)))
        {
            var bodyStart = i + 6;
            var e = AlphanumericRun(bodyStart, allowUnderscore: false);
            if (e - bodyStart >= 20 && (e >= n || !IsTokenChar(text[e])) && SecretHeuristics.LooksRandom(text[bodyStart..e]))
            {
                Emit(EntityKind.StripeKey, i - 2, e);
                return e;
            }
        }

        return i + 1;
    }

    private readonly int AlphanumericRun(int start, bool allowUnderscore)
    {
        var text = _text;
        var e = start;
        var limit = Math.Min(text.Length, start + MaxTokenLength);
        while (e < limit && (char.IsAsciiLetterOrDigit(text[e]) || (allowUnderscore && text[e] == '_'))) e++;
        return e;
    }

    /// <summary>A JWT: "eyJ" header, '.', "ey" payload, optionally '.' and a signature.</summary>
    private int ScanJwt(int i)
    {
        var text = _text;
        var n = text.Length;
        if (i < 2 || text[i - 2] != 'e' || text[i - 1] != 'y' || i - 2 < _jwtNoMatchUntil) return i + 1;
        var s = i - 2;
        if (s > 0 && IsBase64Url(text[s - 1])) return i + 1;

        var limit = Math.Min(n, s + MaxJwtLength);
        var p = s;
        while (p < limit && IsBase64Url(text[p])) p++;
        if (p - s < 10 || p + 2 >= n || text[p] != '.' || text[p + 1] != 'e' || text[p + 2] != 'y')
        {
            _jwtNoMatchUntil = p;
            return i + 1;
        }

        var q = p + 1;
        while (q < limit && IsBase64Url(text[q])) q++;
        if (q - (p + 1) < 10)
        {
            _jwtNoMatchUntil = q;
            return i + 1;
        }

        var end = q;
        if (q < n && text[q] == '.')
        {
            var r = q + 1;
            while (r < limit && (IsBase64Url(text[r]) || text[r] is '+' or '/')) r++;
            while (r < n && r - q < MaxJwtLength && text[r] == '=') r++;
            end = r;
        }

        Emit(EntityKind.Jwt, s, end);
        return end;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static bool IsBase64Url(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';

    /// <summary>AWS access key IDs (AKIA, ASIA, ABIA, ACCA + 16) and Google API keys (AIza + 35).</summary>
    private int ScanUpperA(int i)
    {
        var text = _text;
        var n = text.Length;
        if ((i > 0 && IsTokenChar(text[i - 1])) || i + 20 > n) return i + 1;
        var head = text.Slice(i, 4);

        if (On(EntityKind.AwsAccessKeyId) && (head.SequenceEqual("AKIA") || head.SequenceEqual("ASIA") || head.SequenceEqual("ABIA") || head.SequenceEqual("ACCA")))
        {
            var e = i + 4;
            while (e < i + 20 && (char.IsAsciiLetterUpper(text[e]) || char.IsAsciiDigit(text[e]))) e++;
            // Key IDs are base32 (A-Z, 2-7): about one in 28 has no digit after the prefix, so two character classes are not required.
            if (e == i + 20 && (e >= n || !char.IsAsciiLetterOrDigit(text[e])) && SecretHeuristics.LooksRandom(text[(i + 4)..e], requireMixedClasses: false))
            {
                Emit(EntityKind.AwsAccessKeyId, i, e);
                return e;
            }
        }

        if (On(EntityKind.GoogleApiKey) && head.SequenceEqual("AIza") && i + 39 <= n)
        {
            var e = i + 4;
            while (e < i + 39 && IsTokenChar(text[e])) e++;
            if (e == i + 39 && (e >= n || !IsTokenChar(text[e])) && SecretHeuristics.LooksRandom(text[(i + 4)..e]))
            {
                Emit(EntityKind.GoogleApiKey, i, e);
                return e;
            }
        }

        return i + 1;
    }
}
