using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Tests.Dispatch;

/// <summary>How the dispatcher's one retry loop uses what sinks report through <see cref="LlmSinkWriteException"/>.</summary>
public class DispatcherResilienceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Records_a_sink_reports_as_written_are_not_passed_again()
    {
        var sink = new ScriptedSink(
            (_, _) => throw new LlmSinkWriteException("second request failed") { CompletedCount = 2 },
            (_, _) => Task.CompletedTask);
        await using var dispatcher = Create(sink);
        var sent = Enqueue(dispatcher, 5);

        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(sink.Calls, Has.Count.EqualTo(2));
        Assert.That(sink.Calls[1], Is.EqualTo(sent.Skip(2).Select(p => p.Id)), "only the records not yet written");
        Assert.That(Stats(dispatcher), Has.Property("Delivered").EqualTo(5).And.Property("Failed").EqualTo(0));
    }

    [Test]
    public async Task A_permanent_failure_is_not_retried_and_the_rest_of_the_batch_is_counted_as_rejected()
    {
        var logs = new CapturingLoggerFactory();
        var sink = new ScriptedSink((_, _) => throw new LlmSinkWriteException("401 Unauthorized") { CompletedCount = 1, IsPermanent = true });
        await using var dispatcher = Create(sink, logs: logs);
        Enqueue(dispatcher, 5);

        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(sink.Calls, Has.Count.EqualTo(1));
        Assert.That(Stats(dispatcher), Has.Property("Delivered").EqualTo(1).And.Property("Rejected").EqualTo(4).And.Property("Failed").EqualTo(0));
        var error = logs.Entries.Single(e => e.Level == LogLevel.Error);
        Assert.That(error.EventId, Is.EqualTo(12));
        Assert.That(error.Exception!.Message, Is.EqualTo("401 Unauthorized"));
    }

    [Test]
    public async Task Records_rejected_among_written_ones_are_counted_without_a_retry()
    {
        var sink = new ScriptedSink((batch, _) => throw new LlmSinkWriteException("400 for one request") { CompletedCount = batch.Count, RejectedCount = 2 });
        await using var dispatcher = Create(sink);
        Enqueue(dispatcher, 5);

        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(sink.Calls, Has.Count.EqualTo(1));
        Assert.That(Stats(dispatcher), Has.Property("Delivered").EqualTo(3).And.Property("Rejected").EqualTo(2).And.Property("Failed").EqualTo(0));
    }

    [Test]
    public async Task Rejections_are_logged_as_errors_once_until_a_batch_is_delivered_in_full()
    {
        var logs = new CapturingLoggerFactory();
        Task Reject(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken _) => throw new LlmSinkWriteException("403") { IsPermanent = true };
        var sink = new ScriptedSink(Reject, Reject, Reject, (_, _) => Task.CompletedTask, Reject);
        await using var dispatcher = Create(sink, s => s.MaxBatchSize = 1, logs);
        Enqueue(dispatcher, 5);

        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(Stats(dispatcher), Has.Property("Delivered").EqualTo(1).And.Property("Rejected").EqualTo(4));
        Assert.That(logs.Entries.Where(e => e.EventId == 12).Select(e => e.Level), Is.EqualTo(new[] { LogLevel.Error, LogLevel.Error }), "the first, and the first after a success");
        Assert.That(logs.Entries.Count(e => e.EventId == 13 && e.Level == LogLevel.Debug), Is.EqualTo(2));
    }

    [Test]
    public async Task Retry_after_sets_the_delay_up_to_RetryMaxDelay()
    {
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerFactory();
        var sink = new ScriptedSink(
            (_, _) => throw new LlmSinkWriteException("429") { RetryAfter = TimeSpan.FromSeconds(20) },
            (_, _) => throw new LlmSinkWriteException("429") { RetryAfter = TimeSpan.FromMinutes(10) },
            (_, _) => Task.CompletedTask);
        var dispatcher = Create(sink, s =>
        {
            s.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
            s.RetryMaxDelay = TimeSpan.FromMinutes(1);
        }, logs, time);
        await using var disposal = new ClockedDisposal(dispatcher, time);
        Enqueue(dispatcher, 1);

        var flush = dispatcher.FlushAsync();
        var first = await logs.WaitForAsync(e => e.EventId == 10, 1).WaitAsync(Wait);
        Assert.That(first.Values["Delay"], Is.EqualTo(TimeSpan.FromSeconds(20)));
        time.Advance(TimeSpan.FromSeconds(20));
        var second = await logs.WaitForAsync(e => e.EventId == 10, 2).WaitAsync(Wait);
        Assert.That(second.Values["Delay"], Is.EqualTo(TimeSpan.FromMinutes(1)), "capped at RetryMaxDelay");
        time.Advance(TimeSpan.FromMinutes(1));
        await flush.WaitAsync(Wait);

        Assert.That(sink.Calls, Has.Count.EqualTo(3));
    }

    [Test]
    public async Task An_open_circuit_makes_no_attempt_until_its_break_ends_and_waiting_spends_no_retries()
    {
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerFactory();
        // Fails 3 times (opening the circuit), then works.
        var sink = new ScriptedSink(Fail, Fail, Fail, (_, _) => Task.CompletedTask);
        var dispatcher = Create(sink, s =>
        {
            s.MaxBatchSize = 1;
            s.MaxRetries = 1;
            s.RetryBaseDelay = TimeSpan.FromSeconds(1);
            s.RetryMaxDelay = TimeSpan.FromSeconds(1);
            s.CircuitBreakerThreshold = 3;
            s.CircuitBreakerDuration = TimeSpan.FromMinutes(1);
        }, logs, time);
        await using var disposal = new ClockedDisposal(dispatcher, time);
        var sent = Enqueue(dispatcher, 2);

        var flush = dispatcher.FlushAsync();
        // Batch 1: fails, retries after 1 s, fails again: its retries are spent.
        await sink.WaitForCallsAsync(1).WaitAsync(Wait);
        await logs.WaitForAsync(e => e.EventId == 10, 1).WaitAsync(Wait);
        time.Advance(TimeSpan.FromSeconds(1));
        await logs.WaitForAsync(e => e.EventId == 11, 1).WaitAsync(Wait);
        // Batch 2: its first attempt fails too and opens the circuit; its one retry waits for the break.
        await sink.WaitForCallsAsync(3).WaitAsync(Wait);
        var retry = await logs.WaitForAsync(e => e.EventId == 10, 2).WaitAsync(Wait);
        Assert.That(logs.Entries.Count(e => e.EventId == 14), Is.EqualTo(1), "circuit opened");
        Assert.That(retry.Values["Delay"], Is.EqualTo(TimeSpan.FromMinutes(1)), "the break, not the 1 s backoff");

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.That(sink.Calls, Has.Count.EqualTo(3), "no attempt while the circuit is open");
        time.Advance(TimeSpan.FromSeconds(1));
        await flush.WaitAsync(Wait);

        Assert.That(sink.Calls[3], Is.EqualTo(new[] { sent[1].Id }), "the trial write carries batch 2");
        Assert.That(Stats(dispatcher), Has.Property("Delivered").EqualTo(1).And.Property("Failed").EqualTo(1));
        Assert.That(logs.Entries.Count(e => e.EventId == 15), Is.EqualTo(1), "circuit closed");
    }

    [Test]
    public async Task While_the_circuit_is_open_the_next_batch_waits_for_the_break_before_its_first_attempt()
    {
        var time = new FakeTimeProvider();
        var logs = new CapturingLoggerFactory();
        var sink = new ScriptedSink(Fail, Fail, (_, _) => Task.CompletedTask);
        var dispatcher = Create(sink, s =>
        {
            s.MaxBatchSize = 1;
            s.MaxRetries = 1;
            s.RetryBaseDelay = TimeSpan.FromSeconds(1);
            s.RetryMaxDelay = TimeSpan.FromSeconds(1);
            s.CircuitBreakerThreshold = 2;
            s.CircuitBreakerDuration = TimeSpan.FromMinutes(1);
        }, logs, time);
        await using var disposal = new ClockedDisposal(dispatcher, time);
        Enqueue(dispatcher, 2);

        var flush = dispatcher.FlushAsync();
        await logs.WaitForAsync(e => e.EventId == 10, 1).WaitAsync(Wait);
        time.Advance(TimeSpan.FromSeconds(1));
        await logs.WaitForAsync(e => e.EventId == 11, 1).WaitAsync(Wait); // batch 1 gave up; the circuit is open

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.That(sink.Calls, Has.Count.EqualTo(2), "batch 2 has not been tried");
        time.Advance(TimeSpan.FromSeconds(1));
        await flush.WaitAsync(Wait);

        Assert.That(sink.Calls, Has.Count.EqualTo(3));
        Assert.That(Stats(dispatcher), Has.Property("Delivered").EqualTo(1).And.Property("Failed").EqualTo(1));
    }

    [Test]
    public async Task A_sink_that_honours_its_write_timeout_can_still_report_what_it_wrote()
    {
        var sink = new ScriptedSink(
            async (_, token) =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException ex)
                {
                    throw new LlmSinkWriteException("timed out after two records", ex) { CompletedCount = 2 };
                }
            },
            (_, _) => Task.CompletedTask);
        await using var dispatcher = Create(sink, s => s.WriteTimeout = TimeSpan.FromMilliseconds(50));
        var sent = Enqueue(dispatcher, 5);

        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(sink.Calls[1], Is.EqualTo(sent.Skip(2).Select(p => p.Id)));
        Assert.That(Stats(dispatcher).Delivered, Is.EqualTo(5));
    }

    [Test]
    public void Circuit_breaker_settings_are_validated()
    {
        var errors = new LlmSinkOptions { CircuitBreakerThreshold = -1 }.GetValidationErrors();
        Assert.That(errors, Has.One.Contains("CircuitBreakerThreshold"));
        errors = new LlmSinkOptions { CircuitBreakerThreshold = 3, CircuitBreakerDuration = TimeSpan.Zero }.GetValidationErrors();
        Assert.That(errors, Has.One.Contains("CircuitBreakerDuration"));
        Assert.That(new LlmSinkOptions { CircuitBreakerDuration = TimeSpan.Zero }.GetValidationErrors(), Is.Empty, "ignored while the breaker is off");
    }

    private static Task Fail(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken token) => throw new HttpRequestException("connection refused (test)");

    private static LlmLogDispatcher Create(ILlmLogSink sink, Action<LlmSinkOptions>? configure = null, ILoggerFactory? logs = null, TimeProvider? time = null)
    {
        var options = new LlmSinkOptions
        {
            BatchInterval = TimeSpan.FromHours(1),
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
            RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        };
        configure?.Invoke(options);
        return new LlmLogDispatcher([new LlmSinkRegistration(sink, options)], timeProvider: time, loggerFactory: logs);
    }

    private static List<StandardLoggingPayload> Enqueue(LlmLogDispatcher dispatcher, int count)
    {
        var payloads = Enumerable.Range(0, count).Select(_ => PayloadFactory.Create()).ToList();
        foreach (var payload in payloads) Assert.That(dispatcher.TryEnqueue(payload), Is.True);
        return payloads;
    }

    private static LlmSinkStatistics Stats(LlmLogDispatcher dispatcher) => dispatcher.GetStatistics().Sinks.Single();

    /// <summary>Runs step n on call n (the last step repeats) and keeps the ids of every call.</summary>
    private sealed class ScriptedSink(params Func<IReadOnlyList<StandardLoggingPayload>, CancellationToken, Task>[] steps) : ILlmLogSink
    {
        private readonly Lock _gate = new();
        private readonly List<string[]> _calls = [];
        private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];

        public IReadOnlyList<string[]> Calls
        {
            get { lock (_gate) return [.. _calls]; }
        }

        public Task WaitForCallsAsync(int count)
        {
            lock (_gate)
            {
                if (_calls.Count >= count) return Task.CompletedTask;
                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, signal));
                return signal.Task;
            }
        }

        public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            int call;
            lock (_gate)
            {
                _calls.Add([.. batch.Select(p => p.Id)]);
                call = _calls.Count - 1;
                foreach (var waiter in _waiters.Where(w => w.Count <= _calls.Count).ToList())
                {
                    waiter.Signal.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
            await steps[Math.Min(call, steps.Length - 1)](batch, cancellationToken);
        }
    }

    /// <summary>
    /// Disposes a dispatcher on a fake clock: its shutdown timeout runs on that clock, so a test that failed part-way
    /// would otherwise wait forever. The clock is moved on until disposal ends.
    /// </summary>
    private sealed class ClockedDisposal(LlmLogDispatcher dispatcher, FakeTimeProvider time) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            var disposing = dispatcher.DisposeAsync().AsTask();
            while (!disposing.IsCompleted)
            {
                time.Advance(TimeSpan.FromMinutes(1));
                await Task.WhenAny(disposing, Task.Delay(10));
            }
            await disposing;
        }
    }

    private sealed record Entry(LogLevel Level, int EventId, Exception? Exception, IReadOnlyDictionary<string, object?> Values);

    /// <summary>Keeps log entries with their structured values, and lets a test wait for the n-th match.</summary>
    private sealed class CapturingLoggerFactory : ILoggerFactory, ILogger
    {
        private readonly Lock _gate = new();
        private readonly List<Entry> _entries = [];
        private readonly List<(Func<Entry, bool> Match, int Occurrence, TaskCompletionSource<Entry> Signal)> _waiters = [];

        public IReadOnlyList<Entry> Entries
        {
            get { lock (_gate) return [.. _entries]; }
        }

        public Task<Entry> WaitForAsync(Func<Entry, bool> match, int occurrence)
        {
            lock (_gate)
            {
                var found = _entries.Where(match).Skip(occurrence - 1).FirstOrDefault();
                if (found is not null) return Task.FromResult(found);
                var signal = new TaskCompletionSource<Entry>(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((match, occurrence, signal));
                return signal.Task;
            }
        }

        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = (state as IReadOnlyList<KeyValuePair<string, object?>> ?? []).ToDictionary(v => v.Key, v => v.Value);
            lock (_gate)
            {
                _entries.Add(new Entry(logLevel, eventId.Id, exception, values));
                foreach (var waiter in _waiters.ToList())
                {
                    var found = _entries.Where(waiter.Match).Skip(waiter.Occurrence - 1).FirstOrDefault();
                    if (found is null) continue;
                    waiter.Signal.TrySetResult(found);
                    _waiters.Remove(waiter);
                }
            }
        }
    }
}
