using System.Collections.Concurrent;
using LlmObservability.Capture;

namespace LlmObservability.Tests.Capture;

/// <summary>Call IDs are UUIDv7 with the call's start time and cryptographic random bits drawn in blocks.</summary>
public class CallIdTests
{
    [Test]
    public void An_id_is_a_version_7_uuid_carrying_the_start_in_unix_milliseconds()
    {
        var start = new DateTimeOffset(2026, 11, 23, 1, 2, 3, 456, TimeSpan.Zero);

        var id = Guid.Parse(CallIds.New(start));

        Assert.That(id.Version, Is.EqualTo(7));
        Assert.That(id.Variant, Is.InRange(8, 11), "RFC 9562 variant: the top bits of byte 8 are 10");
        var bytes = id.ToByteArray(bigEndian: true);
        var milliseconds = ((long)bytes[0] << 40) | ((long)bytes[1] << 32) | ((long)bytes[2] << 24) | ((long)bytes[3] << 16) | ((long)bytes[4] << 8) | bytes[5];
        Assert.That(milliseconds, Is.EqualTo(start.ToUnixTimeMilliseconds()));
        Assert.That(CallIds.New(start), Has.Length.EqualTo(36).And.Not.EqualTo(id.ToString()));
    }

    [Test]
    public void Ids_stay_unique_and_random_across_refills_and_threads()
    {
        var start = DateTimeOffset.UtcNow;
        var ids = new ConcurrentBag<Guid>();
        // Each thread goes through its 64-ID block many times over; every ID has the same timestamp, so only the
        // random bits can tell them apart.
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (var i = 0; i < 5_000; i++) ids.Add(CallIds.NewGuid(start));
        });

        Assert.That(ids.Distinct().Count(), Is.EqualTo(20_000));
        // Each of the 74 random bits is set in about half of the IDs (a stuck bit or a reused block would show).
        var all = ids.Select(id => id.ToByteArray(bigEndian: true)).ToArray();
        var randomBits = Enumerable.Range(6 * 8, 80).Where(bit => bit is not (>= 48 and < 52) and not (64 or 65)).ToArray();
        Assert.That(randomBits, Has.Length.EqualTo(74));
        foreach (var bit in randomBits)
        {
            var set = all.Count(b => (b[bit / 8] & (0x80 >> (bit % 8))) != 0);
            Assert.That(set, Is.InRange(9_000, 11_000), $"bit {bit}");
        }
    }

    [Test]
    public void A_start_before_1970_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CallIds.New(new DateTimeOffset(1969, 12, 31, 23, 59, 59, TimeSpan.Zero)));
    }

    [Test]
    public void Trace_and_span_ids_are_random_lowercase_hex_of_their_w3c_sizes_written_when_read()
    {
        var route = new LlmObservability.Providers.ProviderRoute(LlmObservability.Providers.OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
        var traces = new HashSet<string>();
        var spans = new HashSet<string>();
        var spanBitsSet = new int[64];
        for (var i = 0; i < 4_000; i++)
        {
            var record = new CallRecord(route) { Id = "x" };
            Assert.That(record.TraceId, Is.Null, "no ID until one is given");
            record.NewTraceId();
            record.NewSpanId();
            var trace = record.TraceId!;
            var span = record.SpanId!;
            Assert.That(trace, Does.Match("^[0-9a-f]{32}$"));
            Assert.That(span, Does.Match("^[0-9a-f]{16}$"));
            Assert.That(trace, Is.Not.EqualTo(new string('0', 32)));
            Assert.That(record.TraceId, Is.SameAs(trace), "written once");
            traces.Add(trace);
            spans.Add(span);
            var bits = Convert.ToUInt64(span, 16);
            for (var bit = 0; bit < 64; bit++) spanBitsSet[bit] += (int)((bits >> bit) & 1);
        }

        Assert.That(traces, Has.Count.EqualTo(4_000));
        Assert.That(spans, Has.Count.EqualTo(4_000));
        Assert.That(spanBitsSet, Has.All.InRange(1_700, 2_300), "every bit of a span ID is random, including the high byte");
    }

    [Test]
    public void An_id_given_as_text_is_kept_as_it_is()
    {
        var route = new LlmObservability.Providers.ProviderRoute(LlmObservability.Providers.OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
        var record = new CallRecord(route) { Id = "x" };
        record.NewTraceId();
        record.TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        record.SpanId = "00f067aa0ba902b7";

        Assert.That(record.TraceId, Is.EqualTo("4bf92f3577b34da6a3ce929d0e0e4736"));
        Assert.That(record.SpanId, Is.EqualTo("00f067aa0ba902b7"));
    }
}
