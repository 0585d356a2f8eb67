using System.Globalization;
using System.Text;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>
/// Precision and recall of the default <see cref="PiiRedactor"/> over the labelled cases in shared/data/pii (Presidio's
/// and gitleaks' test cases) and the supplementary cases in Redaction/Data. Prints a Markdown report and writes it into
/// docs/REDACTION-ACCURACY.md between the generated-section markers.
/// </summary>
[TestFixture]
public sealed class RedactionAccuracyTests
{
    private const string BeginMarker = "<!-- BEGIN GENERATED: RedactionAccuracyTests -->";
    private const string EndMarker = "<!-- END GENERATED: RedactionAccuracyTests -->";

    /// <summary>Presidio's entity names to ours.</summary>
    private static readonly Dictionary<string, string> SpanEntities = new()
    {
        ["CREDIT_CARD"] = PiiEntities.CreditCard,
        ["IBAN_CODE"] = PiiEntities.Iban,
        ["IP_ADDRESS"] = PiiEntities.IpAddress,
        ["PHONE_NUMBER"] = PiiEntities.Phone,
        ["EMAIL"] = PiiEntities.Email,
        ["US_SSN"] = PiiEntities.UsSsn,
    };

    /// <summary>The entities that correspond to each gitleaks rule (for the kind-aware score).</summary>
    private static readonly Dictionary<string, string[]> RuleEntities = new()
    {
        ["openai-api-key"] = [PiiEntities.OpenAiApiKey],
        ["anthropic-api-key"] = [PiiEntities.AnthropicApiKey],
        ["anthropic-admin-api-key"] = [PiiEntities.AnthropicAdminKey],
        ["aws-access-token"] = [PiiEntities.AwsAccessKeyId],
        ["gcp-api-key"] = [PiiEntities.GoogleApiKey],
        ["github-pat"] = [PiiEntities.GitHubToken],
        ["github-fine-grained-pat"] = [PiiEntities.GitHubToken],
        ["slack-bot-token"] = [PiiEntities.SlackToken],
        ["slack-user-token"] = [PiiEntities.SlackToken],
        ["jwt"] = [PiiEntities.Jwt],
        ["private-key"] = [PiiEntities.PrivateKey],
        ["huggingface-access-token"] = [PiiEntities.HuggingFaceToken],
        ["curl-auth-header"] = [PiiEntities.BearerToken, PiiEntities.BasicAuth, PiiEntities.SecretAssignment],
        ["curl-auth-user"] = [PiiEntities.BasicAuth],
    };

    /// <summary>
    /// gitleaks negatives whose label comes from a value allowlist in the gitleaks rule, not from the text: the
    /// gcp-api-key rule (cmd/generate/config/rules/gcp.go) allowlists these example keys from firebase-android-sdk. By
    /// format they are Google API keys, so the redactor redacts them; they are scored separately.
    /// </summary>
    private static readonly HashSet<string> ValueAllowlistedNegatives = new(StringComparer.Ordinal)
    {
        "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
        "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
        "AIzaSyCkEhVjf3pduRDt6d1yKOMitrUEke8agEM",
        "AIzaSyDMAScliyLx7F0NPDEJi1QmyCgHIAODrlU",
        "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
        "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
        "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
        "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
        "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
        "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
        "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
        "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
        "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
        "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
        "AIzaSyB8qGxt4ec15vitgn44duC5ucxaOi4FmqE",
        "AIzaSyA8vmApnrHNFE0bApF4hoZ11srVL_n0nvY",
    };

    private static readonly string[] AssertedEntities =
        [PiiEntities.CreditCard, PiiEntities.Email, PiiEntities.Iban, PiiEntities.IpAddress, PiiEntities.UsSsn];

    /// <summary>The row of gitleaks' curl-auth-header cases: a credential in an Authorization header, of any scheme.</summary>
    private const string AuthorizationHeaderRow = "Authorization header (gitleaks curl-auth-header)";

    /// <summary>
    /// The per-kind secret rows, in table order, each with the entities that count as detecting it: one row per secret
    /// entity the redactor names, plus gitleaks' curl-auth-header cases, whose label is "a credential in this header"
    /// whatever the scheme (Bearer, Basic or another).
    /// </summary>
    private static readonly (string Row, string[] Entities)[] SecretKinds =
    [
        .. PiiEntities.Secrets.Select(e => (e, new[] { e })),
        (AuthorizationHeaderRow, [PiiEntities.BearerToken, PiiEntities.BasicAuth, PiiEntities.SecretAssignment]),
    ];

    /// <summary>A kind is asserted only with at least this many positive cases; with fewer, one case moves recall by 10% or more.</summary>
    private const int MinPositivesToAssert = 10;

    [Test]
    public void Accuracy_meets_the_targets()
    {
        var redactor = new PiiRedactor();
        var data = RedactionTestData.PiiDataDirectory;
        var spanCases = RedactionTestData.ReadSpanCases(Path.Combine(data.FullName, "presidio-test-cases.jsonl"))
            .Select(c => (Case: c, File: "presidio-test-cases"))
            .Concat(RedactionTestData.ReadSpanCases(RedactionTestData.SupplementaryCasesPath).Select(c => (Case: c, File: "supplementary")))
            .ToList();
        var secretCases = RedactionTestData.ReadSecretCases(Path.Combine(data.FullName, "gitleaks-secret-cases.jsonl"));
        var supplementarySecrets = SupplementarySecretCases.All;

        var report = new StringBuilder();
        var spanStats = ScoreSpanCases(redactor, spanCases, report, out var spanMisses);
        var secretStats = ScoreSecretCases(redactor, secretCases, out var ruleRows, out var secretMisses);
        var kindStats = ScoreSecretKinds(redactor, secretCases, supplementarySecrets, out var kindMisses);

        var markdown = BuildMarkdown(spanStats, secretStats, ruleRows, kindStats, spanMisses, secretMisses.Concat(kindMisses).ToList());
        TestContext.Out.WriteLine(markdown);
        WriteDoc(markdown);

        Assert.Multiple(() =>
        {
            foreach (var entity in AssertedEntities)
            {
                var s = spanStats[(entity, "main")];
                Assert.That(s.Recall, Is.GreaterThanOrEqualTo(0.99), $"{entity} recall");
                Assert.That(s.Precision, Is.GreaterThanOrEqualTo(0.97), $"{entity} precision");
            }

            var secrets = secretStats["kind-aware"];
            Assert.That(secrets.Recall, Is.GreaterThanOrEqualTo(0.99), "secrets recall");
            Assert.That(secrets.Precision, Is.GreaterThanOrEqualTo(0.97), "secrets precision");

            foreach (var (row, _) in SecretKinds)
            {
                var k = kindStats[row];
                if (k.Positives < MinPositivesToAssert) continue;
                Assert.That(k.Recall, Is.GreaterThanOrEqualTo(0.99), $"{row} recall");
                Assert.That(k.Precision, Is.GreaterThanOrEqualTo(0.97), $"{row} precision");
            }
        });
    }

    private static Dictionary<(string Entity, string Group), Stats> ScoreSpanCases(
        PiiRedactor redactor, List<(SpanCase Case, string File)> cases, StringBuilder log, out List<string> misses)
    {
        var stats = new Dictionary<(string, string), Stats>();
        misses = [];
        foreach (var (c, _) in cases)
        {
            // Presidio's phone cases include runs at non-default libphonenumber leniency; score the default (1) only.
            if (c.Note is { } note && note.Contains("leniency=", StringComparison.Ordinal) && !note.Contains("leniency=1", StringComparison.Ordinal))
                continue;

            var entity = SpanEntities[c.Entity];
            var group = c.Kind == "weak" ? "weak" : "main";
            if (!stats.TryGetValue((entity, group), out var s)) stats[(entity, group)] = s = new Stats();
            s.Cases++;

            var predicted = redactor.Find(c.Text).Where(m => m.Entity == entity).ToList();
            foreach (var (start, end) in c.ExpectedSpans)
            {
                s.Expected++;
                if (predicted.Any(p => p.Start < end && start < p.End)) s.Found++;
                else misses.Add($"missed {entity}: `{Escape(c.Text[start..end])}` in `{Escape(c.Text)}`{(group == "weak" ? " (weak case)" : "")}");
            }

            foreach (var p in predicted)
            {
                s.Predicted++;
                if (c.ExpectedSpans.Any(e => p.Start < e.End && e.Start < p.End)) s.TruePredictions++;
                else misses.Add($"false {entity}: `{Escape(c.Text.Substring(p.Start, p.Length))}` in `{Escape(c.Text)}`");
            }
        }

        _ = log;
        return stats;
    }

    private static Dictionary<string, Stats> ScoreSecretCases(
        PiiRedactor redactor, IReadOnlyList<SecretCase> cases, out List<string> ruleRows, out List<string> misses)
    {
        var kindAware = new Stats();
        var anySecret = new Stats();
        var allowlisted = new Stats();
        var perRule = new SortedDictionary<string, (int Pos, int Neg, int Tp, int Fn, int FpKind, int FpAny)>(StringComparer.Ordinal);
        misses = [];
        foreach (var c in cases)
        {
            var found = redactor.Find(c.Text).Where(m => PiiEntities.IsSecret(m.Entity)).ToList();
            var ofKind = found.Any(m => RuleEntities[c.Rule].Contains(m.Entity));
            var any = found.Count > 0;
            var row = perRule.GetValueOrDefault(c.Rule);
            var label = found.Count == 0 ? "nothing" : string.Join(", ", found.Select(m => m.Entity).Distinct());
            if (c.ExpectSecret)
            {
                row.Pos++;
                kindAware.Add(expected: true, detected: any);
                anySecret.Add(expected: true, detected: any);
                if (any) row.Tp++;
                else
                {
                    row.Fn++;
                    misses.Add($"missed {c.Rule}: found {label} in `{Escape(Shorten(c.Text))}`");
                }
            }
            else
            {
                row.Neg++;
                if (ValueAllowlistedNegatives.Contains(c.Text.Trim()))
                {
                    allowlisted.Add(expected: false, detected: ofKind);
                    anySecret.Add(expected: false, detected: any);
                    if (any) misses.Add($"value-allowlisted {c.Rule} negative redacted as {label}: `{Escape(Shorten(c.Text))}`");
                    perRule[c.Rule] = row;
                    continue;
                }

                kindAware.Add(expected: false, detected: ofKind);
                anySecret.Add(expected: false, detected: any);
                if (ofKind)
                {
                    row.FpKind++;
                    misses.Add($"false {c.Rule}: found {label} in `{Escape(Shorten(c.Text))}`");
                }
                else if (any)
                {
                    misses.Add($"{c.Rule} negative holds another secret kind, found {label}: `{Escape(Shorten(c.Text))}`");
                }

                if (any) row.FpAny++;
            }

            perRule[c.Rule] = row;
        }

        ruleRows = perRule.Select(kv =>
            $"| {kv.Key} | {kv.Value.Pos} | {kv.Value.Neg} | {kv.Value.Tp} | {kv.Value.Fn} | {kv.Value.FpKind} | {kv.Value.FpAny} |").ToList();
        return new Dictionary<string, Stats> { ["kind-aware"] = kindAware, ["any"] = anySecret, ["allowlisted"] = allowlisted };
    }

    /// <summary>
    /// Precision and recall per secret kind over gitleaks' cases and <see cref="SupplementarySecretCases"/>. A positive
    /// counts as found only when an entity of its own kind is found (stricter than the aggregate score, where any secret
    /// entity will do). A false positive of a kind is: a gitleaks negative of that kind's rules where the kind is found
    /// (value-allowlisted negatives aside, as in the aggregate), or a supplementary negative, which must hold no secret
    /// at all, where the kind is found.
    /// </summary>
    private static Dictionary<string, KindStats> ScoreSecretKinds(
        PiiRedactor redactor, IReadOnlyList<SecretCase> gitleaks, IReadOnlyList<SecretCase> supplementary, out List<string> misses)
    {
        var stats = SecretKinds.ToDictionary(k => k.Row, _ => new KindStats());
        var accepted = SecretKinds.ToDictionary(k => k.Row, k => k.Entities);
        misses = [];
        foreach (var (c, fromGitleaks) in gitleaks.Select(c => (c, true)).Concat(supplementary.Select(c => (c, false))))
        {
            var row = !fromGitleaks ? c.Rule : c.Rule == "curl-auth-header" ? AuthorizationHeaderRow : RuleEntities[c.Rule][0];
            var s = stats[row];
            var found = redactor.Find(c.Text).Where(m => PiiEntities.IsSecret(m.Entity)).Select(m => m.Entity).Distinct().ToList();
            var label = found.Count == 0 ? "nothing" : string.Join(", ", found);
            var origin = fromGitleaks ? c.Rule : "supplementary " + c.Rule;
            if (c.ExpectSecret)
            {
                s.Positives++;
                // A curl-auth-header positive is labelled "the header holds a credential", whatever its format: a
                // Bearer sk-… found as OPENAI_API_KEY, or a JWT sent without a scheme, is that credential.
                if (found.Any(accepted[row].Contains) || (row == AuthorizationHeaderRow && found.Count > 0)) s.TruePositives++;
                else
                {
                    if (found.Count > 0) s.FoundAsOtherKind++;
                    misses.Add($"missed {row} (kind-aware, {origin}): found {label} in `{Escape(Shorten(c.Text))}`");
                }
            }
            else if (fromGitleaks)
            {
                s.Negatives++;
                if (ValueAllowlistedNegatives.Contains(c.Text.Trim())) continue; // scored apart, see ScoreSecretCases
                if (found.Any(accepted[row].Contains)) s.FalsePositives++; // already listed by ScoreSecretCases
            }
            else
            {
                s.Negatives++;
                foreach (var entity in found)
                {
                    stats[entity].FalsePositives++;
                    misses.Add($"false {entity} ({origin} negative): `{Escape(Shorten(c.Text))}`");
                }
            }
        }

        return stats;
    }

    private static string BuildMarkdown(
        Dictionary<(string Entity, string Group), Stats> spans, Dictionary<string, Stats> secrets, List<string> ruleRows,
        Dictionary<string, KindStats> kinds, List<string> spanMisses, List<string> secretMisses)
    {
        var sb = new StringBuilder();
        sb.AppendLine("### Personal data (Presidio cases + supplementary cases)");
        sb.AppendLine();
        sb.AppendLine("| Entity | Cases | Expected spans | Found | Recall | Predicted | False positives | Precision | Target |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var entity in AssertedEntities.Append(PiiEntities.Phone))
        {
            foreach (var group in new[] { "main", "weak" })
            {
                if (!spans.TryGetValue((entity, group), out var s)) continue;
                var name = group == "weak" ? $"{entity} (Presidio low-score cases)" : entity;
                var target = group == "main" && entity != PiiEntities.Phone ? "recall ≥ 0.99, precision ≥ 0.97 (asserted)" : "reported only";
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {name} | {s.Cases} | {s.Expected} | {s.Found} | {F(s.Recall)} | {s.Predicted} | {s.Predicted - s.TruePredictions} | {F(s.Precision)} | {target} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("### Secrets (gitleaks cases: secret detected or not)");
        sb.AppendLine();
        sb.AppendLine("| Score | Positives | Detected | Recall | Negatives | False positives | Precision | Target |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---|");
        var k = secrets["kind-aware"];
        var a = secrets["any"];
        var v = secrets["allowlisted"];
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"| Kind-aware, value-allowlisted negatives set aside | {k.Expected} | {k.Found} | {F(k.Recall)} | {k.Negatives} | {k.FalsePositives} | {F(k.Precision)} | recall ≥ 0.99, precision ≥ 0.97 (asserted) |");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"| Any secret entity, every case | {a.Expected} | {a.Found} | {F(a.Recall)} | {a.Negatives} | {a.FalsePositives} | {F(a.Precision)} | reported only |");
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"| Value-allowlisted negatives alone (gcp-api-key) | – | – | – | {v.Negatives} | {v.FalsePositives} | – | reported only |");
        sb.AppendLine();
        sb.AppendLine("| gitleaks rule | Positives | Negatives | Detected | Missed | False positives (rule's kind) | Negatives with any secret |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var row in ruleRows) sb.AppendLine(row);

        sb.AppendLine();
        sb.AppendLine("### Secrets per kind (gitleaks cases + generated supplementary cases, kind-aware)");
        sb.AppendLine();
        sb.AppendLine("| Kind | Positives | Found as this kind | Recall | Found only as another kind | Negatives | False positives | Precision | Target |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var (row, _) in SecretKinds)
        {
            var s = kinds[row];
            var target = s.Positives >= MinPositivesToAssert
                ? "recall ≥ 0.99, precision ≥ 0.97 (asserted)"
                : $"too few cases ({s.Positives} positives; asserted from {MinPositivesToAssert})";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {row} | {s.Positives} | {s.TruePositives} | {F(s.Recall)} | {s.FoundAsOtherKind} | {s.Negatives} | {s.FalsePositives} | {F(s.Precision)} | {target} |");
        }

        sb.AppendLine();
        sb.AppendLine("### Every disagreement with the labels");
        sb.AppendLine();
        if (spanMisses.Count + secretMisses.Count == 0) sb.AppendLine("None.");
        foreach (var miss in spanMisses.Concat(secretMisses)) sb.AppendLine("- " + miss);
        return sb.ToString();
    }

    private static void WriteDoc(string markdown)
    {
        var path = Path.Combine(RedactionTestData.RepoRoot.FullName, "docs", "REDACTION-ACCURACY.md");
        var generated = BeginMarker + "\n\n" + markdown.ReplaceLineEndings("\n") + "\n" + EndMarker;
        string content;
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path);
            var begin = existing.IndexOf(BeginMarker, StringComparison.Ordinal);
            var end = existing.IndexOf(EndMarker, StringComparison.Ordinal);
            content = begin >= 0 && end > begin
                ? existing[..begin] + generated + existing[(end + EndMarker.Length)..]
                : existing.TrimEnd() + "\n\n" + generated + "\n";
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            content = "# Redaction accuracy\n\n" + generated + "\n";
        }

        try
        {
            File.WriteAllText(path, content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only checkout still gets the report on the test output; the assertions decide the outcome.
            TestContext.Out.WriteLine($"Could not update {path}: {e.Message}");
        }
    }

    private static string F(double value) => double.IsNaN(value) ? "–" : value.ToString("0.000", CultureInfo.InvariantCulture);

    private static string Escape(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal).Replace("`", "'", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";

    /// <summary>Case-level counts of one secret kind.</summary>
    private sealed class KindStats
    {
        public int Positives;
        public int TruePositives;
        public int FoundAsOtherKind;
        public int Negatives;
        public int FalsePositives;

        public double Recall => Positives == 0 ? double.NaN : (double)TruePositives / Positives;

        public double Precision => TruePositives + FalsePositives == 0 ? double.NaN : (double)TruePositives / (TruePositives + FalsePositives);
    }

    private sealed class Stats
    {
        public int Cases;
        public int Expected;
        public int Found;
        public int Predicted;
        public int TruePredictions;
        public int Negatives;
        public int FalsePositives;

        public double Recall => Expected == 0 ? double.NaN : (double)Found / Expected;

        public double Precision => Predicted == 0 ? (Expected == 0 ? double.NaN : 1.0) : (double)TruePredictions / Predicted;

        /// <summary>For case-level (secret) scoring: one case, expected or not, detected or not.</summary>
        public void Add(bool expected, bool detected)
        {
            Cases++;
            if (expected)
            {
                Expected++;
                if (detected)
                {
                    Found++;
                    Predicted++;
                    TruePredictions++;
                }
            }
            else
            {
                Negatives++;
                if (detected)
                {
                    FalsePositives++;
                    Predicted++;
                }
            }
        }
    }
}
