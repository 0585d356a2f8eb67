using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Time to first chunk as the caller sees it: from the start of SendAsync to the first SSE event read from the body,
/// over loopback Kestrel. The server sends the first event at once, then the other 51, either straight after it
/// (PauseMs = 0) or after a pause standing for the model still generating (PauseMs = 20). Each invocation measures
/// one call up to its first event; the rest of the stream is read (and the call completed) in the iteration cleanup,
/// outside the measurement. One call per iteration, so the iteration count is fixed high (200) whatever the job: the
/// median of 200 single calls is what to read. Baseline: a bare HttpClient. LlmObservabilityNothingBuilt is ours with
/// a disposed dispatcher, so no payload of an earlier call is being built while a call is measured.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
[WarmupCount(10)]
[IterationCount(200)]
[MedianColumn]
public class TimeToFirstChunkBenchmarks
{
    private readonly byte[] _buffer = new byte[16 * 1024];
    private BenchmarkClients _clients = null!;
    private HttpClient _nothingBuilt = null!;
    private LoopbackLlmServer _server = null!;
    private HttpResponseMessage? _response;
    private Stream? _stream;

    [Params(0, 20)]
    public int PauseMs { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _server = await LoopbackLlmServer.StartAsync(TimeSpan.FromMilliseconds(PauseMs));
        _clients = BenchmarkClients.Create(Transport.Loopback);
        await _clients.VerifyAsync(_server.ChatUri, streaming: true);
        _nothingBuilt = await BenchmarkClients.NothingBuiltAsync(new SocketsHttpHandler());
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        Console.WriteLine($"// Dispatchers at the end (pause {PauseMs} ms): {await _clients.DescribeDispatchersAsync()}");
        await _clients.DisposeAsync();
        _nothingBuilt.Dispose();
        await _server.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<int> Bare() => FirstEventAsync(_clients.Bare);

    [Benchmark]
    public Task<int> LlmObservability() => FirstEventAsync(_clients.LlmObservability);

    [Benchmark]
    public Task<int> ExtendedHttpLogging() => FirstEventAsync(_clients.ExtendedLogging);

    /// <summary>Our handler with a disposed dispatcher: the caller's path alone, with no payload built in the background.</summary>
    [Benchmark]
    public Task<int> LlmObservabilityNothingBuilt() => FirstEventAsync(_nothingBuilt);

    /// <summary>Reads the rest of the stream of the call just measured, and ends the call.</summary>
    [IterationCleanup]
    public void FinishCall()
    {
        if (_stream is not null)
        {
            while (_stream.Read(_buffer) > 0)
            {
            }
            _stream.Dispose();
            _stream = null;
        }
        _response?.Dispose();
        _response = null;
    }

    private async Task<int> FirstEventAsync(HttpClient client)
    {
        _response = await BenchmarkClients.SendAsync(client, _server.ChatUri, streaming: true).ConfigureAwait(false);
        _stream = await _response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        return await BenchmarkClients.ReadFirstEventAsync(_stream, _buffer).ConfigureAwait(false);
    }
}
