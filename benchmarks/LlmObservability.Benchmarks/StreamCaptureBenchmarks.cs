using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// The caller-path part of observing one streamed chat response (the 50-chunk fixture, one event per read): our
/// <see cref="ResponseCapture"/> with the OpenAI chunk parser, against the baseline of only cutting the bytes into SSE
/// events. The difference is what parsing each chunk's JSON as it passes costs the caller.
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
    public object CaptureAndParse()
    {
        var record = new CallRecord(Route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5", TimestampFrequency = Stopwatch.Frequency };
        var parser = OpenAiChatAdapter.Instance.CreateStreamParser(record, Limits);
        var capture = new ResponseCapture(record, parser, StreamFraming.ServerSentEvents, 1024 * 1024, contentLength: null, TimeProvider.System, static _ => { });
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
