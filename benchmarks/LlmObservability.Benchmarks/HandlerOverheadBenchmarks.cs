using System.Net;
using System.Net.Http.Headers;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmObservability;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;

namespace LlmObservability.Benchmarks;

/// <summary>
/// The cost the handler adds to one non-streaming chat call (about 2 KB each way) over an in-memory transport, where
/// nothing else hides it. Baseline: the same HttpClient without the handler.
/// </summary>
[MemoryDiagnoser]
public class HandlerOverheadBenchmarks
{
    private static readonly byte[] RequestBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"gpt-4o-mini","temperature":0.2,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"{{new string('q', 1900)}}"}]}""");

    private static readonly byte[] ResponseBody = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":" """
        + new string('a', 1750)
        + """ ","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":500,"completion_tokens":450,"total_tokens":950,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}""");

    private HttpClient _bare = null!;
    private HttpClient _observed = null!;
    private LlmLogDispatcher _dispatcher = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bare = new HttpClient(new InMemoryProvider());
        _dispatcher = new LlmLogDispatcher(new NullSink());
        _observed = new HttpClient(new LlmObservabilityHandler(_dispatcher) { InnerHandler = new InMemoryProvider() });
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        _bare.Dispose();
        _observed.Dispose();
        await _dispatcher.DisposeAsync();
    }

    [Benchmark(Baseline = true)]
    public Task<int> Bare() => CallAsync(_bare);

    [Benchmark]
    public Task<int> WithHandler() => CallAsync(_observed);

    private static async Task<int> CallAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://api.openai.com/v1/chat/completions") { Content = new ByteArrayContent(RequestBody) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.SendAsync(request).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        return body.Length;
    }

    private sealed class InMemoryProvider : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(ResponseBody), RequestMessage = request };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return Task.FromResult(response);
        }
    }

    private sealed class NullSink : ILlmLogSink
    {
        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
