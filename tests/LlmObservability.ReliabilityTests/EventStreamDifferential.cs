using System.Text;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// What the stream event readers' differential tests share (<see cref="AnthropicEventReaderTests"/>,
/// <see cref="ResponsesEventReaderTests"/>): the fixtures' streams as framed events, the comparison of both paths event
/// by event, and events varied by swapping the text of one of their strings.
/// </summary>
internal static class EventStreamDifferential
{
    /// <summary>Each fixture stream matching <paramref name="pattern"/> in <paramref name="folder"/>, framed as the capture frames it.</summary>
    public static IEnumerable<List<(string? Type, byte[] Data)>> FixtureStreams(string folder, string pattern)
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures", folder), pattern))
        {
            var collector = new Collector();
            using (var reader = new SseReader(collector)) reader.Feed(File.ReadAllBytes(file));
            yield return collector.Events;
        }
    }

    /// <summary>
    /// The check both event readers are held to: every stream goes, <paramref name="rounds"/> times (the first as it is,
    /// then each event through <paramref name="vary"/>), through a parser with the fast reader and one reading every
    /// event through a document, side by side. After each event both must have failed or neither and be in the same
    /// state; after the end, the same state. <paramref name="newProbe"/> makes, for each stream, what tells whether
    /// the fast reader takes an event (null: the parser does not read it, so it is not counted).
    /// </summary>
    public static (int Events, int Taken, int Declined, int Failed) Compare(
        List<List<(string? Type, byte[] Data)>> streams, int rounds, Random random, Func<Random, byte[], byte[]> vary, ProviderRoute route,
        Func<CallRecord, StreamParser> newFast, Func<CallRecord, StreamParser> newDocument, Func<Func<byte[], bool?>> newProbe)
    {
        int events = 0, taken = 0, declined = 0, failed = 0;
        for (var round = 0; round < rounds; round++)
        {
            foreach (var stream in streams)
            {
                var fastRecord = new CallRecord(route) { Id = "id" };
                var documentRecord = new CallRecord(route) { Id = "id" };
                var fast = newFast(fastRecord);
                var document = newDocument(documentRecord);
                var probe = newProbe();
                foreach (var (type, original) in stream)
                {
                    var data = round == 0 ? original : vary(random, original);
                    events++;
                    switch (probe(data))
                    {
                        case true: taken++; break;
                        case false: declined++; break;
                    }
                    var fastError = Read(fast, type, data);
                    var documentError = Read(document, type, data);
                    Assert.That(fastError, Is.EqualTo(documentError), $"an event must fail both paths or neither: {Show(data)}");
                    Assert.That(State(fast, fastRecord), Is.EqualTo(State(document, documentRecord)), Show(data));
                    // A failed event (bad JSON, text that is not Unicode) is counted and skipped, and the capture reads
                    // on (DeferredStream): so does this, the state after it compared like any other.
                    if (documentError is not null) failed++;
                }
                fast.OnEnd();
                document.OnEnd();
                Assert.That(State(fast, fastRecord), Is.EqualTo(State(document, documentRecord)), "after the end");
            }
        }
        return (events, taken, declined, failed);
    }

    /// <summary>Feeds one event; the exception's type when the parser threw (the capture counts the event as not parsed).</summary>
    private static string? Read(StreamParser parser, string? type, byte[] data)
    {
        try
        {
            parser.OnEvent(type, data);
            return null;
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    /// <summary>What must be the same on both paths after each event: the record, the event's content flag, the end flag.</summary>
    private static string State(StreamParser parser, CallRecord record) =>
        $"end={parser.SawEnd}\n" + ChatChunkReaderTests.Snapshot(record, parser.LastEventHadContent);

    public static string Show(byte[] data) => Encoding.UTF8.GetString(data);

    /// <summary>
    /// Texts to put in a string: plain words, nothing, escapes, a quote or control byte that breaks the string, bad
    /// UTF-8, a lone surrogate, a trailing backslash.
    /// </summary>
    public static readonly byte[][] Texts =
    [
        "word"u8.ToArray(), " more words."u8.ToArray(), [], "caf\u00e9 \\n"u8.ToArray(), "\"q\""u8.ToArray(), "a\"b"u8.ToArray(),
        [(byte)'x', 0x0A, (byte)'y'], [(byte)'b', 0xC3, 0x28], "\ud83d\ude00 emoji"u8.ToArray(), "é ü 漢"u8.ToArray(), "tail\\"u8.ToArray(),
        "{\\\"k\\\": 1}"u8.ToArray(), "\\ud800"u8.ToArray(),
    ];

    /// <summary>The raw bytes of the first of the named strings in the event (start, end); (0, 0) when it has none of them.</summary>
    public static (int Start, int End) StringAt(byte[] data, ReadOnlySpan<string> names)
    {
        foreach (var name in names)
        {
            var key = Encoding.UTF8.GetBytes("\"" + name + "\":\"");
            var at = data.AsSpan().IndexOf(key);
            if (at < 0) continue;
            var start = at + key.Length;
            for (var i = start; i < data.Length; i++)
            {
                if (data[i] == '\\') i++;
                else if (data[i] == '"') return (start, i);
            }
        }
        return (0, 0);
    }

    private sealed class Collector : IStreamEventHandler
    {
        public List<(string? Type, byte[] Data)> Events { get; } = [];

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events.Add((eventType, data.ToArray()));
    }
}
