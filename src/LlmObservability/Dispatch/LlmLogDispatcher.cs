using System.Diagnostics.Metrics;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Sinks;
using LlmObservability.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmObservability.Dispatch;

/// <summary>
/// Carries records from the handler to the sinks, off the caller's path. The handler's only cost is a non-blocking
/// enqueue; a background loop builds each payload once (parsing, cost, redaction) and offers it to every sink's own
/// bounded queue, and one loop per sink sends batches by size and interval with retries and backoff. Nothing here ever
/// throws into a caller or waits for a sink: a full queue drops the record and counts it.
/// </summary>
/// <remarks>
/// Apps with a host get flushing on shutdown from the hosted service that <c>AddLlmObservability</c> registers. Apps
/// without one call <see cref="FlushAsync"/> or <see cref="DisposeAsync"/> before exiting.
/// </remarks>
public sealed partial class LlmLogDispatcher : IAsyncDisposable
{
    private readonly IntakeStack _intake;
    private readonly SinkWorker[] _sinks;
    private readonly LlmObservabilityOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly PayloadBuilder _builder;
    private readonly LlmMetrics _metrics;
    private readonly bool _captureContentOnSpans;
    private readonly CancellationTokenSource _hardStop = new();
    private readonly Task _intakeLoop;
    private readonly ProgressCounter _intakeProcessed = new();
    // Set by Wake (and by the hard stop) to end the intake loop's sleep. Never disposed: it holds no handle unless one is
    // asked for, and an enqueue racing the dispose may still set it, which must not throw into a caller.
    private readonly ManualResetEventSlim _signal = new(initialState: false, spinCount: 0);
    private readonly int _wakeThreshold;
    private readonly TimeSpan _pollInterval; // how often the loop looks while records come (see PollIntervalFor)
    private int _sinceWake;
    private int _sleepingLong; // 1 while the loop sleeps longer than LongSleepPolls polls: the next enqueue wakes it
    private long _intakeAccepted;
    private long _intakeDropped;
    private long _buildFailed;
    private int _disposed;

    /// <summary>Creates a dispatcher that feeds the given sinks, each with default <see cref="LlmSinkOptions"/>.</summary>
    public LlmLogDispatcher(params ILlmLogSink[] sinks)
        : this(sinks.Select(s => new LlmSinkRegistration(s)))
    {
    }

    /// <summary>Creates a dispatcher that feeds the given sinks.</summary>
    /// <param name="sinks">The sinks, each with its own options.</param>
    /// <param name="options">Queue capacity and shutdown timeout; defaults when null.</param>
    /// <param name="timeProvider">The clock for batching and retries; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Where the dispatcher reports its own problems; nothing is logged when null.</param>
    /// <param name="meterFactory">Creates the <c>LlmObservability</c> Meter (GenAI metrics, sink health); a process-wide Meter when null.</param>
    /// <param name="tokenEstimator">Counts tokens for calls whose provider reported no usage (e.g. <c>LlmObservability.Tokenizers</c>); null leaves them unknown.</param>
    public LlmLogDispatcher(
        IEnumerable<LlmSinkRegistration> sinks,
        LlmObservabilityOptions? options = null,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null,
        ILlmTokenEstimator? tokenEstimator = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        _options = options ?? new LlmObservabilityOptions();
        _options.Validate();
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<LlmLogDispatcher>() ?? NullLogger.Instance;
        // The payload pipeline (parse, cost, redaction) runs here, once per call, off the callers' path.
        var prices = PriceCatalog.Create(_options.Pricing, loggerFactory?.CreateLogger<PriceCatalog>());
        _builder = new PayloadBuilder(_options, _timeProvider, prices, tokenEstimator);

        var registrations = sinks.ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var shortestBatchInterval = IntakeIdlePollInterval;
        _sinks = new SinkWorker[registrations.Length];
        for (var i = 0; i < registrations.Length; i++)
        {
            var registration = registrations[i] ?? throw new ArgumentException("A sink registration is null.", nameof(sinks));
            var sinkOptions = registration.Options.Clone();
            var name = sinkOptions.Name ?? registration.Sink.GetType().Name;
            if (!names.Add(name)) name = $"{name}#{i}";
            sinkOptions.Validate(name);
            if (sinkOptions.BatchInterval < shortestBatchInterval) shortestBatchInterval = sinkOptions.BatchInterval;
            _sinks[i] = new SinkWorker(name, registration.Sink, sinkOptions, this);
        }

        // Built, redacted and then handed to nobody: only spans and metrics show the calls. Most often a forgotten sink.
        if (_sinks.Length == 0) LogNoSinks(_logger);

        _intake = new IntakeStack(_options.QueueCapacity);
        _pollInterval = PollIntervalFor(shortestBatchInterval);
        // Wake the loop early once WakeAfterRecords (or a quarter of a smaller queue) are waiting; otherwise it polls every
        // _pollInterval. A waiting record holds its capture buffers, and CapturePool keeps 64 of a size: at a few
        // thousand calls a second, waiting out the poll interval would leave the pool empty and every call allocating.
        _wakeThreshold = Math.Clamp(_options.QueueCapacity / 4, 1, WakeAfterRecords);
        _builder.AnySinkWantsMessages = _sinks.Any(s => s.LogMessages == true);
        _metrics = new LlmMetrics(meterFactory, GetStatistics);
        _captureContentOnSpans = _options.ShouldCaptureMessageContentOnSpans;
        _intakeLoop = StartIntakeThread();
        foreach (var sink in _sinks) sink.Start();
    }

    /// <summary>The options this dispatcher and the handlers that feed it work with.</summary>
    public LlmObservabilityOptions Options => _options;

    /// <summary>Queues an already built payload for every sink. Returns false (and counts a drop) when the queue is full or the dispatcher is stopping.</summary>
    public bool TryEnqueue(StandardLoggingPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return TryEnqueue(new ReadyRecord(payload));
    }

    /// <summary>Builds a record's payload on the calling thread (the opt-in cost-header path); it is then enqueued as built.</summary>
    internal StandardLoggingPayload BuildNow(CallRecord record)
    {
        try
        {
            var payload = record.Build(_builder);
            Observe(record, payload);
            return payload;
        }
        finally
        {
            record.Release();
        }
    }

    internal bool TryEnqueue(PendingRecord record)
    {
        if (Volatile.Read(ref _disposed) == 0 && _intake.TryPush(record))
        {
            Interlocked.Increment(ref _intakeAccepted);
            // No reader waits on the stack, so a push wakes no thread: the caller's cost is the push alone. Except after an
            // idle spell: the loop then sleeps up to a second, and the first record wakes it (once) so that it is not
            // kept waiting. The push's compare-and-swap is a full fence, and so is the loop's setting of the flag before
            // it looks at the stack once more: either the loop sees this record or this call sees the flag.
            if (Volatile.Read(ref _sleepingLong) != 0 && Interlocked.Exchange(ref _sleepingLong, 0) != 0)
            {
                Interlocked.Increment(ref _wakeUpsFromIdle);
                Wake();
            }
            else if (Interlocked.Increment(ref _sinceWake) >= _wakeThreshold)
            {
                Interlocked.Increment(ref _wakeUpsByCount);
                Wake();
            }
            return true;
        }
        Interlocked.Increment(ref _intakeDropped);
        record.Release();
        return false;
    }

    /// <summary>
    /// Completes when every record queued before the call has been delivered to, or given up by, every sink.
    /// Batches waiting for their interval are sent at once.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        Wake();
        await _intakeProcessed.WaitForAsync(Interlocked.Read(ref _intakeAccepted), cancellationToken).ConfigureAwait(false);
        var waits = new Task[_sinks.Length];
        for (var i = 0; i < _sinks.Length; i++) waits[i] = _sinks[i].FlushAsync(cancellationToken);
        await Task.WhenAll(waits).ConfigureAwait(false);
    }

    /// <summary>A snapshot of what the dispatcher and each sink have received, delivered, failed and dropped.</summary>
    public LlmDispatcherStatistics GetStatistics() => new()
    {
        Accepted = Interlocked.Read(ref _intakeAccepted),
        Dropped = Interlocked.Read(ref _intakeDropped),
        BuildFailed = Interlocked.Read(ref _buildFailed),
        QueueDepth = _intake.Count,
        Sinks = [.. _sinks.Select(s => s.GetStatistics())],
    };

    /// <summary>
    /// Stops accepting records, then sends everything queued, waiting at most
    /// <see cref="LlmObservabilityOptions.ShutdownTimeout"/>; what is still queued after that is counted as dropped.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _intake.Complete();
        Wake();
        using var timeout = new CancellationTokenSource(_options.ShutdownTimeout, _timeProvider);
        try
        {
            await _intakeLoop.WaitAsync(timeout.Token).ConfigureAwait(false);
            foreach (var sink in _sinks) sink.Complete();
            await Task.WhenAll(_sinks.Select(s => s.Completion)).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogShutdownTimeout(_logger, _options.ShutdownTimeout);
        }
        finally
        {
            await _hardStop.CancelAsync().ConfigureAwait(false);
            foreach (var sink in _sinks) sink.Complete();
            try
            {
                // Loops end promptly once hard-stopped; records they still held are counted as dropped.
                await Task.WhenAll(_sinks.Select(s => s.Completion).Append(_intakeLoop)).WaitAsync(TimeSpan.FromSeconds(5), _timeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A sink that ignores cancellation keeps its own task; we do not wait for it forever.
            }
            _hardStop.Dispose();
            _metrics.Dispose();
        }
    }

    private void Wake()
    {
        Interlocked.Exchange(ref _sinceWake, 0);
        _signal.Set();
    }

    /// <summary>
    /// Runs the intake loop on a thread of its own. A poll on the thread pool (a timer, then a worker woken for the
    /// continuation, which spins before it sleeps again) cost ~0.5 ms of CPU here; this thread's timed wait is one
    /// kernel wake-up, ~0.1 ms (benchmarks/README, "CPU at a service's pace"). It also keeps the builds off the pool, so a
    /// starved pool does not hold them up. The thread does not carry the constructing call's ExecutionContext: no
    /// caller's Activity or AsyncLocal leaks into the loop. An exception that escaped the loop (none is expected) faults
    /// the loop's task, as before, instead of ending the process.
    /// </summary>
    private Task StartIntakeThread()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                IntakeLoop();
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        })
        {
            IsBackground = true, // a host's stop or DisposeAsync flushes; the thread itself never keeps a process alive
            Name = "LlmObs intake",
        };
        thread.UnsafeStart();
        return done.Task;
    }

    /// <summary>
    /// Drains the intake, then sleeps until woken (WakeAfterRecords waiting, a flush, shutdown) or until the poll
    /// interval passes. Polling instead of waking for each write keeps wake-ups off the callers' path. While nothing
    /// comes, each poll that finds nothing doubles the interval, up to <see cref="IntakeIdlePollInterval"/>. A sleep
    /// longer than <see cref="LongSleepPolls"/> poll intervals is ended by the first enqueue, so no record waits for it.
    /// </summary>
    private void IntakeLoop()
    {
        var stop = _hardStop.Token;
        using var onStop = stop.Register(static s => ((ManualResetEventSlim)s!).Set(), _signal);
        var interval = _pollInterval;
        var longSleep = _pollInterval * LongSleepPolls; // a sleep longer than this is ended by the next enqueue
        try
        {
            while (true)
            {
                _signal.Reset(); // before the drain: a wake-up from here on ends the sleep below
                var took = false;
                while (_intake.TakeAll() is { } batch)
                {
                    ProcessAll(batch);
                    took = true;
                }
                if (_intake.IsCompleted) return;
                interval = took ? _pollInterval : Min(interval * 2, IntakeIdlePollInterval);
                var sleepingLong = interval > longSleep;
                if (sleepingLong) Interlocked.Exchange(ref _sleepingLong, 1); // before the last look: see TryEnqueue
                if (_intake.HasWaiting)
                {
                    // Pushed after the drain, before we took the wake signal or raised the flag: take it now (the take
                    // brings the interval back).
                    if (sleepingLong) Interlocked.Exchange(ref _sleepingLong, 0);
                    continue;
                }
                stop.ThrowIfCancellationRequested(); // a hard stop from here on sets the signal
                Interlocked.Increment(ref _intakeSleeps);
                Sleep(interval);
                if (sleepingLong) Interlocked.Exchange(ref _sleepingLong, 0);
                stop.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            while (_intake.TakeAll() is { } batch)
            {
                for (var record = batch; record is not null; record = Unlink(record))
                {
                    Interlocked.Increment(ref _intakeDropped);
                    record.Release();
                    Processed();
                }
            }
        }
    }

    /// <summary>Sleeps until <see cref="Wake"/>, the hard stop or the interval, whichever comes first.</summary>
    private void Sleep(TimeSpan interval)
    {
        if (ReferenceEquals(_timeProvider, TimeProvider.System))
        {
            _signal.Wait(interval);
            return;
        }
        // Another clock (a test's fake one never moves on its own): its timer ends the sleep.
        using var timer = _timeProvider.CreateTimer(static s => ((ManualResetEventSlim)s!).Set(), _signal, interval, Timeout.InfiniteTimeSpan);
        _signal.Wait();
    }

    /// <summary>Builds and offers a batch taken from the intake, oldest first, giving each record's room back as it goes.</summary>
    private void ProcessAll(PendingRecord batch)
    {
        for (var record = batch; record is not null; record = Unlink(record))
        {
            try
            {
                Process(record);
            }
            finally
            {
                Processed();
            }
        }
    }

    /// <summary>
    /// A taken record is done with (built or dropped): its room first, then the progress, so that once a flush sees
    /// every record processed, the whole capacity is free again.
    /// </summary>
    private void Processed()
    {
        _intake.Release(1);
        _intakeProcessed.Advance();
    }

    /// <summary>The record after <paramref name="record"/> in a taken batch; the link is cut so a built record holds no other.</summary>
    private static PendingRecord? Unlink(PendingRecord record)
    {
        var next = record.Next;
        record.Next = null;
        return next;
    }

    /// <summary>How many records may wait in the intake before an enqueue wakes the loop (one wake-up per this many calls).</summary>
    internal const int WakeAfterRecords = 32;

    /// <summary>How often an enqueue woke the intake loop because enough records were waiting (for tests).</summary>
    internal long WakeUpsByCount => Interlocked.Read(ref _wakeUpsByCount);

    /// <summary>How many times a sink's loop waited for its batch to fill (for tests).</summary>
    internal long SinkBatchWaits(int sink) => _sinks[sink].BatchWaits;

    /// <summary>How many times a sink's loop waited for a payload to start a batch (for tests).</summary>
    internal long SinkFirstPayloadWaits(int sink) => _sinks[sink].FirstPayloadWaits;

    private long _wakeUpsByCount;

    /// <summary>The shortest time a record may wait in the intake before the loop looks, when nothing wakes it sooner and calls are coming.</summary>
    internal static readonly TimeSpan IntakePollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>The longest: what the loop waits between looks while calls come, with the sinks' default one-second batches.</summary>
    internal static readonly TimeSpan IntakeMaxPollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest the loop sleeps between polls when nothing has come for a while.</summary>
    internal static readonly TimeSpan IntakeIdlePollInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A sleep longer than this many poll intervals is ended by the next enqueue (with 20 ms polls: from the third empty
    /// poll, 140 ms into an idle spell). Shorter ones are not: while calls come, none of them pays for a wake-up.
    /// </summary>
    internal const int LongSleepPolls = 5;

    /// <summary>
    /// How often the loop looks while calls come: half the shortest sink's batch interval, between
    /// <see cref="IntakePollInterval"/> and <see cref="IntakeMaxPollInterval"/>. Each look wakes the loop's thread, which
    /// costs CPU (~0.1 ms here; ~0.5 ms when the loop ran on the thread pool): at one look per 20 ms on the pool, a service
    /// making ten calls a second paid 1.6 ms of CPU per call, most of it for the looks. Sinks deliver
    /// in batches a second apart by default, so looking more often than every 200 ms only moves records to a queue where
    /// they wait; the console's 100 ms batches get 50 ms, and a sink that wants its records at once (a batch interval of
    /// zero) keeps 20 ms.
    /// </summary>
    internal static TimeSpan PollIntervalFor(TimeSpan shortestBatchInterval) =>
        TimeSpan.FromTicks(Math.Clamp(shortestBatchInterval.Ticks / 2, IntakePollInterval.Ticks, IntakeMaxPollInterval.Ticks));

    /// <summary>This dispatcher's poll interval while calls come (<see cref="PollIntervalFor"/>; for tests).</summary>
    internal TimeSpan PollInterval => _pollInterval;

    /// <summary>How often an enqueue woke the intake loop from a long sleep (for tests).</summary>
    internal long WakeUpsFromIdle => Interlocked.Read(ref _wakeUpsFromIdle);

    private long _wakeUpsFromIdle;

    /// <summary>How many times the intake loop went to sleep (for tests).</summary>
    internal long IntakeSleeps => Interlocked.Read(ref _intakeSleeps);

    private long _intakeSleeps;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private void Process(PendingRecord record)
    {
        StandardLoggingPayload? payload;
        try
        {
            payload = record.Build(_builder);
            if (payload is not null) Observe(record, payload);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _buildFailed);
            LogBuildFailed(_logger, ex);
            return;
        }
        finally
        {
            record.Release();
        }
        if (payload is null) return;
        StandardLoggingPayload? trimmed = null; // made once, shared by every sink that must not get content
        foreach (var sink in _sinks) sink.Offer(payload, _options.LogMessages, ref trimmed);
    }

    /// <summary>Metrics and the span's end: telemetry must never cost the record, so its failures are only logged.</summary>
    private void Observe(PendingRecord record, StandardLoggingPayload payload)
    {
        try
        {
            // Content on spans only where message logging applies to the call itself (a sink asking for bodies does not count).
            record.OnBuilt(payload, _metrics, _captureContentOnSpans && (payload.ScopeLogMessages ?? _options.LogMessages));
        }
        catch (Exception ex)
        {
            LogTelemetryFailed(_logger, ex);
        }
    }

    internal TimeProvider TimeProvider => _timeProvider;

    internal ILogger Logger => _logger;

    internal CancellationToken HardStopToken => _hardStop.Token;

    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "LlmObservability could not build a payload; the record is lost.")]
    private static partial void LogBuildFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "LlmObservability could not record telemetry for a call; the record itself is kept.")]
    private static partial void LogTelemetryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "LlmObservability has no sinks: calls are recorded only as OpenTelemetry spans and metrics. Add one with AddConsoleSink(), AddJsonLinesFileSink(...), AddHttpSink(...), AddSink<T>() or another Add...Sink on the builder AddLlmObservability() returns.")]
    private static partial void LogNoSinks(ILogger logger);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "LlmObservability did not deliver every queued record within the shutdown timeout of {Timeout}; the rest are counted as dropped.")]
    private static partial void LogShutdownTimeout(ILogger logger, TimeSpan timeout);
}

/// <summary>A sink together with how the dispatcher feeds it.</summary>
public sealed class LlmSinkRegistration
{
    /// <summary>Pairs a sink with its options (defaults when null).</summary>
    public LlmSinkRegistration(ILlmLogSink sink, LlmSinkOptions? options = null)
    {
        Sink = sink ?? throw new ArgumentNullException(nameof(sink));
        Options = options ?? new LlmSinkOptions();
    }

    /// <summary>The sink.</summary>
    public ILlmLogSink Sink { get; }

    /// <summary>Its queue, batching, retry and filter settings.</summary>
    public LlmSinkOptions Options { get; }
}

/// <summary>Counters for the dispatcher as a whole.</summary>
public sealed record LlmDispatcherStatistics
{
    /// <summary>Records accepted from the handler (or <see cref="LlmLogDispatcher.TryEnqueue(StandardLoggingPayload)"/>).</summary>
    public long Accepted { get; init; }

    /// <summary>Records refused because the intake queue was full or the dispatcher was stopping.</summary>
    public long Dropped { get; init; }

    /// <summary>Records whose payload could not be built (a bug: reported through ILogger).</summary>
    public long BuildFailed { get; init; }

    /// <summary>Records waiting to be built right now.</summary>
    public int QueueDepth { get; init; }

    /// <summary>Per-sink counters.</summary>
    public required IReadOnlyList<LlmSinkStatistics> Sinks { get; init; }
}

/// <summary>Counters for one sink. <c>Enqueued == Delivered + Failed + Rejected + Dropped-after-enqueue + QueueDepth + in flight</c>.</summary>
public sealed record LlmSinkStatistics
{
    /// <summary>The sink's name.</summary>
    public required string Name { get; init; }

    /// <summary>Payloads placed in the sink's queue.</summary>
    public long Enqueued { get; init; }

    /// <summary>Payloads the sink accepted.</summary>
    public long Delivered { get; init; }

    /// <summary>Payloads given up after the sink failed every retry.</summary>
    public long Failed { get; init; }

    /// <summary>
    /// Payloads the destination refused for good (e.g. HTTP 400, 401, 403, or 413 for a single record), reported by the
    /// sink through <see cref="LlmSinkWriteException"/>; they are not retried.
    /// </summary>
    public long Rejected { get; init; }

    /// <summary>Payloads dropped because the queue was full, or still queued when shutdown timed out.</summary>
    public long Dropped { get; init; }

    /// <summary>Payloads skipped by the sink's <see cref="LlmSinkOptions.Events"/> filter.</summary>
    public long Filtered { get; init; }

    /// <summary>Payloads waiting in the queue right now.</summary>
    public int QueueDepth { get; init; }

    /// <summary>The deepest the queue has been.</summary>
    public int MaxQueueDepth { get; init; }
}
