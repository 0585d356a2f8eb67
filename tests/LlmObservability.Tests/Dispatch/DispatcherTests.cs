using System.Collections.Concurrent;
using System.Diagnostics;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Sinks;
using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Tests.Dispatch;

public class DispatcherTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Batches_are_cut_by_size_and_flush_sends_the_partial_rest_at_once()
    {
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { MaxBatchSize = 10, BatchInterval = TimeSpan.FromHours(1) })]);
        var gate = new GateSink();
        // Hold the sink loop on its first batch so that the rest queue up and are cut into full batches.
        await using var held = new LlmLogDispatcher([new LlmSinkRegistration(gate, new LlmSinkOptions { MaxBatchSize = 10, BatchInterval = TimeSpan.Zero })]);

        for (var i = 0; i < 25; i++) Assert.That(dispatcher.TryEnqueue(PayloadFactory.Create()), Is.True);
        await dispatcher.FlushAsync().WaitAsync(Wait);
        Assert.That(sink.Payloads, Has.Count.EqualTo(25));
        Assert.That(sink.BatchSizes, Has.All.LessThanOrEqualTo(10));
        Assert.That(sink.BatchSizes.Sum(), Is.EqualTo(25));

        held.TryEnqueue(PayloadFactory.Create());
        await gate.Entered.Task.WaitAsync(Wait);
        for (var i = 0; i < 25; i++) held.TryEnqueue(PayloadFactory.Create());
        await WaitUntil(() => held.GetStatistics().Sinks[0].QueueDepth == 25);
        gate.Release.SetResult();
        await held.FlushAsync().WaitAsync(Wait);
        Assert.That(gate.BatchSizes, Is.EqualTo(new[] { 1, 10, 10, 5 }));
    }

    [Test]
    public async Task Waiting_records_wake_the_intake_after_a_few_dozen_without_waiting_for_the_poll()
    {
        // The clock never moves, so the intake's poll never fires: only the wake-up by count can move records on. A
        // waiting record holds its pooled capture buffers, so records must not pile up to a quarter of a 10,000 queue.
        var time = new FakeTimeProvider();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })], timeProvider: time);
        long Moved() => dispatcher.GetStatistics().Sinks[0].Enqueued;

        for (var i = 0; i < LlmLogDispatcher.WakeAfterRecords - 1; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        Assert.That(dispatcher.WakeUpsByCount, Is.Zero, "an enqueue wakes no thread until enough records wait");
        dispatcher.TryEnqueue(PayloadFactory.Create());
        Assert.That(dispatcher.WakeUpsByCount, Is.EqualTo(1));
        await WaitUntil(() => Moved() == LlmLogDispatcher.WakeAfterRecords);

        for (var i = 0; i < LlmLogDispatcher.WakeAfterRecords - 1; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        Assert.That(dispatcher.WakeUpsByCount, Is.EqualTo(1), "fewer than WakeAfterRecords wait for the poll");
        dispatcher.TryEnqueue(PayloadFactory.Create());
        Assert.That(dispatcher.WakeUpsByCount, Is.EqualTo(2));
        await WaitUntil(() => Moved() == 2 * LlmLogDispatcher.WakeAfterRecords);
    }

    [Test]
    public async Task An_idle_intake_polls_less_and_less_and_the_first_record_after_wakes_it()
    {
        // Every poll wakes the loop (on the thread pool, at one per 20 ms, an idle dispatcher cost ~2.5 % of a core).
        // While nothing comes, each empty poll doubles the interval up to IntakeIdlePollInterval; a sleep that long is
        // ended by the first enqueue, and the record taken brings the interval back to IntakePollInterval, whose sleeps
        // no enqueue ends. The fake clock is stepped by the short interval.
        var time = new FakeTimeProvider();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })], timeProvider: time);
        var step = LlmLogDispatcher.IntakePollInterval;
        long Moved() => dispatcher.GetStatistics().Sinks[0].Enqueued;

        async Task<TimeSpan> FakeTimeUntilMoved(long moved)
        {
            var start = time.GetUtcNow();
            for (var i = 0; i < 500; i++)
            {
                time.Advance(step);
                for (var spin = 0; spin < 25 && Moved() < moved; spin++) await Task.Delay(1);
                if (Moved() >= moved) return time.GetUtcNow() - start;
            }
            Assert.Fail($"not moved after {time.GetUtcNow() - start} of fake time");
            return TimeSpan.Zero;
        }

        var sleepsBefore = dispatcher.IntakeSleeps;
        for (var i = 0; i < 500; i++)
        {
            time.Advance(step);
            await Task.Delay(1);
        }
        var idleSleeps = dispatcher.IntakeSleeps - sleepsBefore;
        Assert.That(idleSleeps, Is.InRange(5, 20), "ten idle seconds: six polls to reach the idle interval, then one a second (at 20 ms: 500)");

        dispatcher.TryEnqueue(PayloadFactory.Create()); // the clock stands still: only the wake-up can move it
        Assert.That(dispatcher.WakeUpsFromIdle, Is.EqualTo(1), "the first record after an idle spell wakes the loop");
        await WaitUntil(() => Moved() == 1);

        dispatcher.TryEnqueue(PayloadFactory.Create());
        Assert.That(await FakeTimeUntilMoved(2), Is.LessThanOrEqualTo(3 * step), "records are coming again: the short interval is back");
        Assert.That(dispatcher.WakeUpsFromIdle, Is.EqualTo(1), "a short sleep is not ended by an enqueue");
        Assert.That(dispatcher.WakeUpsByCount, Is.Zero);
    }

    [TestCase(new double[0], 200)]
    [TestCase(new[] { 1000.0 }, 200)]
    [TestCase(new[] { 0.0 }, 20)]
    [TestCase(new[] { 100.0 }, 50)]
    [TestCase(new[] { 1000.0, 250.0 }, 125)]
    [TestCase(new[] { 5000.0, 60_000.0 }, 200)]
    public async Task The_intake_looks_twice_per_batch_interval_of_its_quickest_sink_at_most_every_20_and_at_least_every_200_ms(double[] batchIntervalsMs, int expectedMs)
    {
        // Each look wakes the loop's thread, which costs CPU: looking every 20 ms (then on the thread pool) cost a
        // service making ten calls a second 1.6 ms of CPU per call. Sinks batch a second apart by default, so it looks
        // every 200 ms.
        var sinks = batchIntervalsMs.Select(ms => new LlmSinkRegistration(new CollectingSink(), new LlmSinkOptions { BatchInterval = TimeSpan.FromMilliseconds(ms) }));
        await using var dispatcher = new LlmLogDispatcher(sinks);
        Assert.That(dispatcher.PollInterval, Is.EqualTo(TimeSpan.FromMilliseconds(expectedMs)));
    }

    [Test]
    public async Task While_calls_come_every_20_ms_the_intake_sleeps_once_per_200_ms_not_once_per_call()
    {
        var time = new FakeTimeProvider();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink)], timeProvider: time);
        long Moved() => dispatcher.GetStatistics().Sinks[0].Enqueued;

        var sleepsBefore = dispatcher.IntakeSleeps;
        for (var i = 1; i <= 100; i++) // two seconds of fake time, a record every 20 ms
        {
            dispatcher.TryEnqueue(PayloadFactory.Create());
            time.Advance(TimeSpan.FromMilliseconds(20));
            await Task.Delay(1);
        }
        await WaitUntil(() =>
        {
            if (Moved() == 100) return true;
            time.Advance(LlmLogDispatcher.IntakePollInterval);
            return false;
        });
        var sleeps = dispatcher.IntakeSleeps - sleepsBefore;

        Assert.That(sleeps, Is.InRange(8, 14), "one look per 200 ms of fake time (at 20 ms: 100)");
        Assert.That(dispatcher.WakeUpsFromIdle, Is.Zero, "no enqueue pays for a wake-up while calls come");
    }

    [Test]
    public async Task Payloads_are_built_on_the_dispatchers_own_thread_which_carries_nothing_of_its_creators_context()
    {
        // The loop sleeps on a kernel wait of its own thread: a poll on the thread pool (a timer, then a worker woken and
        // spinning) cost ~5x the CPU. Neither the loop nor a sink's loop may carry what was current where the dispatcher
        // was made (DI may build it inside a request): an Activity there would parent, and an AsyncLocal leak into, every build.
        var marker = new AsyncLocal<string?>();
        using var creatorsActivity = new Activity("the request that built the dispatcher").Start();
        marker.Value = "creator";
        var estimator = new WitnessEstimator(marker);
        var sink = new WitnessSink(marker);
        var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })], tokenEstimator: estimator);
        await using (dispatcher)
        {
            using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Sse(Fixture.Bytes("openai/chat-stream-no-usage.sse")) });
            using (var response = await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)))) await response.Content.ReadAsStringAsync();
            await dispatcher.FlushAsync().WaitAsync(Wait);
        }

        Assert.That(estimator.Seen, Is.Not.Empty, "the call had no usage: the build asked the estimator");
        Assert.That(estimator.Seen, Has.All.EqualTo((false, "LlmObs intake", (string?)null, (string?)null)), "(on the pool, thread, AsyncLocal, Activity) while building");
        Assert.That(sink.Seen, Is.Not.Empty);
        Assert.That(sink.Seen, Has.All.EqualTo((string?)null), "the sink's loop does not carry the creator's AsyncLocal either");
    }

    private sealed class WitnessEstimator(AsyncLocal<string?> marker) : ILlmTokenEstimator
    {
        public ConcurrentQueue<(bool, string?, string?, string?)> Seen { get; } = new();

        public int? CountTokens(string? model, string text)
        {
            Seen.Enqueue((Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name, marker.Value, Activity.Current?.OperationName));
            return 1;
        }
    }

    private sealed class WitnessSink(AsyncLocal<string?> marker) : ILlmLogSink
    {
        public ConcurrentQueue<string?> Seen { get; } = new();

        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            Seen.Enqueue(marker.Value);
            return ValueTask.CompletedTask;
        }
    }

    [Test]
    public async Task A_sink_collecting_a_batch_is_woken_when_the_batch_fills_not_by_every_payload()
    {
        // Payloads reach the sink's queue one at a time (the intake's poll, driven by the fake clock, moves each on its
        // own). The sink's loop waits for a batch of 10 with an interval that never passes: each of its waits must end
        // because a batch filled or a flush came, never because one more payload arrived.
        var time = new FakeTimeProvider();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { MaxBatchSize = 10, BatchInterval = TimeSpan.FromHours(1) })], timeProvider: time);
        long Moved() => dispatcher.GetStatistics().Sinks[0].Enqueued;

        for (var i = 1; i <= 25; i++)
        {
            dispatcher.TryEnqueue(PayloadFactory.Create());
            var moved = i;
            // Step the clock until the intake's poll has moved it (its timer may be set just after a step).
            await WaitUntil(() =>
            {
                if (Moved() == moved) return true;
                time.Advance(LlmLogDispatcher.IntakePollInterval);
                return false;
            });
            await Task.Delay(2); // let the sink's loop take it and go back to waiting, as between real calls
        }
        await WaitUntil(() => sink.Payloads.Count == 20);
        Assert.That(sink.BatchSizes, Is.EqualTo(new[] { 10, 10 }));
        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(sink.BatchSizes, Is.EqualTo(new[] { 10, 10, 5 }));
        Assert.That(dispatcher.SinkBatchWaits(0), Is.LessThanOrEqualTo(4), "one wait per batch at most: two ended by a full batch, one by the flush, and the next batch's, still collecting (one per payload: 25)");
    }

    [Test]
    public async Task While_payloads_keep_coming_a_sinks_loop_wakes_once_per_batch_not_also_for_its_first_payload()
    {
        // Each wake-up of a sink's loop is a thread-pool worker woken (~0.5 ms of CPU). A loop that waited for a batch's
        // first payload, then for its interval, woke twice per batch; it now starts the next batch as it delivers one.
        var time = new FakeTimeProvider();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink)], timeProvider: time); // 1 s batches
        for (var i = 1; i <= 50; i++) // five seconds of fake time, a record every 100 ms
        {
            dispatcher.TryEnqueue(PayloadFactory.Create());
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(2);
        }
        await WaitUntil(() =>
        {
            if (sink.Payloads.Count == 50) return true;
            time.Advance(LlmLogDispatcher.IntakePollInterval);
            return false;
        });

        Assert.That(sink.BatchSizes, Has.Count.InRange(4, 7), "a batch a second");
        Assert.That(dispatcher.SinkFirstPayloadWaits(0), Is.LessThanOrEqualTo(2), "the first batch's first payload (one a batch: 5)");
        Assert.That(dispatcher.SinkBatchWaits(0), Is.LessThanOrEqualTo(sink.BatchSizes.Count + 1), "one timed wait per batch");
    }

    [Test]
    public async Task After_an_interval_with_nothing_a_sinks_loop_waits_for_the_next_payload_without_a_timer()
    {
        // Collecting the next batch at once must not turn into a timer that fires every interval while nothing comes.
        var time = new FakeTimeProvider();
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink)], timeProvider: time);
        dispatcher.TryEnqueue(PayloadFactory.Create());
        await WaitUntil(() =>
        {
            if (sink.Payloads.Count == 1) return true;
            time.Advance(LlmLogDispatcher.IntakePollInterval);
            return false;
        });
        for (var i = 0; i < 100; i++) // ten idle seconds
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(1);
        }
        var waitsWhenIdle = dispatcher.SinkBatchWaits(0);
        for (var i = 0; i < 100; i++) // ten more
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(1);
        }

        Assert.That(dispatcher.SinkBatchWaits(0), Is.EqualTo(waitsWhenIdle), "no timed waits while nothing comes");
        Assert.That(waitsWhenIdle, Is.LessThanOrEqualTo(2), "the first batch's interval, then one empty interval");
        dispatcher.TryEnqueue(PayloadFactory.Create());
        await WaitUntil(() =>
        {
            if (sink.Payloads.Count == 2) return true;
            time.Advance(LlmLogDispatcher.IntakePollInterval);
            return false;
        });
        Assert.That(sink.BatchSizes, Is.EqualTo(new[] { 1, 1 }));
    }

    [Test]
    public async Task A_partial_batch_is_sent_when_its_interval_has_passed()
    {
        var time = new FakeTimeProvider();
        var sink = new TimedSink(time);
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { MaxBatchSize = 100, BatchInterval = TimeSpan.FromSeconds(5) })], timeProvider: time);
        var start = time.GetUtcNow();

        for (var i = 0; i < 3; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        // Move the fake clock in small steps until the batch goes; it must not go before the interval.
        for (var step = 0; step < 200 && !sink.Delivered.Task.IsCompleted; step++)
        {
            await Task.WhenAny(sink.Delivered.Task, Task.Delay(5));
            time.Advance(TimeSpan.FromMilliseconds(250));
        }
        var (when, count) = await sink.Delivered.Task.WaitAsync(Wait);
        Assert.That(count, Is.EqualTo(3), "one batch with all three");
        Assert.That(when - start, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)));
    }

    [Test]
    public async Task Each_sink_gets_only_the_events_it_asked_for()
    {
        var successes = new CollectingSink();
        var failures = new CollectingSink();
        var all = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([
            new LlmSinkRegistration(successes, new LlmSinkOptions { Name = "ok", Events = LlmLogEvents.Success }),
            new LlmSinkRegistration(failures, new LlmSinkOptions { Name = "bad", Events = LlmLogEvents.Failure }),
            new LlmSinkRegistration(all, new LlmSinkOptions { Name = "all" }),
        ]);
        for (var i = 0; i < 10; i++) dispatcher.TryEnqueue(PayloadFactory.Create(i % 3 == 0 ? LlmCallStatus.Failure : LlmCallStatus.Success));
        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(successes.Payloads.Select(p => p.Status), Is.EqualTo(Enumerable.Repeat(LlmCallStatus.Success, 6)));
        Assert.That(failures.Payloads.Select(p => p.Status), Is.EqualTo(Enumerable.Repeat(LlmCallStatus.Failure, 4)));
        Assert.That(all.Payloads, Has.Count.EqualTo(10));
        var stats = dispatcher.GetStatistics();
        Assert.That(stats.Sinks.Single(s => s.Name == "ok").Filtered, Is.EqualTo(4));
        Assert.That(stats.Sinks.Single(s => s.Name == "bad").Filtered, Is.EqualTo(6));
    }

    [Test]
    public async Task A_full_queue_drops_and_counts_without_blocking_and_the_counts_add_up()
    {
        var gate = new GateSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(gate, new LlmSinkOptions { QueueCapacity = 5, MaxBatchSize = 1, BatchInterval = TimeSpan.Zero })]);

        dispatcher.TryEnqueue(PayloadFactory.Create());
        await gate.Entered.Task.WaitAsync(Wait); // the loop now holds one record in a blocked write
        for (var i = 0; i < 19; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await WaitUntil(() => dispatcher.GetStatistics().Sinks[0] is { } s && s.Enqueued + s.Dropped == 20);
        var whileBlocked = dispatcher.GetStatistics().Sinks[0];
        Assert.That(whileBlocked.Enqueued, Is.EqualTo(6), "one in the write, five in the queue");
        Assert.That(whileBlocked.Dropped, Is.EqualTo(14));
        Assert.That(whileBlocked.MaxQueueDepth, Is.EqualTo(5));

        gate.Release.SetResult();
        await dispatcher.FlushAsync().WaitAsync(Wait);
        var after = dispatcher.GetStatistics().Sinks[0];
        Assert.That(after.Delivered + after.Dropped, Is.EqualTo(20));
        Assert.That(gate.Received, Is.EqualTo(6));
    }

    [Test]
    public async Task After_a_flush_the_whole_intake_capacity_is_free_again()
    {
        // Bursts of exactly the intake's capacity, each flushed before the next: none may be refused. (The lock-free
        // intake first gave taken records' room back in steps, after counting them processed, so a flush could return
        // with up to 31 of the last burst still holding room, and the next burst lost that many.)
        const int Capacity = 100, Bursts = 30_000;
        var sink = new CountingSink();
        await using var dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(sink, new LlmSinkOptions { QueueCapacity = 10 * Capacity })],
            new LlmObservabilityOptions { QueueCapacity = Capacity });
        var payloads = Enumerable.Range(0, Capacity).Select(_ => PayloadFactory.Create()).ToArray();

        for (var burst = 0; burst < Bursts; burst++)
        {
            var refused = payloads.Count(p => !dispatcher.TryEnqueue(p));
            Assert.That(refused, Is.Zero, $"burst {burst}");
            await dispatcher.FlushAsync().WaitAsync(Wait);
            Assert.That(dispatcher.GetStatistics().QueueDepth, Is.Zero, $"after the flush of burst {burst}");
        }
        Assert.That(sink.Count, Is.EqualTo(Bursts * Capacity));
    }

    private sealed class CountingSink : ILlmLogSink
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            Interlocked.Add(ref _count, batch.Count);
            return ValueTask.CompletedTask;
        }
    }

    [Test]
    public async Task A_throwing_sink_is_retried_then_counted_and_does_not_affect_its_neighbour()
    {
        var bad = new ThrowingSink(failures: int.MaxValue);
        var good = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([
            new LlmSinkRegistration(bad, new LlmSinkOptions { Name = "bad", MaxRetries = 2, RetryBaseDelay = TimeSpan.FromMilliseconds(1), RetryMaxDelay = TimeSpan.FromMilliseconds(5), BatchInterval = TimeSpan.Zero }),
            new LlmSinkRegistration(good, new LlmSinkOptions { Name = "good" }),
        ]);
        for (var i = 0; i < 5; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await dispatcher.FlushAsync().WaitAsync(Wait);

        var stats = dispatcher.GetStatistics();
        Assert.That(good.Payloads, Has.Count.EqualTo(5));
        Assert.That(stats.Sinks.Single(s => s.Name == "bad").Failed, Is.EqualTo(5));
        Assert.That(bad.Attempts, Is.EqualTo(3 * bad.Batches), "each batch tried 1 + 2 retries");
    }

    [Test]
    public async Task A_sink_that_fails_once_gets_the_same_batch_again_and_nothing_is_lost()
    {
        var flaky = new ThrowingSink(failures: 1);
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(flaky, new LlmSinkOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(1), BatchInterval = TimeSpan.FromMinutes(1) })]);
        for (var i = 0; i < 7; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await dispatcher.FlushAsync().WaitAsync(Wait);
        Assert.That(flaky.Delivered, Has.Count.EqualTo(7));
        Assert.That(dispatcher.GetStatistics().Sinks[0].Delivered, Is.EqualTo(7));
    }

    [Test]
    public async Task A_sink_that_hangs_and_ignores_cancellation_is_timed_out_and_its_neighbour_gets_everything()
    {
        var hung = new HangingSink();
        var good = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([
            new LlmSinkRegistration(hung, new LlmSinkOptions { Name = "hung", MaxRetries = 0, WriteTimeout = TimeSpan.FromMilliseconds(50), BatchInterval = TimeSpan.Zero }),
            new LlmSinkRegistration(good, new LlmSinkOptions { Name = "good", BatchInterval = TimeSpan.Zero }),
        ], new LlmObservabilityOptions { ShutdownTimeout = TimeSpan.FromSeconds(1) });

        for (var i = 0; i < 3; i++) Assert.That(dispatcher.TryEnqueue(PayloadFactory.Create()), Is.True, "enqueue never waits");
        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(good.Payloads, Has.Count.EqualTo(3));
        var stats = dispatcher.GetStatistics().Sinks.Single(s => s.Name == "hung");
        Assert.That(stats.Failed, Is.EqualTo(3));
    }

    [Test]
    public async Task DisposeAsync_delivers_everything_queued()
    {
        var sink = new CollectingSink();
        var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.FromHours(1), MaxBatchSize = 7 })]);
        for (var i = 0; i < 50; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await dispatcher.DisposeAsync();
        Assert.That(sink.Payloads, Has.Count.EqualTo(50));
        Assert.That(dispatcher.TryEnqueue(PayloadFactory.Create()), Is.False, "nothing is accepted after disposal");
        Assert.That(dispatcher.GetStatistics().Dropped, Is.EqualTo(1));
    }

    [Test]
    public async Task DisposeAsync_gives_up_after_the_shutdown_timeout_and_counts_what_is_left_as_dropped()
    {
        var hung = new HangingSink();
        var dispatcher = new LlmLogDispatcher(
            [new LlmSinkRegistration(hung, new LlmSinkOptions { MaxBatchSize = 1, WriteTimeout = Timeout.InfiniteTimeSpan, BatchInterval = TimeSpan.Zero })],
            new LlmObservabilityOptions { ShutdownTimeout = TimeSpan.FromMilliseconds(200) });
        for (var i = 0; i < 4; i++) dispatcher.TryEnqueue(PayloadFactory.Create());
        await dispatcher.DisposeAsync().AsTask().WaitAsync(Wait);
        var stats = dispatcher.GetStatistics().Sinks[0];
        Assert.That(stats.Delivered, Is.Zero);
        Assert.That(stats.Dropped, Is.EqualTo(4));
    }

    [Test]
    public void Invalid_sink_options_are_rejected_with_the_setting_named()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new LlmLogDispatcher([new LlmSinkRegistration(new CollectingSink(), new LlmSinkOptions { Name = "s3", QueueCapacity = 0, Events = LlmLogEvents.None })]));
        Assert.That(ex!.Message, Does.Contain("'s3'").And.Contain("QueueCapacity").And.Contain("Events"));
        Assert.Throws<ArgumentException>(() => _ = new LlmLogDispatcher([], new LlmObservabilityOptions { QueueCapacity = 0 }));
    }

    [Test]
    public async Task Payloads_are_shared_not_copied_between_sinks()
    {
        var a = new CollectingSink();
        var b = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher(a, b);
        var payload = PayloadFactory.Create();
        dispatcher.TryEnqueue(payload);
        await dispatcher.FlushAsync().WaitAsync(Wait);
        Assert.That(a.Payloads.Single(), Is.SameAs(payload));
        Assert.That(b.Payloads.Single(), Is.SameAs(payload));
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 2000 && !condition(); i++) await Task.Delay(5);
        Assert.That(condition(), Is.True, "condition not reached");
    }

    private sealed class GateSink : ILlmLogSink
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public List<int> BatchSizes { get; } = [];
        public int Received => BatchSizes.Sum();

        public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            BatchSizes.Add(batch.Count);
            Entered.TrySetResult();
            await Release.Task;
        }
    }

    private sealed class TimedSink(TimeProvider time) : ILlmLogSink
    {
        public TaskCompletionSource<(DateTimeOffset When, int Count)> Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            Delivered.TrySetResult((time.GetUtcNow(), batch.Count));
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ThrowingSink(int failures) : ILlmLogSink
    {
        private int _failuresLeft = failures;
        public int Attempts { get; private set; }
        public int Batches { get; private set; }
        public List<StandardLoggingPayload> Delivered { get; } = [];
        private readonly HashSet<object> _seen = [];

        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
        {
            Attempts++;
            if (_seen.Add(batch)) Batches++;
            if (_failuresLeft-- > 0) throw new InvalidOperationException("sink is down (test)");
            Delivered.AddRange(batch);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class HangingSink : ILlmLogSink
    {
        public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken) =>
            new(new TaskCompletionSource().Task); // never completes, ignores the token
    }
}
