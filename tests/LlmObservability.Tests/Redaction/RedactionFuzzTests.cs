using System.Text;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>
/// Adversarial and random inputs: every call must finish without an exception, return well-formed matches, and leave
/// nothing detectable behind (redacting the redacted text changes nothing). No timing is asserted; the scanner is
/// linear by construction and these inputs would take minutes or hours if it were not.
/// </summary>
[TestFixture]
public sealed class RedactionFuzzTests
{
    private const int Megabyte = 1 << 20;

    private static IEnumerable<TestCaseData> Adversarial()
    {
        yield return Case("1 MB of 'a'", new string('a', Megabyte));
        yield return Case("1 MB of digits", new string('7', Megabyte));
        yield return Case("digit groups", Repeat("1234 ", Megabyte / 5));
        yield return Case("dashed digit groups", Repeat("415-555-", Megabyte / 8));
        yield return Case("dotted digits", Repeat("1.", Megabyte / 2));
        yield return Case("dots", new string('.', Megabyte));
        yield return Case("at signs", new string('@', Megabyte));
        yield return Case("a@ chains", Repeat("a@b.", Megabyte / 4));
        yield return Case("email chain", Repeat("x@example.com", Megabyte / 13));
        yield return Case("colons", new string(':', Megabyte));
        yield return Case("hex colons", Repeat("ab:", Megabyte / 3));
        yield return Case("double colons", Repeat("1::", Megabyte / 3));
        yield return Case("repeated sk-", Repeat("sk-", Megabyte / 3));
        yield return Case("sk- long body", "sk-" + new string('A', Megabyte));
        yield return Case("repeated eyJ", Repeat("eyJ", Megabyte / 3));
        yield return Case("eyJ segments", Repeat("eyJhbGciOiJ.", Megabyte / 12));
        yield return Case("JWT chain", Repeat("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.", Megabyte / 50));
        yield return Case("BEGIN lines", Repeat("-----BEGIN RSA PRIVATE KEY-----\n", Megabyte / 32));
        yield return Case("BEGIN then base64", "-----BEGIN PRIVATE KEY-----\n" + new string('Q', Megabyte));
        yield return Case("dashes", new string('-', Megabyte));
        yield return Case("underscores", new string('_', Megabyte));
        yield return Case("hf_ chains", Repeat("hf_", Megabyte / 3));
        yield return Case("password assignments", Repeat("password=", Megabyte / 9));
        yield return Case("long assigned value", "api_key=" + new string('Z', Megabyte));
        yield return Case("authorization headers", Repeat("Authorization: Bearer ", Megabyte / 22));
        yield return Case("bearer long", "Bearer " + new string('b', Megabyte));
        yield return Case("curl users", Repeat(" -u a:", Megabyte / 6));
        yield return Case("equals", new string('=', Megabyte));
        yield return Case("AKIA chain", Repeat("AKIA", Megabyte / 4));
        yield return Case("AIza chain", Repeat("AIza", Megabyte / 4));
        yield return Case("IBAN-like", Repeat("DE89 ", Megabyte / 5));
        yield return Case("plus digits", Repeat("+1 ", Megabyte / 3));
        yield return Case("parens", Repeat("(415) ", Megabyte / 6));
        yield return Case("lone surrogates", Repeat("\uD800a\uDC00@1:", Megabyte / 5));
    }

    private static TestCaseData Case(string name, string text) => new TestCaseData(text).SetName("Adversarial: " + name);

    private static string Repeat(string unit, int times) => new StringBuilder(unit.Length * times).Insert(0, unit, times).ToString();

    [TestCaseSource(nameof(Adversarial))]
    public void Adversarial_inputs_terminate_and_are_consistent(string text) => AssertConsistent(new PiiRedactor(), text);

    [Test]
    public void Random_unicode_including_surrogates_is_handled([Range(1, 20)] int seed)
    {
        var rng = new Random(seed);
        var chars = new char[rng.Next(1, 20_000)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = rng.Next(10) switch
            {
                0 => (char)rng.Next(0xD800, 0xE000), // unpaired or paired surrogates
                1 => (char)rng.Next(0x80, 0x3000),
                _ => (char)rng.Next(0x20, 0x7F),
            };
        }

        AssertConsistent(new PiiRedactor(), new string(chars));
    }

    [Test]
    public void Random_mixes_of_trigger_characters_are_handled([Range(1, 40)] int seed)
    {
        var rng = new Random(seed);
        string[] pieces =
        [
            "0", "1", "4", "9", " ", "-", ".", ":", "::", "@", "=", "_", "/", "(", ")", "+", "\"", "'", "a", "A", "f", "x",
            "sk-", "ghp_", "hf_", "xoxb-", "AKIA", "AIza", "eyJ", "Bearer ", "Basic ", "password", "api_key", "-u ",
            "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "example.com", "DE89", "192.168.", "ffff:",
            "4111111111111111", "jane@x.io", "\n", "\uD83D\uDE00",
        ];
        var sb = new StringBuilder();
        var count = rng.Next(1, 3000);
        for (var i = 0; i < count; i++) sb.Append(pieces[rng.Next(pieces.Length)]);
        AssertConsistent(new PiiRedactor(), sb.ToString());
    }

    [Test]
    public void Every_action_survives_random_input([Values] PiiRedactionAction action)
    {
        var options = new PiiRedactorOptions { DefaultAction = action, PseudonymKey = [1, 2, 3] }
            .AddCustomEntity("EMPLOYEE_ID", @"EMP-\d{6}");
        var redactor = new PiiRedactor(options);
        var rng = new Random(7);
        for (var round = 0; round < 50; round++)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < 200; i++)
            {
                sb.Append(rng.Next(6) switch
                {
                    0 => "jane@example.com ",
                    1 => "4111 1111 1111 1111 ",
                    2 => "EMP-123456 ",
                    3 => "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z ",
                    4 => (char)rng.Next(0x20, 0x7F),
                    _ => "\uD800",
                });
            }

            var text = sb.ToString();
            var redacted = redactor.Redact(text);
            Assert.That(redacted, Is.Not.Null);
            AssertMatchesAreWellFormed(text, redactor.Find(text));
        }
    }

    private static void AssertConsistent(PiiRedactor redactor, string text)
    {
        var matches = redactor.Find(text);
        AssertMatchesAreWellFormed(text, matches);

        var redacted = redactor.Redact(text);
        Assert.That(redacted, Is.EqualTo(Apply(text, matches)), "Redact agrees with Find");
        Assert.That(redactor.Find(redacted), Is.Empty, "redacted text has nothing left to redact");
        Assert.That(redactor.Redact(redacted), Is.SameAs(redacted));
    }

    private static void AssertMatchesAreWellFormed(string text, IReadOnlyList<PiiMatch> matches)
    {
        var previousEnd = 0;
        foreach (var m in matches)
        {
            Assert.That(m.Length, Is.Positive);
            Assert.That(m.Start, Is.GreaterThanOrEqualTo(previousEnd));
            Assert.That(m.End, Is.LessThanOrEqualTo(text.Length));
            previousEnd = m.End;
        }
    }

    private static string Apply(string text, IReadOnlyList<PiiMatch> matches)
    {
        var sb = new StringBuilder();
        var last = 0;
        foreach (var m in matches)
        {
            sb.Append(text, last, m.Start - last).Append('[').Append(m.Entity).Append(']');
            last = m.End;
        }

        return sb.Append(text, last, text.Length - last).ToString();
    }
}
