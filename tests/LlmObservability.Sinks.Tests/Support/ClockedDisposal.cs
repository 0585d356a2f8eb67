using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>
/// Disposes a dispatcher (or container) that runs on a fake clock. Its shutdown timeout runs on that clock too, so a
/// test that failed part-way could leave it waiting forever: the clock is moved on until disposal ends.
/// </summary>
internal sealed class ClockedDisposal(IAsyncDisposable target, FakeTimeProvider? time) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        var disposing = target.DisposeAsync().AsTask();
        while (time is not null && !disposing.IsCompleted)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.WhenAny(disposing, Task.Delay(10));
        }
        await disposing;
    }
}
