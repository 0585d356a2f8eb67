using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.Capture;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// How many payloads per second the dispatcher carries from <see cref="LlmLogDispatcher.TryEnqueue(StandardLoggingPayload)"/>
/// to a null sink, batching as configured by default (100 per batch). One operation enqueues 100,000 pre-built payloads
/// and awaits <see cref="LlmLogDispatcher.FlushAsync"/>; times are per payload (OperationsPerInvoke). The queues hold
/// the whole burst, and every payload is checked to have been delivered. Baseline: the least a hand-written pipeline
/// does, a bounded <see cref="Channel{T}"/> drained by one consumer task in batches of 100.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PayloadsPerSecondConfig))]
public class DispatcherThroughputBenchmarks
{
    public const int PayloadsPerOperation = 100_000;

    private StandardLoggingPayload[] _payloads = null!;
    private LlmLogDispatcher _dispatcher = null!;
    private CountingNullSink _sink = null!;
    private Channel<StandardLoggingPayload> _channel = null!;
    private Task _consumer = null!;
    private long _consumed;
    private TaskCompletionSource _consumedTarget = null!;
    private long _target;

    [GlobalSetup]
    public void Setup()
    {
        // 1,000 distinct payloads of a real call (2 KB each way), cycled: building 100,000 would only measure memory.
        var builder = new PayloadBuilder(new LlmObservabilityOptions(), TimeProvider.System, PriceCatalog.CreateDefault(), estimator: null);
        var route = new ProviderRoute(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
        _payloads = new StandardLoggingPayload[1000];
        for (var i = 0; i < _payloads.Length; i++)
        {
            var record = new CallRecord(route) { Id = Guid.CreateVersion7().ToString(), RequestBody = ChatFixtures.RequestBody, HttpStatus = 200, End = CallEnd.Completed };
            record.AppendResponseBody(ChatFixtures.ResponseBody, 1024 * 1024);
            _payloads[i] = record.Build(builder);
            record.Release();
        }

        _sink = new CountingNullSink();
        _dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(_sink, new LlmSinkOptions { QueueCapacity = PayloadsPerOperation })],
            new LlmObservabilityOptions { QueueCapacity = PayloadsPerOperation });

        _channel = Channel.CreateBounded<StandardLoggingPayload>(new BoundedChannelOptions(PayloadsPerOperation) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        _consumedTarget = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _consumer = Task.Run(ConsumeAsync);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        var stats = _dispatcher.GetStatistics();
        Console.WriteLine($"// Dispatcher at the end: accepted {stats.Accepted}, dropped {stats.Dropped}, delivered {stats.Sinks[0].Delivered}, sink dropped {stats.Sinks[0].Dropped}");
        await _dispatcher.DisposeAsync();
        _channel.Writer.Complete();
        await _consumer;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PayloadsPerOperation)]
    public async Task HandWrittenChannel()
    {
        Interlocked.Add(ref _target, PayloadsPerOperation);
        var done = Volatile.Read(ref _consumedTarget).Task;
        var writer = _channel.Writer;
        for (var i = 0; i < PayloadsPerOperation; i++)
        {
            if (!writer.TryWrite(_payloads[i % _payloads.Length])) throw new InvalidOperationException("The channel was full.");
        }
        await done;
    }

    [Benchmark(OperationsPerInvoke = PayloadsPerOperation)]
    public async Task Dispatcher()
    {
        var before = _sink.Count;
        for (var i = 0; i < PayloadsPerOperation; i++)
        {
            if (!_dispatcher.TryEnqueue(_payloads[i % _payloads.Length])) throw new InvalidOperationException("The dispatcher dropped a payload.");
        }
        await _dispatcher.FlushAsync();
        if (_sink.Count - before != PayloadsPerOperation) throw new InvalidOperationException($"The sink got {_sink.Count - before} payloads, expected {PayloadsPerOperation}.");
    }

    /// <summary>Reads in batches of up to 100, hands each batch to nothing, and signals when the operation's count is reached.</summary>
    private async Task ConsumeAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<StandardLoggingPayload>(100);
        while (await reader.WaitToReadAsync())
        {
            while (batch.Count < 100 && reader.TryRead(out var payload)) batch.Add(payload);
            var delivered = batch.ToArray(); // as the dispatcher does: a sink may keep its batch
            _consumed += delivered.Length;
            batch.Clear();
            if (_consumed == Volatile.Read(ref _target))
            {
                var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Interlocked.Exchange(ref _consumedTarget, next).TrySetResult();
            }
        }
    }
}
