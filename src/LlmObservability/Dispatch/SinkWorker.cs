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
    private long _enqueued;
    private long _flushTarget;
    private long _delivered;
    private long _failed;
    private long _dropped;
    private long _filtered;
    private int _maxDepth;

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
        Completion = Task.CompletedTask;
    }

    public string Name { get; }

    public Task Completion { get; private set; }

    public void Start() => Completion = Task.Run(RunAsync);

    public void Complete() => _queue.Writer.TryComplete();

    public void Offer(StandardLoggingPayload payload)
    {
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
            while (await reader.WaitToReadAsync(stop).ConfigureAwait(false))
            {
                await FillBatchAsync(reader, buffer, stop).ConfigureAwait(false);
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
            while (batch.Count < max && reader.TryRead(out var item)) batch.Add(item);
            if (batch.Count >= max || interval <= TimeSpan.Zero || flushPending || flush.IsCompleted || reader.Completion.IsCompleted) return;
            var remaining = interval - time.GetElapsedTime(deadline);
            if (remaining <= TimeSpan.Zero) return;

            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var more = reader.WaitToReadAsync(delayCancel.Token).AsTask();
            var delay = Task.Delay(remaining, time, delayCancel.Token);
            var first = await Task.WhenAny(more, delay, flush).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);
            stop.ThrowIfCancellationRequested();
            if (first == more && (!more.IsCompletedSuccessfully || !more.Result)) return; // queue completed: send what we have
        }
    }

    private async Task DeliverAsync(StandardLoggingPayload[] batch, CancellationToken stop)
    {
        var time = _owner.TimeProvider;
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                Exception? failure;
                try
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                    if (_options.WriteTimeout != Timeout.InfiniteTimeSpan) timeout.CancelAfter(_options.WriteTimeout);
                    var write = _sink.WriteBatchAsync(batch, timeout.Token).AsTask();
                    // WaitAsync as well as the token: a sink that ignores its token must not hold this loop.
                    await (_options.WriteTimeout == Timeout.InfiniteTimeSpan ? write.WaitAsync(stop) : write.WaitAsync(_options.WriteTimeout, time, stop)).ConfigureAwait(false);
                    Interlocked.Add(ref _delivered, batch.Length);
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

                if (attempt >= _options.MaxRetries)
                {
                    Interlocked.Add(ref _failed, batch.Length);
                    LogGaveUp(_owner.Logger, failure, Name, batch.Length, attempt + 1);
                    return;
                }
                var delay = RetryDelay(attempt);
                LogRetrying(_owner.Logger, failure, Name, batch.Length, delay);
                await Task.Delay(delay, time, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Interlocked.Add(ref _dropped, batch.Length);
            throw;
        }
        finally
        {
            _completed.Advance(batch.Length);
        }
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

    private TimeSpan RetryDelay(int attempt)
    {
        var baseTicks = _options.RetryBaseDelay.Ticks * Math.Pow(2, Math.Min(attempt, 30));
        var jittered = baseTicks * (0.8 + (0.4 * Random.Shared.NextDouble()));
        return TimeSpan.FromTicks((long)Math.Min(jittered, _options.RetryMaxDelay.Ticks));
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "LlmObservability sink '{Sink}' failed to write {Count} records; retrying in {Delay}.")]
    private static partial void LogRetrying(ILogger logger, Exception exception, string sink, int count, TimeSpan delay);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "LlmObservability sink '{Sink}' failed to write {Count} records after {Attempts} attempts; they are counted as failed.")]
    private static partial void LogGaveUp(ILogger logger, Exception exception, string sink, int count, int attempts);
}
