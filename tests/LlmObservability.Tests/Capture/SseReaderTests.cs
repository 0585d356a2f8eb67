using System.Text;
using LlmObservability.Capture;

namespace LlmObservability.Tests.Capture;

public class SseReaderTests
{
    private sealed class Recorder : IStreamEventHandler
    {
        public List<(string? Type, string Data)> Events { get; } = [];

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events.Add((eventType, Encoding.UTF8.GetString(data.Span)));
    }

    private static List<(string? Type, string Data)> Parse(string text, params int[] splitAt)
    {
        var recorder = new Recorder();
        using var reader = new SseReader(recorder);
        var bytes = Encoding.UTF8.GetBytes(text);
        var start = 0;
        foreach (var cut in splitAt.Append(bytes.Length))
        {
            reader.Feed(bytes.AsSpan(start, cut - start));
            start = cut;
        }
        return recorder.Events;
    }

    [Test]
    public void Dispatches_each_event_at_its_blank_line()
    {
        var events = Parse("data: one\n\ndata: two\n\n");
        Assert.That(events, Is.EqualTo(new[] { ((string?)null, "one"), (null, "two") }));
    }

    [Test]
    public void An_event_split_across_reads_at_every_possible_point_is_reassembled()
    {
        const string text = "event: message_delta\r\ndata: {\"a\":1}\r\n\r\ndata: [DONE]\r\n\r\n";
        var length = Encoding.UTF8.GetByteCount(text);
        for (var cut = 1; cut < length; cut++)
        {
            var events = Parse(text, cut);
            Assert.That(events, Is.EqualTo(new[] { ((string?)"message_delta", "{\"a\":1}"), (null, "[DONE]") }), $"split at {cut}");
        }
    }

    [Test]
    public void One_byte_per_read_gives_the_same_events()
    {
        const string text = "data: x\n\nevent: e\ndata: y\n\n";
        var cuts = Enumerable.Range(1, text.Length - 1).ToArray();
        Assert.That(Parse(text, cuts), Is.EqualTo(Parse(text)));
    }

    [TestCase("\n")]
    [TestCase("\r\n")]
    [TestCase("\r")]
    public void Accepts_LF_CRLF_and_CR_line_ends(string eol)
    {
        var events = Parse($"data: a{eol}{eol}data: b{eol}{eol}");
        Assert.That(events.Select(e => e.Data), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void A_CR_at_the_end_of_one_read_and_LF_at_the_start_of_the_next_is_one_line_end()
    {
        var text = "data: a\r\n\r\ndata: b\r\n\r\n";
        var cut = text.IndexOf('\n', StringComparison.Ordinal); // right after the first \r
        Assert.That(Parse(text, cut).Select(e => e.Data), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void Comments_are_ignored()
    {
        var events = Parse(": keep-alive\n\n: OPENROUTER PROCESSING\ndata: real\n\n");
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].Data, Is.EqualTo("real"));
    }

    [Test]
    public void Multi_line_data_is_joined_with_LF()
    {
        var events = Parse("data: {\ndata: \"a\": 1\ndata: }\n\n");
        Assert.That(events.Single().Data, Is.EqualTo("{\n\"a\": 1\n}"));
    }

    [Test]
    public void Only_one_space_after_the_colon_is_stripped_and_no_space_is_allowed()
    {
        var events = Parse("data:x\n\ndata:  y\n\n");
        Assert.That(events.Select(e => e.Data), Is.EqualTo(new[] { "x", " y" }));
    }

    [Test]
    public void DONE_is_an_ordinary_event_the_adapter_interprets()
    {
        var events = Parse("data: {\"x\":1}\n\ndata: [DONE]\n\n");
        Assert.That(events.Last().Data, Is.EqualTo("[DONE]"));
    }

    [Test]
    public void Event_type_applies_to_one_event_only()
    {
        var events = Parse("event: ping\ndata: {}\n\ndata: plain\n\n");
        Assert.That(events, Is.EqualTo(new[] { ((string?)"ping", "{}"), (null, "plain") }));
    }

    [Test]
    public void Events_without_data_and_id_or_retry_fields_dispatch_nothing()
    {
        var events = Parse("event: nothing\n\nid: 7\nretry: 1000\n\n");
        Assert.That(events, Is.Empty);
    }

    [Test]
    public void An_unterminated_final_event_is_not_dispatched()
    {
        var events = Parse("data: complete\n\ndata: cut-off");
        Assert.That(events.Select(e => e.Data), Is.EqualTo(new[] { "complete" }));
    }

    [Test]
    public void A_leading_BOM_is_skipped_even_when_split()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("data: a\n\n")).ToArray();
        var recorder = new Recorder();
        using var reader = new SseReader(recorder);
        reader.Feed(bytes.AsSpan(0, 2));
        reader.Feed(bytes.AsSpan(2));
        Assert.That(recorder.Events.Single().Data, Is.EqualTo("a"));
    }

    [Test]
    public void An_event_over_the_size_cap_is_skipped_and_counted_and_parsing_goes_on()
    {
        var recorder = new Recorder();
        using var reader = new SseReader(recorder, maxEventBytes: 16);
        reader.Feed(Encoding.UTF8.GetBytes($"data: {new string('x', 100)}\n\ndata: ok\n\n"));
        Assert.That(recorder.Events.Select(e => e.Data), Is.EqualTo(new[] { "ok" }));
        Assert.That(reader.OversizedEvents, Is.EqualTo(1));
    }

    [Test]
    public void Invalid_UTF8_passes_through_as_bytes_without_throwing()
    {
        var recorder = new Recorder();
        using var reader = new SseReader(recorder);
        reader.Feed([.. "data: "u8, 0xC3, 0x28, 0xFF, .. "\n\n"u8]);
        Assert.That(recorder.Events, Has.Count.EqualTo(1));
    }
}

public class NdjsonReaderTests
{
    private sealed class Recorder : IStreamEventHandler
    {
        public List<string> Events { get; } = [];

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events.Add(Encoding.UTF8.GetString(data.Span));
    }

    [Test]
    public void Lines_split_anywhere_become_one_event_each_and_the_last_unterminated_line_counts_at_the_end()
    {
        const string text = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}";
        for (var cut = 1; cut < text.Length; cut++)
        {
            var recorder = new Recorder();
            using var reader = new NdjsonReader(recorder);
            var bytes = Encoding.UTF8.GetBytes(text);
            reader.Feed(bytes.AsSpan(0, cut));
            reader.Feed(bytes.AsSpan(cut));
            reader.Finish();
            Assert.That(recorder.Events, Is.EqualTo(new[] { "{\"a\":1}", "{\"b\":2}", "{\"c\":3}" }), $"split at {cut}");
        }
    }

    [Test]
    public void A_line_over_the_cap_is_skipped_and_counted()
    {
        var recorder = new Recorder();
        using var reader = new NdjsonReader(recorder, maxEventBytes: 8);
        reader.Feed(Encoding.UTF8.GetBytes("{\"long\":\"xxxxxxxx\"}\n{}\n"));
        Assert.That(recorder.Events, Is.EqualTo(new[] { "{}" }));
        Assert.That(reader.OversizedEvents, Is.EqualTo(1));
    }
}
