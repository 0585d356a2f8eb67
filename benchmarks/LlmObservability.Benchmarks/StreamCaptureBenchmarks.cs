using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Observing one streamed chat response (the 50-chunk fixture, one event per read), without HTTP. The baseline only
/// cuts the bytes into SSE events. <c>CallerPath</c> is what the caller's reads pay: copying each read with its
/// arrival time (<see cref="DeferredStream"/>), and the end. <c>CallerPathThenParse</c> adds the deferred framing and
/// parse that the dispatcher's loop does when it builds the payload, i.e. the whole CPU cost of observing the stream.
/// <c>ParseInline</c> feeds the same events straight to the OpenAI chunk parser as they are framed: what the caller's
/// reads paid when the parser ran on the caller's path.
/// </summary>
[MemoryDiagnoser]
public class StreamCaptureBenchmarks
{
    private static readonly ProviderRoute Route = new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
    private static readonly CaptureLimits Limits = new(256 * 1024, 4096);
    private readonly EventCounter _counter = new();

    [Benchmark(Baseline = true)]
    public int SseFramingOnly()
    {
        _counter.Events = 0;
        using var reader = new SseReader(_counter);
        foreach (var e in ChatFixtures.StreamEvents) reader.Feed(e);
        return _counter.Events;
    }

    [Benchmark]
    public object CallerPath()
    {
        var record = Capture();
        record.Release(); // gives the pooled event buffer back, as a dropped record does
        return record;
    }

    [Benchmark]
    public object CallerPathThenParse()
    {
        var record = Capture();
        var pending = record.PendingStream!;
        record.PendingStream = null;
        pending.Finish(record);
        return record;
    }

    [Benchmark]
    public object ParseInline()
    {
        var record = NewRecord();
        var parser = OpenAiChatAdapter.Instance.CreateStreamParser(record, Limits);
        using (var reader = new SseReader(parser))
        {
            foreach (var e in ChatFixtures.StreamEvents) reader.Feed(e);
        }
        parser.OnEnd();
        return record;
    }

    private static CallRecord NewRecord() => new(Route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5", TimestampFrequency = Stopwatch.Frequency };

    private static CallRecord Capture()
    {
        var record = NewRecord();
        var capture = new ResponseCapture(record, Limits, StreamFraming.ServerSentEvents, 1024 * 1024, contentLength: null, TimeProvider.System, static _ => { });
        foreach (var e in ChatFixtures.StreamEvents) capture.OnBytes(e);
        capture.Complete(CallEnd.Completed);
        return record;
    }

    private sealed class EventCounter : IStreamEventHandler
    {
        public int Events { get; set; }

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events++;
    }
}
