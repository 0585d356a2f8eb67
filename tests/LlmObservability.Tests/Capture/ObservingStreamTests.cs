using System.Text;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Tests.Capture;

/// <summary>
/// The response stream's reads that wait for the network complete through the stream itself (its
/// <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/>): the caller must get exactly what the inner
/// read gave (bytes, exception, cancellation), and nothing our capture does may reach the caller's read or disposal.
/// </summary>
public class ObservingStreamTests
{
    [Test]
    public async Task A_read_that_waits_ends_with_the_inner_reads_bytes_and_the_capture_sees_them()
    {
        var inner = new GatedStream();
        var handedOver = new List<CallRecord>();
        var (stream, record) = Observe(inner, handedOver.Add);
        var buffer = new byte[64];

        for (var i = 0; i < 3; i++)
        {
            var read = stream.ReadAsync(buffer);
            Assert.That(read.IsCompleted, Is.False, "the inner read has not completed");
            inner.Complete(Encoding.UTF8.GetBytes($"part{i};"));
            Assert.That(await read, Is.EqualTo(6));
            Assert.That(Encoding.UTF8.GetString(buffer, 0, 6), Is.EqualTo($"part{i};"));
        }
        var end = stream.ReadAsync(buffer);
        inner.Complete([]);
        Assert.That(await end, Is.Zero);

        Assert.That(handedOver, Is.EqualTo(new[] { record }), "handed over once, at the end of the body");
        Assert.That(record.End, Is.EqualTo(CallEnd.Completed));
        Assert.That(Encoding.UTF8.GetString(record.ResponseBody!, 0, record.ResponseBodyLength), Is.EqualTo("part0;part1;part2;"));
    }

    [Test]
    public void A_read_that_waits_and_fails_ends_with_the_inner_reads_own_exception()
    {
        var inner = new GatedStream();
        var (stream, record) = Observe(inner, _ => { });
        var read = stream.ReadAsync(new byte[16]).AsTask();
        var failure = new IOException("connection reset (test)");

        inner.Fail(failure);

        Assert.That(async () => await read, Throws.Exception.SameAs(failure));
        Assert.That(read.IsFaulted, Is.True);
        Assert.That(record.End, Is.EqualTo(CallEnd.Exception));
        Assert.That(record.Exception, Is.SameAs(failure));
    }

    [Test]
    public void A_read_that_waits_and_is_cancelled_ends_cancelled()
    {
        var inner = new GatedStream();
        var (stream, record) = Observe(inner, _ => { });
        using var cancel = new CancellationTokenSource();
        var read = stream.ReadAsync(new byte[16], cancel.Token).AsTask();

        cancel.Cancel();
        inner.Fail(new OperationCanceledException(cancel.Token));

        Assert.That(async () => await read, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(read.IsCanceled, Is.True, "a cancelled read stays a cancellation, not a fault");
        Assert.That(record.End, Is.EqualTo(CallEnd.Cancelled));
    }

    [Test]
    public async Task A_hand_over_that_throws_never_reaches_the_caller()
    {
        var handOvers = 0;
        void Throwing(CallRecord _)
        {
            handOvers++;
            throw new InvalidOperationException("hand-over failed (test)");
        }

        // The end of the body reached by a read that waits.
        var waiting = new GatedStream();
        var (stream, _) = Observe(waiting, Throwing);
        var end = stream.ReadAsync(new byte[16]);
        waiting.Complete([]);
        Assert.That(await end, Is.Zero);

        // ... by a read that completes at once, and by a disposal.
        var (atOnce, _) = Observe(new MemoryStream([]), Throwing);
        Assert.That(await atOnce.ReadAsync(new byte[16]), Is.Zero);
        var disposed = new GatedStream();
        var (unread, _) = Observe(disposed, Throwing);
        Assert.DoesNotThrow(unread.Dispose);
        Assert.That(disposed.Disposed, Is.True, "the inner stream is still disposed");

        // ... and by a failed read, which still ends with the inner read's exception.
        var failing = new GatedStream();
        var (failed, _) = Observe(failing, Throwing);
        var read = failed.ReadAsync(new byte[16]).AsTask();
        var failure = new IOException("cut (test)");
        failing.Fail(failure);
        Assert.That(async () => await read, Throws.Exception.SameAs(failure));

        Assert.That(handOvers, Is.EqualTo(4));
    }

    private static (ObservingStream Stream, CallRecord Record) Observe(Stream inner, Action<CallRecord> onComplete)
    {
        var route = new ProviderRoute(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
        var record = new CallRecord(route) { Id = "test" };
        var capture = new ResponseCapture(record, null, StreamFraming.None, 1 << 20, null, TimeProvider.System, onComplete);
        return (new ObservingStream(inner, capture), record);
    }

    /// <summary>A stream whose every read waits until the test completes or fails it.</summary>
    private sealed class GatedStream : ReadOnlyTestStream
    {
        private TaskCompletionSource<int>? _pending;
        private Memory<byte> _buffer;

        public bool Disposed { get; private set; }

        public void Complete(byte[] bytes)
        {
            bytes.CopyTo(_buffer);
            Interlocked.Exchange(ref _pending, null)!.SetResult(bytes.Length);
        }

        public void Fail(Exception exception) => Interlocked.Exchange(ref _pending, null)!.SetException(exception);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _buffer = buffer;
            _pending = new TaskCompletionSource<int>();
            return new ValueTask<int>(_pending.Task);
        }

        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
