using System.Collections.Concurrent;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

[TestFixture]
public sealed class PiiRedactorTests
{
    private static readonly PiiRedactor Default = new();

    // (text, entity, the exact value expected to be found)
    private static readonly object[] Detections =
    [
        new object[] { "write to jane.doe+news@example.co.uk today", PiiEntities.Email, "jane.doe+news@example.co.uk" },
        new object[] { "call +1 (415) 555-0132 now", PiiEntities.Phone, "+1 (415) 555-0132" },
        new object[] { "office: 030 1234567", PiiEntities.Phone, "030 1234567" },
        new object[] { "mobile 090-1234-5678", PiiEntities.Phone, "090-1234-5678" },
        new object[] { "phone number 13812345678", PiiEntities.Phone, "13812345678" },
        new object[] { "card 4111 1111 1111 1111 exp 12/26", PiiEntities.CreditCard, "4111 1111 1111 1111" },
        new object[] { "amex 3782-822463-10005.", PiiEntities.CreditCard, "3782-822463-10005" },
        new object[] { "twelve digits 501800000009 is maestro", PiiEntities.CreditCard, "501800000009" },
        new object[] { "IBAN: DE89 3704 0044 0532 0130 00.", PiiEntities.Iban, "DE89 3704 0044 0532 0130 00" },
        new object[] { "pay to GB29NWBK60161331926819", PiiEntities.Iban, "GB29NWBK60161331926819" },
        new object[] { "SSN 536-22-8726", PiiEntities.UsSsn, "536-22-8726" },
        new object[] { "ssn: 536228726", PiiEntities.UsSsn, "536228726" },
        new object[] { "host 192.168.10.20:8080", PiiEntities.IpAddress, "192.168.10.20" },
        new object[] { "net 10.0.0.0/8", PiiEntities.IpAddress, "10.0.0.0/8" },
        new object[] { "v6 [2001:db8::8a2e:370:7334]:443", PiiEntities.IpAddress, "2001:db8::8a2e:370:7334" },
        new object[] { "mapped ::ffff:192.0.2.128 here", PiiEntities.IpAddress, "::ffff:192.0.2.128" },
        new object[] { "link fe80::1%eth0/64", PiiEntities.IpAddress, "fe80::1%eth0/64" },
        new object[] { "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", PiiEntities.OpenAiApiKey, "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" },
        new object[] { "ANTHROPIC_API_KEY=sk-ant-api03-" + new string('x', 0) + Random93() + "AA", PiiEntities.AnthropicApiKey, "sk-ant-api03-" + Random93() + "AA" },
        new object[] { "id AKIA2E0A8F3B244C9986 ok", PiiEntities.AwsAccessKeyId, "AKIA2E0A8F3B244C9986" },
        new object[] { "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz4k2Lq9Xw", PiiEntities.AwsSecretAccessKey, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz4k2Lq9Xw" },
        new object[] { "token ghp_16C7e42F292c6912E7710c838347Ae178B4a", PiiEntities.GitHubToken, "ghp_16C7e42F292c6912E7710c838347Ae178B4a" },
        new object[] { "key=AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe", PiiEntities.GoogleApiKey, "AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe" },
        new object[] { "bot xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1MBS", PiiEntities.SlackToken, "xoxb-263594206564-2343594206574-FGqddMF8t08v8N7Oq4i57vs1MBS" },
        new object[] { "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", PiiEntities.StripeKey, "sk_live_4eC39HqLyjWDarjtT1zdp7dc" },
        new object[] { "hf 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", PiiEntities.HuggingFaceToken, "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" },
        new object[] { "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end", PiiEntities.Jwt, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U" },
        new object[] { "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----\nrest", PiiEntities.PrivateKey, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqGSM49\n-----END EC PRIVATE KEY-----" },
        new object[] { "Authorization: Bearer 9f8e7d6c5b4a3f2e1d0c", PiiEntities.BearerToken, "9f8e7d6c5b4a3f2e1d0c" },
        new object[] { "authorization: basic dXNlcjpwYXNzd29yZA==", PiiEntities.BasicAuth, "dXNlcjpwYXNzd29yZA==" },
        new object[] { "curl -u admin:S3cr3t!pass https://x", PiiEntities.BasicAuth, "admin:S3cr3t!pass" },
        new object[] { "db_password=Hunter2024!", PiiEntities.Password, "Hunter2024!" },
        new object[] { "postgres://app:Zq9vLm2Tx@db.internal:5432/app", PiiEntities.Password, "Zq9vLm2Tx" },
        new object[] { "{\"api_key\": \"a8f5f167f44f4964e6c998dee827110c\"}", PiiEntities.SecretAssignment, "a8f5f167f44f4964e6c998dee827110c" },
        new object[] { "X-Api-Token: 3fea6af1349166ea", PiiEntities.SecretAssignment, "3fea6af1349166ea" },
        // AWS key IDs are base32: a body of letters only (no digit, one character class) is still a key ID.
        new object[] { "temporary creds ASIATESTTESTTESTTEST expire soon", PiiEntities.AwsAccessKeyId, "ASIATESTTESTTESTTEST" },
        new object[] { "MAILGUN_SIGNING_KEY: Zq9vLm2Tx4Kp7Rw1Yb3", PiiEntities.SecretAssignment, "Zq9vLm2Tx4Kp7Rw1Yb3" },
        // A full credential followed by "..." as punctuation is not an elided placeholder.
        new object[] { "api_key=a8f5f167f44f4964e6c998dee827110c... then it failed", PiiEntities.SecretAssignment, "a8f5f167f44f4964e6c998dee827110c" },
    ];

    private static readonly string[] CleanTexts =
    [
        "Version 1.2.3 shipped on 2024-01-15 at 10:30:45Z; see task-123 and PR #4567.",
        "The meeting is at 14:00, room 12B. Bring 3 copies.",
        "Prices: $1,234.56 and €99 per month; 25% off until 31/12.",
        "Use std::vector<int> or MyClass::toString, never a == b or x != y.",
        "Follow @openai and use @Override; npm i @types/node.",
        "sk-learn-compatible estimators and ghp_ prefixes are discussed here.",
        "password: ******** and api_key=${API_KEY} and token: <your token>",
        "Authorization: Bearer $TOKEN",
        "curl -u username:password https://example.com",
        "UUID 550e8400-e29b-41d4-a716-446655440000 and hash a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
        "Unix time 1700000000 and order 12345678.",
        "max_tokens: 1024, temperature=0.7, top_p: 0.95, token_type: Bearer",
        "Ratio 1:2:3:4, port 80:443, 12:34:56, MAC 00:1A:2B:3C:4D:5E",
        "ISBN 978-3-16-148410-0, ZIP 94105-1234",
        "OPENAI_API_KEY=sk-your-key-goes-here and SLACK_BOT_TOKEN=xoxb-your-token",
        "STRIPE_SECRET_KEY=sk_live_... and apiKey: \"AIzaSy...\" and ANTHROPIC_API_KEY=sk-ant-api03-\u2026",
    ];

    private static string Random93()
    {
        var rng = new Random(93);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        return string.Concat(Enumerable.Range(0, 93).Select(_ => alphabet[rng.Next(alphabet.Length)]));
    }

    [TestCaseSource(nameof(Detections))]
    public void Finds_each_entity(string text, string entity, string value)
    {
        var matches = Default.Find(text);
        Assert.That(matches.Select(m => (m.Entity, Value: text.Substring(m.Start, m.Length))), Does.Contain((entity, value)),
            string.Join("; ", matches.Select(m => $"{m.Entity}:{text.Substring(m.Start, m.Length)}")));
    }

    [TestCaseSource(nameof(CleanTexts))]
    public void Leaves_clean_text_alone_and_returns_the_same_instance(string text)
    {
        Assert.That(Default.Find(text), Is.Empty);
        Assert.That(Default.Redact(text), Is.SameAs(text));
    }

    [Test]
    public void Default_action_is_a_typed_placeholder_and_counts_are_added()
    {
        var counts = new Dictionary<string, int> { [PiiEntities.Email] = 1 };
        var result = Default.Redact("a@example.com, b@example.org and 10.1.2.3", counts);
        Assert.That(result, Is.EqualTo("[EMAIL], [EMAIL] and [IP_ADDRESS]"));
        Assert.That(counts, Is.EquivalentTo(new Dictionary<string, int> { [PiiEntities.Email] = 3, [PiiEntities.IpAddress] = 1 }));
    }

    [Test]
    public void Pseudonyms_are_keyed_stable_and_distinct()
    {
        var options = new PiiRedactorOptions { DefaultAction = PiiRedactionAction.Pseudonym, PseudonymKey = "k1"u8.ToArray() };
        var redactor = new PiiRedactor(options);
        var first = redactor.Redact("mail jane@example.com");
        var again = new PiiRedactor(options).Redact("again jane@example.com");
        var other = redactor.Redact("mail john@example.com");
        var otherKey = new PiiRedactor(new PiiRedactorOptions { DefaultAction = PiiRedactionAction.Pseudonym, PseudonymKey = "k2"u8.ToArray() })
            .Redact("mail jane@example.com");

        Assert.That(first, Does.Match(@"^mail \[EMAIL:[0-9a-f]{8}\]$"));
        Assert.That(again[6..], Is.EqualTo(first[5..]));
        Assert.That(other, Is.Not.EqualTo(first));
        Assert.That(otherKey, Is.Not.EqualTo(first));

        var expectedHex = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData("k1"u8, "jane@example.com"u8))[..8];
        Assert.That(first, Is.EqualTo($"mail [EMAIL:{expectedHex}]"));
    }

    [Test]
    public void Partial_keeps_the_last_four_characters_and_remove_removes()
    {
        var options = new PiiRedactorOptions()
            .SetAction(PiiEntities.CreditCard, PiiRedactionAction.Partial)
            .SetAction(PiiEntities.Email, PiiRedactionAction.Remove)
            .SetAction(PiiEntities.IpAddress, PiiRedactionAction.Partial);
        var redactor = new PiiRedactor(options);
        Assert.That(redactor.Redact("card 4242 4242 4242 4242, mail a@b.io, ip 1.2.3.4"),
            Is.EqualTo("card [CREDIT_CARD:\u20264242], mail , ip [IP_ADDRESS]"));
    }

    [Test]
    public void Pseudonym_without_a_key_is_rejected()
    {
        var options = new PiiRedactorOptions().SetAction(PiiEntities.Email, PiiRedactionAction.Pseudonym);
        Assert.Throws<ArgumentException>(() => _ = new PiiRedactor(options));
    }

    [Test]
    public void Unknown_entity_names_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => _ = new PiiRedactor(new PiiRedactorOptions().Disable("EMAILS")));
        Assert.Throws<ArgumentException>(() => _ = new PiiRedactor(new PiiRedactorOptions().SetAction("CARD", PiiRedactionAction.Remove)));
        Assert.Throws<ArgumentException>(() => new PiiRedactorOptions().EnableOnly("EMAILS"));
    }

    [Test]
    public void Disabled_entities_are_not_detected()
    {
        var redactor = new PiiRedactor(new PiiRedactorOptions().Disable(PiiEntities.Email, PiiEntities.IpAddress));
        const string text = "a@example.com from 10.0.0.1 with card 4111111111111111";
        Assert.That(redactor.Redact(text), Is.EqualTo("a@example.com from 10.0.0.1 with card [CREDIT_CARD]"));

        var onlyEmail = new PiiRedactor(new PiiRedactorOptions().EnableOnly(PiiEntities.Email));
        Assert.That(onlyEmail.Redact(text), Is.EqualTo("[EMAIL] from 10.0.0.1 with card 4111111111111111"));
    }

    [Test]
    public void Custom_entities_are_found_and_validated()
    {
        var options = new PiiRedactorOptions()
            .AddCustomEntity("EMPLOYEE_ID", @"EMP-\d{6}", validator: null)
            .AddCustomEntity("TICKET", @"TCK-\d+", validator: v => v.EndsWith('7'));
        var redactor = new PiiRedactor(options);
        var counts = new Dictionary<string, int>();
        Assert.That(redactor.Redact("EMP-123456 filed TCK-17 and TCK-18", counts), Is.EqualTo("[EMPLOYEE_ID] filed [TICKET] and TCK-18"));
        Assert.That(counts, Is.EquivalentTo(new Dictionary<string, int> { ["EMPLOYEE_ID"] = 1, ["TICKET"] = 1 }));
    }

    [Test]
    public void Custom_entities_must_not_backtrack_or_shadow_built_ins()
    {
        Assert.Throws<ArgumentException>(() => new PiiRedactorOptions().AddCustomEntity(PiiEntities.Email, "x"));
        Assert.Throws<ArgumentException>(() => new PiiRedactorOptions().AddCustomEntity("X", "a").AddCustomEntity("X", "b"));
        Assert.Throws<NotSupportedException>(() => _ = new PiiRedactor(new PiiRedactorOptions().AddCustomEntity("LOOK", @"a(?=b)")));
        Assert.Throws<NotSupportedException>(() => _ = new PiiRedactor(new PiiRedactorOptions().AddCustomEntity("BACKREF", @"(a)\1")));
    }

    [Test]
    public void A_disabled_custom_entity_is_skipped()
    {
        var redactor = new PiiRedactor(new PiiRedactorOptions().AddCustomEntity("EMPLOYEE_ID", @"EMP-\d{6}").Disable("EMPLOYEE_ID"));
        Assert.That(redactor.Redact("EMP-123456"), Is.EqualTo("EMP-123456"));
    }

    [Test]
    public void Specific_tokens_win_over_the_context_that_holds_them()
    {
        const string jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        Assert.That(Default.Redact("Authorization: Bearer " + jwt), Is.EqualTo("Authorization: Bearer [JWT]"));
        Assert.That(Default.Redact("\"api_key\": \"sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z\""), Is.EqualTo("\"api_key\": \"[OPENAI_API_KEY]\""));
    }

    [Test]
    public void A_credential_swallows_the_email_it_contains()
    {
        Assert.That(Default.Redact("curl --user roger23@gmail.com:pQ9wTxu4Fg https://x"), Is.EqualTo("curl --user [BASIC_AUTH] https://x"));
    }

    [Test]
    public void Matches_are_sorted_and_never_overlap()
    {
        const string text = "user@2001:db8::1 a@b.co 4111111111111111 +44 20 7946 0958 ::ffff:10.0.0.1 password=Sup3rS3cret";
        var matches = Default.Find(text);
        Assert.That(matches, Is.Not.Empty);
        for (var i = 1; i < matches.Count; i++) Assert.That(matches[i].Start, Is.GreaterThanOrEqualTo(matches[i - 1].End));
    }

    [Test]
    public void Concurrent_use_gives_the_same_results()
    {
        var texts = Enumerable.Range(0, 200).Select(i => $"user{i}@example.com called +1 415 555 {i:0000} from 10.0.{i % 250}.1").ToArray();
        var expected = texts.Select(Default.Redact).ToArray();
        var results = new ConcurrentDictionary<int, string>();
        Parallel.For(0, texts.Length * 10, i => results[i] = Default.Redact(texts[i % texts.Length]));
        foreach (var (i, result) in results) Assert.That(result, Is.EqualTo(expected[i % texts.Length]));
    }

    [Test]
    public void Entity_names_are_unique_and_documented_constants()
    {
        Assert.That(PiiEntities.All, Is.Unique);
        Assert.That(PiiEntities.All, Does.Contain(PiiEntities.SecretAssignment).And.Contain(PiiEntities.Email));
        Assert.That(PiiEntities.Secrets.All(PiiEntities.IsSecret), Is.True);
        Assert.That(PiiEntities.IsSecret(PiiEntities.Email), Is.False);
        Assert.That(PiiEntities.IsSecret("EMPLOYEE_ID"), Is.False);
    }

    [Test]
    public void Null_text_is_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => Default.Redact(null!));
        Assert.Throws<ArgumentNullException>(() => Default.Find(null!));
    }
}
