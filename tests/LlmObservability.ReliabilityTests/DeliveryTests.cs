using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmObservability.ReliabilityTests;

/// <summary>Isolation, no loss, exact accounting under overflow, shutdown and bounded memory, with numbers printed.</summary>
public class DeliveryTests
{
    private static readonly byte[] ResponseBody = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "openai", "chat-response.json"));
    private static readonly byte[] RequestBody = Encoding.UTF8.GetBytes("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

    /// <summary>A provider answering from memory, so the figures measure the library, not a network.</summary>
    private sealed class InMemoryProvider : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(ResponseBody), RequestMessage = request };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return Task.FromResult(response);
        }
    }

    /// <summary>Counts every record by ID, so duplicates and losses both show.</summary>
    private sealed class CountingSink : ILlmLogSink
    {
        private readonly ConcurrentDictionary<string, int> _seen = new();
        public volatile bool Down;
        public int Distinct => _seen.Count;
        public int Duplicates => _seen.Values.Sum(v => v - 1);

        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            if (Down) throw new HttpRequestException("sink unavailable (test)");
            foreach (var p in batch) _seen.AddOrUpdate(p.Id, 1, (_, n) => n + 1);
            return ValueTask.CompletedTask;
        }
    }

    private static async Task<int> CallManyAsync(HttpClient client, int calls, int concurrency)
    {
        var sent = 0;
        await Parallel.ForAsync(0, calls, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (_, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "https://api.openai.com/v1/chat/completions") { Content = new ByteArrayContent(RequestBody) };
            using var response = await client.SendAsync(request, ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            Interlocked.Increment(ref sent);
        });
        return sent;
    }

    [Test]
    public async Task No_loss_100000_calls_from_64_tasks_all_arrive_exactly_once()
    {
        var sink = new CountingSink();
        // Queues sized for the burst: this test is about loss without overflow (overflow has its own test below).
        var options = new LlmObservabilityOptions { QueueCapacity = 200_000 };
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { QueueCapacity = 200_000, MaxBatchSize = 1000 })], options);
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new InMemoryProvider() });

        var watch = Stopwatch.StartNew();
        var sent = await CallManyAsync(client, 100_000, 64);
        var callsDone = watch.Elapsed;
        await dispatcher.FlushAsync();
        var stats = dispatcher.GetStatistics();

        Figures.Print("no-loss", ("calls", sent), ("received", sink.Distinct), ("duplicates", sink.Duplicates), ("dropped", stats.Dropped + stats.Sinks[0].Dropped),
            ("max_queue_depth", stats.Sinks[0].MaxQueueDepth), ("calls_seconds", callsDone.TotalSeconds.ToString("0.00")), ("drained_seconds", watch.Elapsed.TotalSeconds.ToString("0.00")));
        Assert.That(sent, Is.EqualTo(100_000));
        Assert.That(sink.Distinct, Is.EqualTo(sent));
        Assert.That(sink.Duplicates, Is.Zero);
    }

    [Test]
    public async Task A_sink_down_for_less_than_its_queue_holds_gets_everything_after_recovery()
    {
        var sink = new CountingSink { Down = true };
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions
        {
            QueueCapacity = 20_000, MaxBatchSize = 500, MaxRetries = 1_000_000,
            RetryBaseDelay = TimeSpan.FromMilliseconds(5), RetryMaxDelay = TimeSpan.FromMilliseconds(20),
        })]);
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new InMemoryProvider() });

        var sent = await CallManyAsync(client, 10_000, 16);
        var queuedWhileDown = dispatcher.GetStatistics().Sinks[0].QueueDepth;
        sink.Down = false;
        await dispatcher.FlushAsync();
        var stats = dispatcher.GetStatistics().Sinks[0];

        Figures.Print("sink-down-then-up", ("calls", sent), ("queued_while_down", queuedWhileDown), ("received", sink.Distinct), ("duplicates", sink.Duplicates), ("dropped", stats.Dropped), ("failed", stats.Failed));
        Assert.That(sink.Distinct, Is.EqualTo(sent));
        Assert.That(sink.Duplicates, Is.Zero);
        Assert.That(stats.Dropped + stats.Failed, Is.Zero);
    }

    [Test]
    public async Task With_overflow_received_plus_dropped_equals_sent_exactly()
    {
        var sink = new CountingSink();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocking = new GatedSink(sink, gate.Task);
        await using var dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(blocking, new LlmSinkOptions { QueueCapacity = 1_000, MaxBatchSize = 100 })],
            new LlmObservabilityOptions { QueueCapacity = 2_000 });
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new InMemoryProvider() });

        var sent = await CallManyAsync(client, 50_000, 32);
        gate.SetResult();
        await dispatcher.FlushAsync();
        var stats = dispatcher.GetStatistics();
        var dropped = stats.Dropped + stats.Sinks[0].Dropped;

        Figures.Print("overflow", ("calls", sent), ("received", sink.Distinct), ("dropped_intake", stats.Dropped), ("dropped_sink", stats.Sinks[0].Dropped), ("max_queue_depth", stats.Sinks[0].MaxQueueDepth));
        Assert.That(dropped, Is.GreaterThan(0), "the queues did overflow");
        Assert.That(sink.Distinct + dropped, Is.EqualTo(sent));
        Assert.That(stats.Sinks[0].MaxQueueDepth, Is.LessThanOrEqualTo(1_000));
    }

    private sealed class GatedSink(ILlmLogSink inner, Task gate) : ILlmLogSink
    {
        public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            await gate;
            await inner.WriteBatchAsync(batch, cancellationToken);
        }
    }

    [Test]
    public async Task Throwing_hanging_and_slow_sinks_do_not_hold_calls_or_other_sinks()
    {
        var good = new CountingSink();
        var slow = new SlowSink();
        await using var dispatcher = new LlmLogDispatcher([
            new LlmSinkRegistration(new ThrowingSink(), new LlmSinkOptions { Name = "throws", MaxRetries = 1, RetryBaseDelay = TimeSpan.FromMilliseconds(1), RetryMaxDelay = TimeSpan.FromMilliseconds(1) }),
            new LlmSinkRegistration(new HangingSink(), new LlmSinkOptions { Name = "hangs", QueueCapacity = 1_000, MaxRetries = 0, WriteTimeout = TimeSpan.FromMilliseconds(200) }),
            new LlmSinkRegistration(slow, new LlmSinkOptions { Name = "slow", QueueCapacity = 1_000, MaxBatchSize = 10 }),
            new LlmSinkRegistration(good, new LlmSinkOptions { Name = "good", QueueCapacity = 50_000 }),
        ], new LlmObservabilityOptions { QueueCapacity = 50_000, ShutdownTimeout = TimeSpan.FromSeconds(2) });
        await using var baselineDispatcher = new LlmLogDispatcher([new LlmSinkRegistration(new CountingSink(), new LlmSinkOptions { QueueCapacity = 50_000 })], new LlmObservabilityOptions { QueueCapacity = 50_000 });
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new InMemoryProvider() });
        using var baselineClient = new HttpClient(new LlmObservabilityHandler(baselineDispatcher) { InnerHandler = new InMemoryProvider() });

        var watch = Stopwatch.StartNew();
        await CallManyAsync(baselineClient, 20_000, 16);
        var baseline = watch.Elapsed;
        watch.Restart();
        var sent = await CallManyAsync(client, 20_000, 16);
        var withBadSinks = watch.Elapsed;
        await dispatcher.FlushAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var stats = dispatcher.GetStatistics().Sinks.ToDictionary(s => s.Name);

        Figures.Print("isolation", ("calls", sent), ("seconds_good_sink_only", baseline.TotalSeconds.ToString("0.00")), ("seconds_with_bad_sinks", withBadSinks.TotalSeconds.ToString("0.00")),
            ("good_received", good.Distinct), ("throws_failed", stats["throws"].Failed), ("hangs_failed", stats["hangs"].Failed), ("hangs_dropped", stats["hangs"].Dropped),
            ("slow_delivered", stats["slow"].Delivered), ("slow_dropped", stats["slow"].Dropped));
        Assert.That(good.Distinct, Is.EqualTo(sent), "the healthy sink gets everything");
        foreach (var name in new[] { "throws", "hangs", "slow" })
        {
            var s = stats[name];
            Assert.That(s.Delivered + s.Failed + s.Dropped, Is.EqualTo(sent), $"every record of '{name}' is accounted for");
        }
    }

    private sealed class ThrowingSink : ILlmLogSink
    {
        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken) => throw new InvalidOperationException("broken sink (test)");
    }

    private sealed class HangingSink : ILlmLogSink
    {
        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken) => new(new TaskCompletionSource().Task);
    }

    private sealed class SlowSink : ILlmLogSink
    {
        public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken) => await Task.Delay(2, cancellationToken);
    }

    [Test]
    public async Task Host_stop_flushes_everything_queued_within_the_shutdown_timeout()
    {
        var sink = new CountingSink();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLlmObservability(o => o.QueueCapacity = 50_000).AddSink(sink, s => { s.QueueCapacity = 50_000; s.BatchInterval = TimeSpan.FromMinutes(10); });
        builder.Services.AddHttpClient("llm").AddLlmObservability().ConfigurePrimaryHttpMessageHandler(() => new InMemoryProvider());
        using var host = builder.Build();
        await host.StartAsync();
        var client = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("llm");
        var sent = await CallManyAsync(client, 20_000, 16);

        var watch = Stopwatch.StartNew();
        await host.StopAsync();
        Figures.Print("host-stop", ("calls", sent), ("received", sink.Distinct), ("stop_seconds", watch.Elapsed.TotalSeconds.ToString("0.00")));
        Assert.That(sink.Distinct, Is.EqualTo(sent));
    }

    [Test]
    public async Task A_console_app_that_flushes_before_exiting_loses_nothing()
    {
        var sink = new CountingSink();
        var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.FromMinutes(10) })]);
        using (var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new InMemoryProvider() }))
        {
            var sent = await CallManyAsync(client, 5_000, 8);
            await dispatcher.FlushAsync();
            Assert.That(sink.Distinct, Is.EqualTo(sent), "FlushAsync alone delivers everything");
        }
        await dispatcher.DisposeAsync();
    }

    // Second in the process, for the reason given on the test before it.
    [Test]
    [Order(1)]
    public async Task Memory_stays_bounded_by_the_queues_when_calls_through_the_handler_outrun_a_slow_sink()
    {
        // Through the handler, so what waits in the intake is what a real backlog holds: each record's pooled copies of
        // its request body and of its response (a whole body or a stream's raw reads), not a prebuilt payload.
        const int intakeCapacity = 2_000, sinkCapacity = 2_000, calls = 100_000;
        var slow = new SlowSink();
        await using var dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(slow, new LlmSinkOptions { QueueCapacity = sinkCapacity, MaxBatchSize = 100 })],
            new LlmObservabilityOptions { QueueCapacity = intakeCapacity, ShutdownTimeout = TimeSpan.FromSeconds(1) });
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = new SizedProvider() });
        var prose = string.Concat(Enumerable.Range(0, 400).Select(i => $"Sentence {i} of a long prompt about the weather. "));

        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long peakFirstQuarter = 0, peak = 0;
        for (var i = 0; i < calls; i++)
        {
            var stream = i % 2 == 1;
            // ~4 KB of request text, different in every call so that no record shares another's strings.
            var text = prose.Substring(i % 1_000, 4_000);
            var body = $$"""{"model":"gpt-4o-mini","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"{{text}} #{{i}}"}]}""";
            using (var request = new HttpRequestMessage(HttpMethod.Post, "https://api.openai.com/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") })
            using (var response = await client.SendAsync(request))
            {
                await response.Content.ReadAsByteArrayAsync();
            }
            if (i % 5_000 == 0)
            {
                var live = GC.GetTotalMemory(forceFullCollection: true) - before;
                peak = Math.Max(peak, live);
                if (i <= calls / 4) peakFirstQuarter = peak;
            }
        }
        peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - before);
        var stats = dispatcher.GetStatistics();
        // A waiting record holds ~4 KB of request and up to ~19 KB of response reads; a built payload the same texts as
        // strings. Generous per record, so the bound only fails if something is kept beyond the queues.
        var bound = (long)intakeCapacity * 48 * 1_024 + (long)sinkCapacity * 48 * 1_024 + (64L << 20);
        var growth = peak - peakFirstQuarter;

        Figures.Print("memory_handler", ("calls", calls), ("dropped_intake", stats.Dropped), ("dropped_sink", stats.Sinks[0].Dropped),
            ("peak_first_quarter_mb", (peakFirstQuarter / 1024.0 / 1024.0).ToString("0.0")), ("peak_live_managed_mb", (peak / 1024.0 / 1024.0).ToString("0.0")),
            ("bound_mb", (bound / 1024.0 / 1024.0).ToString("0.0")));
        Assert.That(stats.Dropped + stats.Sinks[0].Dropped, Is.GreaterThan(0), "the calls outran the sink, so the queues were full");
        Assert.That(peak, Is.LessThan(bound));
        // Full queues hold the same amount whatever the number of calls: 75,000 more calls must not add a record's worth each.
        Assert.That(growth, Is.LessThan(32L << 20), $"live memory grew by {growth / 1024.0 / 1024.0:0.0} MB after the first quarter");
    }

    /// <summary>Answers a whole ~4 KB chat completion, or a ~19 KB stream of 50 chunks (and usage, and [DONE]) when the request asks for one.</summary>
    private sealed class SizedProvider : HttpMessageHandler
    {
        private static readonly byte[] Whole = Encoding.UTF8.GetBytes(
            $$$"""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"{{{new string('w', 4_000)}}}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":900,"completion_tokens":800,"total_tokens":1700}}""");

        private static readonly byte[] Stream = Encoding.UTF8.GetBytes(string.Concat(
            Enumerable.Range(0, 50).Select(i => $$"""data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"{{new string('s', 200)}} {{i}}"},"finish_reason":null}]}""" + "\n\n"))
            + "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],\"usage\":{\"prompt_tokens\":900,\"completion_tokens\":800,\"total_tokens\":1700}}\n\ndata: [DONE]\n\n");

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var stream = (await request.Content!.ReadAsStringAsync(cancellationToken)).Contains("\"stream\":true", StringComparison.Ordinal);
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(stream ? Stream : Whole), RequestMessage = request };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue(stream ? "text/event-stream" : "application/json");
            return response;
        }
    }

    // First in the process: after a Generic Host has run under parallel load in this test process, even plain
    // allocations stay reachable for a while (seen without any dispatcher at all), which would blur this measure.
    [Test]
    [Order(0)]
    public async Task Memory_stays_bounded_by_the_queues_over_a_million_payloads_through_a_slow_sink()
    {
        var slow = new SlowSink();
        const int intakeCapacity = 10_000, sinkCapacity = 10_000;
        await using var dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(slow, new LlmSinkOptions { QueueCapacity = sinkCapacity, MaxBatchSize = 100 })],
            new LlmObservabilityOptions { QueueCapacity = intakeCapacity, ShutdownTimeout = TimeSpan.FromSeconds(1) });
        var template = new StandardLoggingPayload
        {
            Id = "template",
            Provider = "openai",
            RequestedModel = "gpt-4o-mini",
            Messages = [new LlmMessage { Role = "user", Content = new string('m', 1_000) }],
            Response = new LlmResponseOutput { Text = new string('r', 1_000) },
        };

        GC.Collect();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;
        var accepted = 0;
        for (var i = 0; i < 1_000_000; i++)
        {
            if (dispatcher.TryEnqueue(template with { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture) })) accepted++;
            // Live memory (after a full collection) at checkpoints: what the queues hold, not garbage awaiting collection.
            if (i % 50_000 == 0) peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - before);
        }
        peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - before);
        var stats = dispatcher.GetStatistics();
        // Each queued payload is a record of ~40 fields sharing the template's strings: well under 1 KB apiece.
        var bound = (long)(intakeCapacity + sinkCapacity) * 1_024 + (64L << 20);

        Figures.Print("memory", ("payloads", 1_000_000), ("accepted", accepted), ("dropped_intake", stats.Dropped), ("dropped_sink", stats.Sinks[0].Dropped),
            ("peak_live_managed_mb", (peak / 1024.0 / 1024.0).ToString("0.0")), ("bound_mb", (bound / 1024.0 / 1024.0).ToString("0.0")));
        Assert.That(peak, Is.LessThan(bound));
    }
}
