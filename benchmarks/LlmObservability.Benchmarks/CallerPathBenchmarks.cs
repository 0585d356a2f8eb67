using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;

namespace LlmObservability.Benchmarks;

/// <summary>
/// What one call costs the caller's thread alone, over the in-memory transport: the handler in front of a dispatcher
/// that is already disposed, so every record is released as soon as it is handed over (its pooled buffers go back)
/// and nothing is built. Against a bare client. The payload build that normally follows is in PayloadBenchmarks and
/// StreamCaptureBenchmarks.
/// </summary>
[MemoryDiagnoser]
public class CallerPathBenchmarks
{
    private readonly Uri _uri = new("https://api.openai.com/v1/chat/completions");
    private readonly byte[] _buffer = new byte[16 * 1024];
    private HttpClient _bare = null!;
    private HttpClient _observed = null!;

    [Params(false, true)]
    public bool Streaming { get; set; }

    [GlobalSetup]
    public async Task Setup()
    {
        _bare = new HttpClient(new InMemoryLlmHandler());
        _observed = await BenchmarkClients.NothingBuiltAsync(new InMemoryLlmHandler());
    }

    [Benchmark(Baseline = true)]
    public Task<int> Bare() => BenchmarkClients.CallAsync(_bare, _uri, Streaming, _buffer);

    [Benchmark]
    public Task<int> Observed() => BenchmarkClients.CallAsync(_observed, _uri, Streaming, _buffer);
}
