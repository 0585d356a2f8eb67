using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that says when a timer of a given due time is created, so a test advances the clock
/// only once the wait it means to end has begun (a retry is logged just before its delay starts).
/// </summary>
internal sealed class TimerWatchingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly Lock _gate = new();
    private readonly List<(TimeSpan DueTime, TaskCompletionSource Signal)> _waiters = [];

    /// <summary>Completes when a timer due in exactly <paramref name="dueTime"/> is created (after this call).</summary>
    public Task WaitForTimerAsync(TimeSpan dueTime)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate) _waiters.Add((dueTime, signal));
        return signal.Task;
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            foreach (var waiter in _waiters.Where(w => w.DueTime == dueTime).ToList())
            {
                waiter.Signal.TrySetResult();
                _waiters.Remove(waiter);
            }
        }
        return timer;
    }
}
