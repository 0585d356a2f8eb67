using System.Net.Http.Headers;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Logging;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>Where the calls go: straight back from memory, or over TCP to Kestrel on 127.0.0.1.</summary>
public enum Transport
{
    InMemory,
    Loopback,
}

/// <summary>
/// The clients a benchmark compares, all over the same kind of primary handler: a bare HttpClient; one with our
/// handler and a null sink, as users get it by default and with queues large enough that nothing is dropped; and one
/// built by IHttpClientFactory with <c>AddExtendedHttpClientLogging</c> logging request and response bodies to a logger
/// that is enabled but discards what it is given.
/// </summary>
internal sealed class BenchmarkClients : IAsyncDisposable
{
    /// <summary>
    /// Intake and sink queue capacity of the "large queue" variant: enough that a benchmark run (a few hundred
    /// thousand calls at most per iteration) never fills it, so every call's payload is built rather than dropped.
    /// </summary>
    public const int LargeQueueCapacity = 1_000_000;

    private static readonly string[] BodyContentTypes = ["application/json", "text/event-stream"];

    private readonly ServiceProvider _services;

    private BenchmarkClients(Func<HttpMessageHandler> primary)
    {
        Bare = new HttpClient(primary());

        Sink = new CountingNullSink();
        Dispatcher = new LlmLogDispatcher(Sink);
        LlmObservability = new HttpClient(new LlmObservabilityHandler(Dispatcher) { InnerHandler = primary() });

        LargeQueueSink = new CountingNullSink();
        LargeQueueDispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(LargeQueueSink, new LlmSinkOptions { QueueCapacity = LargeQueueCapacity })],
            new LlmObservabilityOptions { QueueCapacity = LargeQueueCapacity });
        LlmObservabilityLargeQueue = new HttpClient(new LlmObservabilityHandler(LargeQueueDispatcher) { InnerHandler = primary() });

        Logger = new DiscardingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.ClearProviders().AddProvider(Logger).SetMinimumLevel(LogLevel.Trace));
        services.AddRedaction(); // extended HTTP logging requires a redactor provider (for headers, path and query; bodies are logged as they are)
        services.AddHttpClient("extended")
            .ConfigurePrimaryHttpMessageHandler(primary)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan) // no handler rotation in the middle of a measurement
            .AddExtendedHttpClientLogging(options =>
            {
                options.LogBody = true;
                foreach (var type in BodyContentTypes)
                {
                    options.RequestBodyContentTypes.Add(type);
                    options.ResponseBodyContentTypes.Add(type);
                }
            });
        _services = services.BuildServiceProvider();
        ExtendedLogging = _services.GetRequiredService<IHttpClientFactory>().CreateClient("extended");
    }

    public HttpClient Bare { get; }

    public HttpClient LlmObservability { get; }

    public HttpClient LlmObservabilityLargeQueue { get; }

    public HttpClient ExtendedLogging { get; }

    public LlmLogDispatcher Dispatcher { get; }

    public LlmLogDispatcher LargeQueueDispatcher { get; }

    public CountingNullSink Sink { get; }

    public CountingNullSink LargeQueueSink { get; }

    public DiscardingLoggerProvider Logger { get; }

    public static BenchmarkClients Create(Transport transport) =>
        new(transport == Transport.InMemory ? () => new InMemoryLlmHandler() : () => new SocketsHttpHandler());

    /// <summary>
    /// One call through each client, checked: the caller gets every byte, our sink gets a payload with the usage, and
    /// the extended logger is handed both bodies. A benchmark of a pipeline that silently does nothing is worthless.
    /// </summary>
    public async Task VerifyAsync(Uri uri, bool streaming)
    {
        var buffer = new byte[16 * 1024];
        Logger.CaptureNext = true;
        var expected = streaming ? ChatFixtures.StreamBody.Length : ChatFixtures.ResponseBody.Length;
        foreach (var client in new[] { Bare, LlmObservability, LlmObservabilityLargeQueue, ExtendedLogging })
        {
            var read = await CallAsync(client, uri, streaming, buffer).ConfigureAwait(false);
            if (read != expected) throw new InvalidOperationException($"The caller read {read} bytes, expected {expected}.");
        }

        await Dispatcher.FlushAsync().ConfigureAwait(false);
        await LargeQueueDispatcher.FlushAsync().ConfigureAwait(false);
        foreach (var sink in new[] { Sink, LargeQueueSink })
        {
            var payload = sink.Last ?? throw new InvalidOperationException("The sink received no payload.");
            if (payload.Status != LlmCallStatus.Success || payload.PromptTokens != 500 || payload.Stream != streaming)
                throw new InvalidOperationException($"Unexpected payload: status {payload.Status}, prompt tokens {payload.PromptTokens}, stream {payload.Stream}.");
        }

        Logger.CaptureNext = false;
        var logged = Logger.LastState ?? throw new InvalidOperationException("The extended HTTP logger logged nothing.");
        var requestBody = logged.FirstOrDefault(p => p.Key == HttpClientLoggingTagNames.RequestBody).Value as string;
        var responseBody = logged.FirstOrDefault(p => p.Key == HttpClientLoggingTagNames.ResponseBody).Value as string;
        if (requestBody is null || requestBody.Length < 1000 || responseBody is null || responseBody.Length != expected)
            throw new InvalidOperationException($"Extended HTTP logging did not log both bodies (request {requestBody?.Length}, response {responseBody?.Length} chars).");
    }

    /// <summary>
    /// What an SDK does: POST the JSON with an API key, take the response at its headers, read the body to its end.
    /// Returns the bytes read.
    /// </summary>
    public static async Task<int> CallAsync(HttpClient client, Uri uri, bool streaming, byte[] buffer)
    {
        using var response = await SendAsync(client, uri, streaming).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var total = 0;
            int read;
            while ((read = await stream.ReadAsync(buffer).ConfigureAwait(false)) > 0) total += read;
            return total;
        }
    }

    /// <summary>Reads from an event stream until its first whole SSE event (up to its blank line) is in the buffer; returns the bytes read.</summary>
    public static async Task<int> ReadFirstEventAsync(Stream stream, byte[] buffer)
    {
        var length = 0;
        while (true)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(length)).ConfigureAwait(false);
            if (read == 0) throw new InvalidOperationException("The stream ended before its first event.");
            var searchFrom = Math.Max(0, length - 1);
            length += read;
            if (buffer.AsSpan(searchFrom, length - searchFrom).IndexOf("\n\n"u8) >= 0) return length;
        }
    }

    /// <summary>
    /// Our handler over <paramref name="primary"/> with a dispatcher that is already disposed: every record is dropped at
    /// the hand-over, so only the caller's path runs and nothing is built in the background.
    /// </summary>
    public static async Task<HttpClient> NothingBuiltAsync(HttpMessageHandler primary)
    {
        var dispatcher = new LlmLogDispatcher(new CountingNullSink());
        await dispatcher.DisposeAsync().ConfigureAwait(false);
        return new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = primary });
    }

    public static async Task<HttpResponseMessage> SendAsync(HttpClient client, Uri uri, bool streaming)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new ByteArrayContent(streaming ? ChatFixtures.StreamingRequestBody : ChatFixtures.RequestBody),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-proj-benchmark0000000000000000");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return response;
    }

    /// <summary>
    /// Counts for the run's log: how many records were accepted, dropped, delivered. The depth is read before a flush
    /// (what was still waiting to be built when the measurements ended), the other counts after it.
    /// </summary>
    public async Task<string> DescribeDispatchersAsync() =>
        $"default queue: {await DescribeAsync(Dispatcher).ConfigureAwait(false)}; large queue: {await DescribeAsync(LargeQueueDispatcher).ConfigureAwait(false)}";

    private static async Task<string> DescribeAsync(LlmLogDispatcher dispatcher)
    {
        var depth = dispatcher.GetStatistics().QueueDepth;
        using (var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2))) await dispatcher.FlushAsync(timeout.Token).ConfigureAwait(false);
        var stats = dispatcher.GetStatistics();
        var sink = stats.Sinks[0];
        return $"accepted {stats.Accepted}, dropped at intake {stats.Dropped}, sink enqueued {sink.Enqueued}, delivered {sink.Delivered}, dropped at sink {sink.Dropped}, left to build when measuring ended {depth}";
    }

    public async ValueTask DisposeAsync()
    {
        Bare.Dispose();
        LlmObservability.Dispose();
        LlmObservabilityLargeQueue.Dispose();
        ExtendedLogging.Dispose();
        await Dispatcher.DisposeAsync().ConfigureAwait(false);
        await LargeQueueDispatcher.DisposeAsync().ConfigureAwait(false);
        await _services.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>A sink that does nothing with its batches but count them (and keep the last payload, for the set-up check).</summary>
internal sealed class CountingNullSink : ILlmLogSink
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public StandardLoggingPayload? Last { get; private set; }

    public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _count, batch.Count);
        if (batch.Count > 0) Last = batch[^1];
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A logger that is enabled at every level (so the extended HTTP logger does all its work) and drops every entry,
/// copying the last state only while <see cref="CaptureNext"/> is set, for the set-up check. The counterpart of our
/// null sink.
/// </summary>
internal sealed class DiscardingLoggerProvider : ILoggerProvider, ILogger
{
    /// <summary>Set during the set-up check only: the logger's state objects are pooled, so they are copied.</summary>
    public bool CaptureNext { get; set; }

    public IReadOnlyList<KeyValuePair<string, object?>>? LastState { get; private set; }

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (CaptureNext && state is IReadOnlyList<KeyValuePair<string, object?>> pairs) LastState = [.. pairs];
    }

    public void Dispose()
    {
    }
}
