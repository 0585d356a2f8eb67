namespace LlmObservability.Dispatch;

/// <summary>
/// A monotonically increasing count that callers can await reaching a target. Advancing is lock-free unless someone is
/// waiting, so the hot path (one advance per record) stays cheap.
/// </summary>
internal sealed class ProgressCounter
{
    private readonly Lock _gate = new();
    private readonly List<(long Target, TaskCompletionSource Signal)> _waiters = [];
    private long _value;
    private int _waiterCount;

    public long Value => Interlocked.Read(ref _value);

    public void Advance(long by = 1)
    {
        var value = Interlocked.Add(ref _value, by);
        if (Volatile.Read(ref _waiterCount) == 0) return;
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Target <= value)
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
            Volatile.Write(ref _waiterCount, _waiters.Count);
        }
    }

    public Task WaitForAsync(long target, CancellationToken cancellationToken)
    {
        if (Value >= target) return Task.CompletedTask;
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _waiters.Add((target, signal));
            Interlocked.Exchange(ref _waiterCount, _waiters.Count);
        }
        // Interlocked.Add in Advance and Interlocked.Exchange above are both full fences: either Advance sees the waiter, or this re-check sees its value.
        if (Value >= target) signal.TrySetResult();
        return signal.Task.WaitAsync(cancellationToken);
    }
}
