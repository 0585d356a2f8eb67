using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using LlmObservability.Sinks.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>
/// A container with <c>AddLlmObservability().AddHttpSink(...)</c> exactly as an app registers it, plus a handler in
/// the sink's named HttpClient (inside its resilience pipeline, so it sees every attempt) that counts attempts and
/// failures, and a capturing logger.
/// </summary>
internal sealed class HttpSinkHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private readonly TimeProvider? _time;

    private HttpSinkHarness(ServiceProvider services, CapturingLoggerProvider logs, AttemptCounter attempts, TimeProvider? time)
    {
        _services = services;
        _time = time;
        Logs = logs;
        Attempts = attempts;
        Dispatcher = services.GetRequiredService<LlmLogDispatcher>();
    }

    public LlmLogDispatcher Dispatcher { get; }

    public CapturingLoggerProvider Logs { get; }

    public AttemptCounter Attempts { get; }

    public LlmSinkStatistics Statistics => Dispatcher.GetStatistics().Sinks.Single();

    public static HttpSinkHarness Create(Uri url, Action<HttpSinkOptions>? http = null, Action<LlmSinkOptions>? sink = null, TimeProvider? time = null, Action<LlmObservabilityOptions>? observability = null)
    {
        var logs = new CapturingLoggerProvider();
        var attempts = new AttemptCounter();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(logs);
        if (time is not null) services.AddSingleton(time);
        services.AddLlmObservability(o => observability?.Invoke(o))
            .AddHttpSink(
                o =>
                {
                    o.Url = url.ToString();
                    // The pipeline's retries too: fast, and a short break once its circuit opens.
                    o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
                    o.CircuitBreakDuration = TimeSpan.FromMilliseconds(500);
                    http?.Invoke(o);
                },
                s =>
                {
                    // Fast retries so the tests run in milliseconds; each test sets what it checks.
                    s.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
                    s.RetryMaxDelay = TimeSpan.FromMilliseconds(50);
                    s.CircuitBreakerDuration = TimeSpan.FromMilliseconds(50);
                    s.BatchInterval = TimeSpan.FromHours(1); // batches go on FlushAsync
                    sink?.Invoke(s);
                });
        services.AddHttpClient(HttpSinkOptions.DefaultHttpClientName).AddHttpMessageHandler(() => new CountingHandler(attempts));
        return new HttpSinkHarness(services.BuildServiceProvider(), logs, attempts, time);
    }

    public void Enqueue(IEnumerable<Payload.StandardLoggingPayload> payloads)
    {
        foreach (var payload in payloads) Assert.That(Dispatcher.TryEnqueue(payload), Is.True);
    }

    public async ValueTask DisposeAsync() => await new ClockedDisposal(_services, _time as Microsoft.Extensions.Time.Testing.FakeTimeProvider).DisposeAsync();

    private sealed class CountingHandler(AttemptCounter counter) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                counter.Add(failed: false);
                return response;
            }
            catch (HttpRequestException)
            {
                counter.Add(failed: true);
                throw;
            }
        }
    }
}

/// <summary>Counts requests the sink tried and those that got no answer (connection refused, reset...).</summary>
internal sealed class AttemptCounter
{
    private readonly Lock _gate = new();
    private readonly List<(int Target, TaskCompletionSource Signal)> _failureWaiters = [];

    public int Attempts { get; private set; }

    public int Failures { get; private set; }

    public void Add(bool failed)
    {
        lock (_gate)
        {
            Attempts++;
            if (!failed) return;
            Failures++;
            foreach (var waiter in _failureWaiters.Where(w => w.Target <= Failures).ToList())
            {
                waiter.Signal.TrySetResult();
                _failureWaiters.Remove(waiter);
            }
        }
    }

    public Task WaitForFailuresAsync(int count)
    {
        lock (_gate)
        {
            if (Failures >= count) return Task.CompletedTask;
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _failureWaiters.Add((count, signal));
            return signal.Task;
        }
    }
}
