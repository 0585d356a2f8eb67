using System.Text;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Tests.Capture;

/// <summary>
/// A stream's reads are only copied on the caller's path, and framed and parsed when the payload is built: the events,
/// their times and the notes must come out as they would have had the framer run as the bytes came.
/// </summary>
public class DeferredStreamTests
{
    private static readonly ProviderRoute Chat = new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
    private static readonly ProviderRoute Ollama = new(OllamaAdapter.Instance, "ollama", "http://localhost:11434", "/api/chat");
    private static readonly ProviderRoute Bedrock = new(BedrockConverseAdapter.Instance, "bedrock", "https://bedrock-runtime.us-east-1.amazonaws.com", "/converse-stream");
    private static readonly CaptureLimits Limits = new(1_000_000, 4096);

    private static CallRecord NewRecord(ProviderRoute route) => new(route) { Id = "test", TimestampFrequency = 1000 };

    private static DeferredStream Deferred(CallRecord record, StreamFraming framing = StreamFraming.ServerSentEvents) =>
        new(record, Limits, framing);

    private static string Chunk(string content) =>
        $"data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{content}\"}},\"finish_reason\":null}}]}}\n\n";

    private const string Usage = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}\n\n";

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>An AWS event-stream frame that claims 64 bytes but whose prelude checksum does not match: the framer fails on it.</summary>
    private static byte[] CorruptFrame()
    {
        var frame = new byte[64];
        frame[3] = 64;
        return frame;
    }

    /// <summary>The handler prepares the buffer while a request that asked for a stream is in flight; the stream's first read takes it.</summary>
    [Test]
    public void The_first_read_takes_the_buffer_prepared_in_flight_and_an_unused_one_goes_back_with_the_record()
    {
        var record = NewRecord(Chat);
        var prepared = DeferredStream.PrepareBuffer();
        record.StreamBuffer = prepared;
        var stream = Deferred(record);
        stream.AddRead(Utf8(Chunk("Hi") + Usage + "data: [DONE]\n\n"), 10);

        Assert.That(record.StreamBuffer, Is.Null, "taken by the stream");
        Assert.That(prepared.AsSpan(12, 6).SequenceEqual("data: "u8), Is.True, "the read was copied into it, after its 12-byte header");
        Assert.That(stream.Finish(completed: true, oversizedEvents: 0), Is.True);
        Assert.That(record.OutputText!.ToString(), Is.EqualTo("Hi"));

        var unused = NewRecord(Chat);
        unused.StreamBuffer = DeferredStream.PrepareBuffer();
        unused.Release();
        Assert.That(unused.StreamBuffer, Is.Null, "no stream came (an error body): returned with the record");
    }

    [Test]
    public void Each_event_takes_the_time_of_the_read_that_completed_it()
    {
        var record = NewRecord(Chat);
        var stream = Deferred(record);
        var first = Chunk("Hel");
        var second = Chunk("lo");

        // The first event is cut across two reads: it arrived with the second one (t = 20), not the first (t = 10).
        stream.AddRead(Utf8(first[..30]), 10);
        stream.AddRead(Utf8(first[30..] + second), 20);
        stream.AddRead(Utf8(Chunk("!") + Usage + "data: [DONE]\n\n"), 35);
        Assert.That(record.FirstContentTimestamp, Is.Null, "nothing is parsed on the caller's path");

        var sawEnd = stream.Finish(completed: true, oversizedEvents: 0);

        Assert.Multiple(() =>
        {
            Assert.That(sawEnd, Is.True);
            Assert.That(record.FirstContentTimestamp, Is.EqualTo(20));
            Assert.That(record.ChunkIntervals, Is.EqualTo(new[] { 0.0, 0.015 }).Within(1e-9), "seconds between content events at 20, 20 and 35 ticks of a 1 kHz clock");
            Assert.That(record.OutputText!.ToString(), Is.EqualTo("Hello!"));
            Assert.That(record.PromptTokens, Is.EqualTo(5));
            Assert.That(record.CompletionTokens, Is.EqualTo(7));
            Assert.That(record.Notes, Is.Null);
        });
    }

    [Test]
    public void The_parser_is_made_at_the_build_and_an_empty_stream_still_gets_its_end()
    {
        var record = NewRecord(Chat);
        var stream = Deferred(record);
        stream.AddRead(Utf8(Chunk("Hi")), 10);
        stream.AddRead(Utf8(Usage), 11);
        Assert.That(stream.ParserMade, Is.False, "holding reads makes no parser on the caller's path");

        Assert.That(stream.Finish(completed: false, oversizedEvents: 0), Is.False, "no [DONE]: not a complete stream");
        Assert.That(stream.ParserMade, Is.True);
        Assert.That(record.OutputText!.ToString(), Is.EqualTo("Hi"));

        var empty = Deferred(NewRecord(Chat));
        Assert.That(empty.Finish(completed: true, oversizedEvents: 0), Is.False, "an empty body is read by a parser that saw no end");
    }

    [Test]
    public void A_stream_longer_than_the_buffer_is_parsed_in_place_and_keeps_its_final_usage()
    {
        var record = NewRecord(Chat);
        var stream = Deferred(record);
        var read = Utf8(Chunk("word "));
        var reads = DeferredStream.MaxBufferedBytes / read.Length * 3; // three buffers' worth
        var most = 0;
        for (var i = 0; i < reads; i++)
        {
            stream.AddRead(read, 100 + i);
            most = Math.Max(most, stream.BufferedBytes);
        }
        stream.AddRead(Utf8(Usage + "data: [DONE]\n\n"), 100 + reads);

        stream.Finish(completed: true, oversizedEvents: 0);

        Assert.Multiple(() =>
        {
            Assert.That(most, Is.LessThanOrEqualTo(DeferredStream.MaxBufferedBytes));
            Assert.That(record.FirstContentTimestamp, Is.EqualTo(100));
            Assert.That(record.ChunkIntervals, Has.Count.EqualTo(reads - 1));
            Assert.That(record.OutputText!.Length, Is.EqualTo(reads * "word ".Length));
            Assert.That(record.TotalTokens, Is.EqualTo(12));
        });
    }

    [Test]
    public void A_read_larger_than_the_whole_buffer_is_framed_at_once()
    {
        var record = NewRecord(Chat);
        var stream = Deferred(record);
        var big = new StringBuilder();
        while (big.Length <= DeferredStream.MaxBufferedBytes) big.Append(Chunk("x"));

        stream.AddRead(Utf8(Chunk("a")), 5);
        stream.AddRead(Utf8(big.ToString()), 9);
        Assert.That(stream.BufferedBytes, Is.Zero, "what was held went first, then the large read, in order");
        stream.AddRead(Utf8(Usage + "data: [DONE]\n\n"), 12);
        stream.Finish(completed: true, oversizedEvents: 0);

        Assert.That(record.FirstContentTimestamp, Is.EqualTo(5));
        Assert.That(record.OutputText!.ToString(), Does.StartWith("axxx"));
        Assert.That(record.TotalTokens, Is.EqualTo(12));
    }

    [Test]
    public void An_ndjson_last_line_without_a_newline_counts_only_when_the_body_was_read_to_its_end()
    {
        const string lines = "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n"
            + "{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"prompt_eval_count\":4,\"eval_count\":2}";

        var completed = NewRecord(Ollama);
        var whole = Deferred(completed, StreamFraming.NewlineDelimitedJson);
        whole.AddRead(Utf8(lines), 1);
        var cut = NewRecord(Ollama);
        var partial = Deferred(cut, StreamFraming.NewlineDelimitedJson);
        partial.AddRead(Utf8(lines), 1);

        Assert.That(whole.Finish(completed: true, oversizedEvents: 0), Is.True);
        Assert.That(partial.Finish(completed: false, oversizedEvents: 0), Is.False);
        Assert.That(completed.PromptTokens, Is.EqualTo(4));
        Assert.That(cut.PromptTokens, Is.Null);
    }

    [Test]
    public void A_framer_failure_stops_parsing_and_is_noted_while_the_events_before_it_stay()
    {
        var record = NewRecord(Bedrock);
        var stream = Deferred(record, StreamFraming.AwsEventStream);
        var garbage = CorruptFrame();

        stream.AddRead(EventStreamFrames.Event("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":"Hi"}}"""), 1);
        stream.AddRead(garbage, 2);
        stream.AddRead(EventStreamFrames.Event("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":" there"}}"""), 3);
        var sawEnd = stream.Finish(completed: true, oversizedEvents: 0);

        Assert.That(sawEnd, Is.Null, "the parser saw a cut stream: its end is not called");
        Assert.That(record.OutputText?.ToString(), Is.EqualTo("Hi"), "the event before the failure is kept, none after it");
        Assert.That(record.FirstContentTimestamp, Is.EqualTo(1));
        Assert.That(record.Notes, Has.Count.EqualTo(1));
        Assert.That(record.Notes![0], Does.StartWith("response capture stopped: InvalidDataException"));
    }

    [Test]
    public void Once_the_framer_failed_in_place_the_callers_reads_are_no_longer_copied()
    {
        var record = NewRecord(Bedrock);
        var stream = Deferred(record, StreamFraming.AwsEventStream);
        var garbage = CorruptFrame();
        var filler = new byte[16 * 1024];

        stream.AddRead(garbage, 1);
        // Past the buffer's bound what is held is framed in place, on the caller's thread: the framer fails there.
        for (var i = 0; i * filler.Length <= DeferredStream.MaxBufferedBytes; i++) stream.AddRead(filler, 2);
        stream.AddRead(filler, 3);

        Assert.That(stream.BufferedBytes, Is.Zero, "nothing reads the bytes any more, so none are copied");
        stream.Finish(completed: true, oversizedEvents: 0);
        Assert.That(record.Notes, Has.Count.EqualTo(1));
        Assert.That(record.Notes![0], Does.StartWith("response capture stopped: InvalidDataException"));
    }

    [Test]
    public void Events_held_before_a_failure_on_the_callers_path_are_still_parsed()
    {
        var record = NewRecord(Chat);
        var stream = Deferred(record);
        stream.AddRead(Utf8(Chunk("kept")), 4);

        stream.Detach(); // as ResponseCapture does when something throws on the caller's path
        stream.AddRead(Utf8(Chunk(" dropped")), 5);
        var sawEnd = stream.Finish(completed: true, oversizedEvents: 0);

        Assert.That(sawEnd, Is.Null);
        Assert.That(record.OutputText!.ToString(), Is.EqualTo("kept"));
    }

    [Test]
    public void A_dropped_record_gives_its_buffer_back_without_parsing()
    {
        var record = NewRecord(Chat);
        var stream = Deferred(record);
        stream.AddRead(Utf8(Chunk("a")), 1);

        stream.Release();

        Assert.That(stream.BufferedBytes, Is.Zero);
        Assert.That(record.OutputText, Is.Null);
    }
}
