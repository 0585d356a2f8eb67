using System.Text;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// What the stream event readers' differential tests share (<see cref="AnthropicEventReaderTests"/>,
/// <see cref="ResponsesEventReaderTests"/>): the fixtures' streams as framed events, feeding one event, the state
/// compared after it, and events varied by swapping the text of one of their strings.
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

    /// <summary>Feeds one event; the exception's type when the parser threw (the capture notes it and stops).</summary>
    public static string? Read(StreamParser parser, string? type, byte[] data)
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
    public static string State(StreamParser parser, CallRecord record) =>
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
