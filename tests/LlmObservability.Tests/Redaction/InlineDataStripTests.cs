using System.Text;
using System.Text.RegularExpressions;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>
/// The inline-data stripper skips through prose by probing one character per <c>MaxInlineDataChars</c>; these tests
/// hold it to the plain definition: every maximal run of base64 characters longer than the limit is replaced by a note
/// of its size, together with a <c>data:&lt;mime&gt;;base64,</c> prefix right before it, and nothing else changes.
/// </summary>
[TestFixture]
public sealed class InlineDataStripTests
{
    private static readonly Regex Run = new("[A-Za-z0-9+/=_-]+", RegexOptions.CultureInvariant);

    [Test]
    public void Prose_is_returned_as_the_same_instance()
    {
        var text = string.Join(' ', Enumerable.Repeat("The retry policy uses exponential backoff with jitter, base delay 200 ms.", 40));
        var strip = new PayloadRedaction(new LlmRedactionOptions { MaxInlineDataChars = 256 });

        Assert.That(strip.StripInlineData(text), Is.SameAs(text));
    }

    [Test]
    public void A_data_uri_and_a_bare_run_are_replaced_by_notes()
    {
        var image = new string('A', 400);
        var blob = new string('Q', 300);
        var text = $"look: data:image/png;base64,{image} and {blob}.";
        var strip = new PayloadRedaction(new LlmRedactionOptions { MaxInlineDataChars = 256 });

        Assert.That(strip.StripInlineData(text), Is.EqualTo("look: [data:image/png;base64, 300 bytes] and [base64, 225 bytes]."));
    }

    [Test]
    public void A_run_exactly_at_the_limit_is_kept_and_one_over_is_replaced()
    {
        var strip = new PayloadRedaction(new LlmRedactionOptions { MaxInlineDataChars = 16 });

        Assert.Multiple(() =>
        {
            Assert.That(strip.StripInlineData("x " + new string('a', 16) + " y"), Is.EqualTo("x " + new string('a', 16) + " y"));
            Assert.That(strip.StripInlineData("x " + new string('a', 17) + " y"), Is.EqualTo("x [base64, 12 bytes] y"));
            Assert.That(strip.StripInlineData(new string('a', 17)), Is.EqualTo("[base64, 12 bytes]"));
        });
    }

    [Test]
    public void A_prefix_inside_the_run_replaced_before_it_is_not_taken_twice()
    {
        // "…AAAAdata" is one run (the letters of "data" are base64), so the second run's prefix starts inside it.
        var text = new string('A', 20) + "data:image/png;base64," + new string('B', 20);
        var strip = new PayloadRedaction(new LlmRedactionOptions { MaxInlineDataChars = 10 }); // "image/png" (9) stays

        Assert.That(strip.StripInlineData(text), Is.EqualTo("[base64, 18 bytes]:image/png;base64,[base64, 15 bytes]"));
    }

    [Test]
    public void Random_texts_match_the_definition([Range(1, 300)] int seed)
    {
        var random = new Random(seed);
        var limit = random.Next(1, 24);
        var text = RandomText(random, random.Next(0, 400));
        var strip = new PayloadRedaction(new LlmRedactionOptions { MaxInlineDataChars = limit });

        Assert.That(strip.StripInlineData(text), Is.EqualTo(Reference(text, limit)), $"limit {limit}, text: {text}");
    }

    /// <summary>The definition, written the obvious way: visit every maximal run.</summary>
    private static string Reference(string text, int limit)
    {
        if (text.Length <= limit) return text;
        var output = new StringBuilder();
        var copied = 0;
        foreach (Match run in Run.Matches(text))
        {
            if (run.Length <= limit) continue;
            var bytes = run.Length * 3 / 4;
            var size = bytes >= 1024 ? (bytes / 1024.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " KB" : $"{bytes} bytes";
            var noteStart = run.Index;
            var note = $"[base64, {size}]";
            var window = text[Math.Max(copied, run.Index - 127)..run.Index]; // the 127 characters before the run
            var at = window.LastIndexOf("data:", StringComparison.Ordinal);
            if (at >= 0 && window.EndsWith(";base64,", StringComparison.Ordinal))
            {
                noteStart = run.Index - window.Length + at;
                note = $"[{text[noteStart..(run.Index - 1)]}, {size}]";
            }
            output.Append(text, copied, noteStart - copied).Append(note);
            copied = run.Index + run.Length;
        }
        return copied == 0 ? text : output.Append(text, copied, text.Length - copied).ToString();
    }

    private static string RandomText(Random random, int length)
    {
        string[] pieces = ["a", "Zz09", "+/=", "-_", " ", ".", ",", ":", ";", "\n", "é", "data:image/png;base64,", "data:", ";base64,", "AAAAAAAAAAAA"];
        var builder = new StringBuilder();
        while (builder.Length < length) builder.Append(pieces[random.Next(pieces.Length)]);
        return builder.ToString();
    }
}
