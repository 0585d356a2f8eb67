using System.Threading.Channels;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Dispatch;

/// <summary>One sink's bounded queue and the loop that drains it in batches, with retries and a write timeout.</summary>
internal sealed partial class SinkWorker
{
    private readonly ILlmLogSink _sink;
    private readonly LlmSinkOptions _options;
    private readonly LlmLogDispatcher _owner;
    private readonly Channel<StandardLoggingPayload> _queue;
    private readonly ProgressCounter _completed = new();
    private TaskCompletionSource _flushSignal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // While the loop waits for a batch to fill, it is woken once by the Offer that brings the queue to _wakeAtDepth
    // (or by the interval, a flush or completion), not by every write: at a few thousand calls a second, a wake-up per
    // payload cost a thread-pool hand-off, a timer and a linked token source each time.
    private TaskCompletionSource _batchFull = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _wakeAtDepth;
    private long _batchWaits;
    private long _firstPayloadWaits;
    private long _enqueued;
    private long _flushTarget;
    private long _delivered;
    private long _failed;
    private long _rejected;
    private long _dropped;
    private long _filtered;
    private int _maxDepth;

    // Touched only by this sink's loop.
    private int _consecutiveFailures;
    private long _circuitOpenedAt;
    private bool _rejectionReported;

    public SinkWorker(string name, ILlmLogSink sink, LlmSinkOptions options, LlmLogDispatcher owner)
    {
        Name = name;
        _sink = sink;
        _options = options;
        _owner = owner;
        _queue = Channel.CreateBounded<StandardLoggingPayload>(new BoundedChannelOptions(options.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite returns false when full; nothing waits.
        });
        _wakeAtDepth = options.MaxBatchSize;
        Completion = Task.CompletedTask;
    }

    public string Name { get; }

    public Task Completion { get; private set; }

    /// <summary>Starts the loop without the caller's ExecutionContext: no Activity or AsyncLocal of whoever made the dispatcher.</summary>
    public void Start()
    {
        using (ExecutionContext.SuppressFlow()) Completion = Task.Run(RunAsync);
    }

    public void Complete()
    {
        _queue.Writer.TryComplete();
        Volatile.Read(ref _batchFull).TrySetResult();
    }

    /// <summary>How many times the loop waited for a batch to fill (for tests: about one per batch, not one per payload).</summary>
    internal long BatchWaits => Interlocked.Read(ref _batchWaits);

    /// <summary>How many times the loop, its queue empty, waited for a payload to start a batch (for tests).</summary>
    internal long FirstPayloadWaits => Interlocked.Read(ref _firstPayloadWaits);

    public bool? LogMessages => _options.LogMessages;

    public void Offer(StandardLoggingPayload payload, bool defaultLogMessages, ref StandardLoggingPayload? trimmed)
    {
        if (!(payload.ScopeLogMessages ?? _options.LogMessages ?? defaultLogMessages)) payload = trimmed ??= payload.WithoutContent();
        var wanted = payload.Status == LlmCallStatus.Success ? LlmLogEvents.Success : LlmLogEvents.Failure;
        if ((_options.Events & wanted) == 0)
        {
            Interlocked.Increment(ref _filtered);
            return;
        }
        if (_queue.Writer.TryWrite(payload))
        {
            Interlocked.Increment(ref _enqueued);
            var depth = _queue.Reader.Count;
            if (depth > Volatile.Read(ref _maxDepth)) Volatile.Write(ref _maxDepth, depth); // single writer: no race
            if (depth >= Volatile.Read(ref _wakeAtDepth)) Volatile.Read(ref _batchFull).TrySetResult(); // a no-op unless the loop waits for these
        }
        else
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public Task FlushAsync(CancellationToken cancellationToken)
    {
        var target = Interlocked.Read(ref _enqueued);
        InterlockedMax(ref _flushTarget, target);
        // Target first, then the wake-up: a loop that took the old signal sees it fire, one that takes the new one sees the target.
        Interlocked.Exchange(ref _flushSignal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        return _completed.WaitForAsync(target, cancellationToken);
    }

    public LlmSinkStatistics GetStatistics() => new()
    {
        Name = Name,
        Enqueued = Interlocked.Read(ref _enqueued),
        Delivered = Interlocked.Read(ref _delivered),
        Failed = Interlocked.Read(ref _failed),
        Rejected = Interlocked.Read(ref _rejected),
        Dropped = Interlocked.Read(ref _dropped),
        Filtered = Interlocked.Read(ref _filtered),
        QueueDepth = _queue.Reader.Count,
        MaxQueueDepth = Volatile.Read(ref _maxDepth),
    };

    private async Task RunAsync()
    {
        var reader = _queue.Reader;
        var stop = _owner.HardStopToken;
        var buffer = new List<StandardLoggingPayload>(Math.Min(_options.MaxBatchSize, 1024));
        try
        {
            // While payloads keep coming, the next batch starts collecting as soon as one is delivered, and the loop sleeps
            // until that batch's interval ends or it fills: one wake-up per batch. Waiting for its first payload, then for
            // its interval, cost two. An interval that passes with nothing sends the loop back to waiting for a first one.
            var collecting = false;
            while (collecting || await WaitForFirstAsync(reader, stop).ConfigureAwait(false))
            {
                await FillBatchAsync(reader, buffer, stop).ConfigureAwait(false);
                collecting = buffer.Count > 0 && _options.BatchInterval > TimeSpan.Zero;
                if (buffer.Count == 0) continue;
                // A fresh array per batch: a sink may keep the list (or hang holding it) after we move on.
                var batch = buffer.ToArray();
                buffer.Clear();
                await DeliverAsync(batch, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            var lost = buffer.Count;
            buffer.Clear();
            while (reader.TryRead(out _)) lost++;
            if (lost > 0)
            {
                Interlocked.Add(ref _dropped, lost);
                _completed.Advance(lost);
            }
        }
    }

    /// <summary>Waits for a payload when the queue is empty, counting the waits that do not end at once.</summary>
    private ValueTask<bool> WaitForFirstAsync(ChannelReader<StandardLoggingPayload> reader, CancellationToken stop)
    {
        var wait = reader.WaitToReadAsync(stop);
        if (!wait.IsCompleted) Interlocked.Increment(ref _firstPayloadWaits);
        return wait;
    }

    private async Task FillBatchAsync(ChannelReader<StandardLoggingPayload> reader, List<StandardLoggingPayload> batch, CancellationToken stop)
    {
        var max = _options.MaxBatchSize;
        var time = _owner.TimeProvider;
        var flush = Volatile.Read(ref _flushSignal).Task;
        var flushPending = Interlocked.Read(ref _flushTarget) > _completed.Value;
        var deadline = time.GetTimestamp();
        var interval = _options.BatchInterval;
        while (true)
        {
            // Armed before the drain, so an Offer that fills the batch after the drain wakes this wait.
            var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _batchFull, full);
            while (batch.Count < max && reader.TryRead(out var item)) batch.Add(item);
            if (batch.Count >= max || interval <= TimeSpan.Zero || flushPending || flush.IsCompleted || reader.Completion.IsCompleted) return;
            var remaining = interval - time.GetElapsedTime(deadline);
            if (remaining <= TimeSpan.Zero) return;

            Volatile.Write(ref _wakeAtDepth, max - batch.Count);
            if (reader.Count >= max - batch.Count) continue; // filled between the drain and the threshold
            Interlocked.Increment(ref _batchWaits);
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var delay = Task.Delay(remaining, time, delayCancel.Token);
            await Task.WhenAny(full.Task, delay, flush).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);
            stop.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Writes one batch, retrying failures with backoff until <see cref="LlmSinkOptions.MaxRetries"/> is spent. This is
    /// the only retry loop: sinks report how far they got and whether to go on (<see cref="LlmSinkWriteException"/>), so
    /// records a sink has finished with are never passed again and attempts are never multiplied.
    /// </summary>
    private async Task DeliverAsync(StandardLoggingPayload[] batch, CancellationToken stop)
    {
        var time = _owner.TimeProvider;
        var pending = batch;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                // An open circuit is waited out before the write; waiting is not an attempt.
                var openFor = CircuitOpenFor();
                if (openFor > TimeSpan.Zero) await Task.Delay(openFor, time, stop).ConfigureAwait(false);

                Exception failure;
                try
                {
                    await WriteAsync(pending, stop).ConfigureAwait(false);
                    Interlocked.Add(ref _delivered, pending.Length);
                    pending = [];
                    OnReached(fullyDelivered: true);
                    return;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    failure = ex;
                }

                var report = failure as LlmSinkWriteException;
                if (report is not null)
                {
                    pending = Account(pending, report);
                    if (report.IsPermanent || pending.Length == 0)
                    {
                        // The destination answered: it is reachable, so this is no reason to open the circuit.
                        OnReached(fullyDelivered: false);
                        return;
                    }
                }
                // Stopping: a sink that reported progress on its way out is not a failure to retry.
                stop.ThrowIfCancellationRequested();

                var failedAt = time.GetTimestamp();
                if (OnTransientFailure())
                {
                    LogCircuitOpened(_owner.Logger, Name, _consecutiveFailures, _options.CircuitBreakerDuration);
                }
                if (attempt >= _options.MaxRetries)
                {
                    Interlocked.Add(ref _failed, pending.Length);
                    LogGaveUp(_owner.Logger, failure, Name, pending.Length, attempt + 1);
                    pending = [];
                    return;
                }
                var delay = RetryDelay(attempt, report?.RetryAfter);
                LogRetrying(_owner.Logger, failure, Name, pending.Length, delay);
                // Counted from the failure, not from when the timer starts.
                var wait = delay - time.GetElapsedTime(failedAt);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Interlocked.Add(ref _dropped, pending.Length);
            throw;
        }
        finally
        {
            _completed.Advance(batch.Length);
        }
    }

    /// <summary>
    /// Calls the sink with a timeout. The sink's token fires at the timeout; the sink then gets a short grace to return
    /// what it finished (an <see cref="LlmSinkWriteException"/>) before it is abandoned, so a sink that ignores its token
    /// cannot hold this loop and one that honours it does not lose track of what it already wrote.
    /// </summary>
    private async Task WriteAsync(StandardLoggingPayload[] batch, CancellationToken stop)
    {
        var time = _owner.TimeProvider;
        if (_options.WriteTimeout == Timeout.InfiniteTimeSpan)
        {
            await _sink.WriteBatchAsync(batch, stop).AsTask().WaitAsync(stop).ConfigureAwait(false);
            return;
        }
        using var timer = new CancellationTokenSource(_options.WriteTimeout, time);
        using var token = CancellationTokenSource.CreateLinkedTokenSource(stop, timer.Token);
        var write = _sink.WriteBatchAsync(batch, token.Token).AsTask();
        var grace = _options.WriteTimeout < MaxCancellationGrace ? _options.WriteTimeout : MaxCancellationGrace;
        await write.WaitAsync(_options.WriteTimeout + grace, time, stop).ConfigureAwait(false);
    }

    /// <summary>Longest a sink whose write timed out is given to return after its token fired.</summary>
    internal static readonly TimeSpan MaxCancellationGrace = TimeSpan.FromSeconds(5);

    /// <summary>Counts what a sink reported as finished and returns the records still to write.</summary>
    private StandardLoggingPayload[] Account(StandardLoggingPayload[] pending, LlmSinkWriteException report)
    {
        var completed = Math.Clamp(report.CompletedCount, 0, pending.Length);
        var rejected = Math.Clamp(report.RejectedCount, 0, completed);
        Interlocked.Add(ref _delivered, completed - rejected);
        // The same array when nothing was finished: a sink may recognise a retried batch by its identity (Langfuse does).
        var rest = completed == 0 ? pending : pending[completed..];
        if (report.IsPermanent)
        {
            rejected += rest.Length;
            rest = [];
        }
        if (rejected > 0)
        {
            Interlocked.Add(ref _rejected, rejected);
            // Once per run of rejections: a destination that refuses everything would otherwise log every batch.
            if (!_rejectionReported)
            {
                _rejectionReported = true;
                LogRejected(_owner.Logger, report, Name, rejected);
            }
            else
            {
                LogRejectedAgain(_owner.Logger, Name, rejected, report.Message);
            }
        }
        return rest;
    }

    private TimeSpan CircuitOpenFor()
    {
        if (_options.CircuitBreakerThreshold <= 0 || _consecutiveFailures < _options.CircuitBreakerThreshold) return TimeSpan.Zero;
        var remaining = _options.CircuitBreakerDuration - _owner.TimeProvider.GetElapsedTime(_circuitOpenedAt);
        return remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero;
    }

    /// <summary>Counts a failed write; returns true when this failure opened the circuit.</summary>
    private bool OnTransientFailure()
    {
        _consecutiveFailures++;
        if (_options.CircuitBreakerThreshold <= 0 || _consecutiveFailures < _options.CircuitBreakerThreshold) return false;
        // Every failure at or past the threshold (the trial write included) starts a new open period.
        _circuitOpenedAt = _owner.TimeProvider.GetTimestamp();
        return _consecutiveFailures == _options.CircuitBreakerThreshold;
    }

    /// <summary>The destination answered (all written, or a permanent refusal): the circuit closes.</summary>
    private void OnReached(bool fullyDelivered)
    {
        if (_options.CircuitBreakerThreshold > 0 && _consecutiveFailures >= _options.CircuitBreakerThreshold)
        {
            LogCircuitClosed(_owner.Logger, Name);
        }
        _consecutiveFailures = 0;
        if (fullyDelivered) _rejectionReported = false;
    }

    private static void InterlockedMax(ref long location, long value)
    {
        var current = Interlocked.Read(ref location);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref location, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    /// <summary>
    /// Exponential backoff with ±20% jitter, capped at <see cref="LlmSinkOptions.RetryMaxDelay"/>; never shorter than the
    /// pause the destination asked for (itself capped), nor than what is left of an open circuit.
    /// </summary>
    private TimeSpan RetryDelay(int attempt, TimeSpan? retryAfter)
    {
        var baseTicks = _options.RetryBaseDelay.Ticks * Math.Pow(2, Math.Min(attempt, 30));
        var jittered = baseTicks * (0.8 + (0.4 * Random.Shared.NextDouble()));
        var delay = TimeSpan.FromTicks((long)Math.Min(jittered, _options.RetryMaxDelay.Ticks));
        if (retryAfter is { } asked && asked > delay) delay = asked < _options.RetryMaxDelay ? asked : _options.RetryMaxDelay;
        var open = CircuitOpenFor();
        return open > delay ? open : delay;
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "LlmObservability sink '{Sink}' failed to write {Count} records; retrying in {Delay}.")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string sink, int count, TimeSpan delay);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "LlmObservability sink '{Sink}' failed to write {Count} records after {Attempts} attempts; they are counted as failed.")]
    private static partial void LogGaveUp(ILogger logger, Exception exception, string sink, int count, int attempts);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, Message = "LlmObservability sink '{Sink}': the destination rejected {Count} records for good; they are counted as rejected and not retried. Further rejections are logged at Debug until a batch is delivered in full.")]
    private static partial void LogRejected(ILogger logger, Exception exception, string sink, int count);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "LlmObservability sink '{Sink}': the destination rejected {Count} more records: {Reason}")]
    private static partial void LogRejectedAgain(ILogger logger, string sink, int count, string reason);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "LlmObservability sink '{Sink}' failed {Failures} times in a row; its circuit is open and it is tried once every {Duration} until a write succeeds.")]
    private static partial void LogCircuitOpened(ILogger logger, string sink, int failures, TimeSpan duration);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "LlmObservability sink '{Sink}' is reachable again; its circuit is closed.")]
    private static partial void LogCircuitClosed(ILogger logger, string sink);
}
