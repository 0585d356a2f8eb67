using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmObservability.Tests;

public class DependencyInjectionTests
{
    [Test]
    public async Task A_named_client_with_the_handler_records_calls_to_every_registered_sink()
    {
        var first = new CollectingSink();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLlmObservability(o => o.ServiceName = "svc")
            .AddSink(first)
            .AddSink<SecondSink>(s => s.Events = LlmLogEvents.Success);
        services.AddHttpClient("openai").AddLlmObservability().ConfigurePrimaryHttpMessageHandler(() => StubHandler.Json("openai/chat-response.json"));

        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("openai");
        using (var response = await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        await provider.GetRequiredService<LlmLogDispatcher>().FlushAsync();

        Assert.That(first.Payloads.Single().ServiceName, Is.EqualTo("svc"));
        Assert.That(provider.GetRequiredService<SecondSink>().Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Options_bind_from_configuration()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmObservability:ServiceName"] = "from-config",
            ["LlmObservability:LogMessages"] = "false",
            ["LlmObservability:QueueCapacity"] = "123",
        }).Build();
        var services = new ServiceCollection();
        services.AddLlmObservability(configuration.GetSection("LlmObservability"));
        await using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<LlmObservabilityOptions>>().Value;
        Assert.That(options.ServiceName, Is.EqualTo("from-config"));
        Assert.That(options.LogMessages, Is.False);
        Assert.That(options.QueueCapacity, Is.EqualTo(123));
    }

    [Test]
    public void Invalid_options_fail_at_host_start_with_every_problem_named()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLlmObservability(o => { o.QueueCapacity = 0; o.MaxContentChars = -1; });
        using var host = builder.Build();
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(ex!.Failures, Has.Some.Contains("QueueCapacity").And.Some.Contains("MaxContentChars"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_host_without_a_sink_is_told_so_at_start(bool withSink)
    {
        var logs = new ListLoggerProvider();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().AddProvider(logs);
        var llm = builder.Services.AddLlmObservability();
        if (withSink) llm.AddSink(new CollectingSink());
        using var host = builder.Build();
        await host.StartAsync();
        await host.StopAsync();

        var warnings = logs.Lines.Where(l => l.Level == LogLevel.Warning && l.Text.Contains("no sinks", StringComparison.Ordinal)).ToArray();
        if (withSink)
        {
            Assert.That(warnings, Is.Empty);
        }
        else
        {
            Assert.That(warnings, Has.Length.EqualTo(1));
            Assert.That(warnings[0].Text, Does.Contain("AddConsoleSink()"));
        }
    }

    [Test]
    public void Invalid_sink_options_fail_when_the_sink_is_added()
    {
        var services = new ServiceCollection();
        var ex = Assert.Throws<ArgumentException>(() => services.AddLlmObservability().AddConsoleSink(s => s.MaxBatchSize = 0));
        Assert.That(ex!.Message, Does.Contain("console").And.Contain("MaxBatchSize"));
    }

    [Test]
    public void The_handler_without_AddLlmObservability_says_what_is_missing()
    {
        var services = new ServiceCollection();
        services.AddHttpClient("x").AddLlmObservability();
        using var provider = services.BuildServiceProvider();
        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IHttpClientFactory>().CreateClient("x"));
        Assert.That(ex!.Message, Does.Contain("services.AddLlmObservability()"));
    }

    [Test]
    public async Task Stopping_the_host_flushes_everything_queued()
    {
        var sink = new CollectingSink();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLlmObservability().AddSink(sink, s => s.BatchInterval = TimeSpan.FromHours(1));
        using var host = builder.Build();
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<LlmLogDispatcher>();
        for (var i = 0; i < 42; i++) dispatcher.TryEnqueue(PayloadFactory.Create());

        await host.StopAsync();
        Assert.That(sink.Payloads, Has.Count.EqualTo(42));
    }

    [Test]
    public async Task Console_sink_writes_one_line_per_call_through_ILogger()
    {
        var provider = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(provider).SetMinimumLevel(LogLevel.Debug));
        var sink = new ConsoleLlmLogSink(factory);
        var ok = PayloadFactory.Create() with { Id = "c1", PromptTokens = 19, CompletionTokens = 10, TtftMs = 123.4, LatencyMs = 456.7, Cost = new LlmCost { Total = 0.000148m } };
        var failed = PayloadFactory.Create(LlmCallStatus.Failure) with { Id = "c2", HttpStatus = 429, Error = new LlmError { Type = "rate_limit_error", Message = "slow down" } };

        await sink.WriteBatchAsync([ok, failed], CancellationToken.None);

        var info = provider.Lines.Where(l => l.Level >= LogLevel.Information).Select(l => l.Text).ToArray();
        Assert.That(info, Has.Length.EqualTo(2));
        Assert.That(info[0], Is.EqualTo("llm c1 openai gpt-4o-mini tokens=19→10 ttft=123.4ms latency=456.7ms cost=$0.000148 status=success"));
        Assert.That(info[1], Does.StartWith("llm c2 openai gpt-4o-mini http=429").And.Contain("status=failure error=rate_limit_error: slow down"));
        Assert.That(provider.Lines.Where(l => l.Level == LogLevel.Debug).Select(l => l.Text), Has.Some.Contains("\"id\":\"c1\""));
    }

    public sealed class SecondSink : ILlmLogSink
    {
        private int _count;
        public int Count => _count;

        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            Interlocked.Add(ref _count, batch.Count);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ListLoggerProvider : ILoggerProvider
    {
        public List<(LogLevel Level, string Text)> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new ListLogger(this);

        public void Dispose() { }

        private sealed class ListLogger(ListLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Lines) owner.Lines.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
