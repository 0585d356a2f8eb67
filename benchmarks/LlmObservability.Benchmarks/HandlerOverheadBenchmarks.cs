using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;

namespace LlmObservability.Benchmarks;

/// <summary>
/// The cost of one chat call as the caller pays it (send, read the body to its end), non-streaming (~2 KB each way)
/// and streaming (50 chunk events + usage + [DONE]), over an in-memory transport (where nothing hides the pipeline)
/// and over loopback Kestrel (a real HTTP/1.1 call). Baseline: a bare HttpClient. Compared: our handler with a null
/// sink (default queues, and queues so large nothing is dropped) and Microsoft.Extensions.Http.Diagnostics'
/// extended HTTP logging with request and response bodies on.
/// </summary>
/// <remarks>
/// MemoryDiagnoser counts the allocations of every thread, so our rows include the dispatcher's background work
/// (building each payload, batching it to the sink) done during the measured iterations, and the extended-logging rows
/// include its background body pump. Records the dispatcher dropped (queue full) were not built, so their building
/// is not counted: the dispatcher statistics printed at the end of each case say how many that was.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(CaptureAllocationConfig))]
public class HandlerOverheadBenchmarks
{
    private readonly byte[] _buffer = new byte[16 * 1024];
    private BenchmarkClients _clients = null!;
    private LoopbackLlmServer? _server;
    private Uri _uri = null!;

    [Params(Transport.InMemory, Transport.Loopback)]
    public Transport Transport { get; set; }

    [Params(false, true)]
    public bool Streaming { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        if (Transport == Transport.Loopback)
        {
            _server = await LoopbackLlmServer.StartAsync();
            _uri = _server.ChatUri;
        }
        else
        {
            _uri = new Uri("https://api.openai.com" + ChatFixtures.ChatPath);
        }
        _clients = BenchmarkClients.Create(Transport);
        await _clients.VerifyAsync(_uri, Streaming);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        Console.WriteLine($"// Dispatchers at the end ({Transport}, streaming {Streaming}): {await _clients.DescribeDispatchersAsync()}");
        await _clients.DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<int> Bare() => BenchmarkClients.CallAsync(_clients.Bare, _uri, Streaming, _buffer);

    [Benchmark]
    public Task<int> LlmObservability() => BenchmarkClients.CallAsync(_clients.LlmObservability, _uri, Streaming, _buffer);

    [Benchmark]
    public Task<int> LlmObservabilityLargeQueue() => BenchmarkClients.CallAsync(_clients.LlmObservabilityLargeQueue, _uri, Streaming, _buffer);

    [Benchmark]
    public Task<int> ExtendedHttpLogging() => BenchmarkClients.CallAsync(_clients.ExtendedLogging, _uri, Streaming, _buffer);
}
