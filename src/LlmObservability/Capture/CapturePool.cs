using System.Buffers;

namespace LlmObservability.Capture;

/// <summary>
/// The pool for captured bytes (request and response bodies, stream events). Buffers are rented on the caller's thread
/// and returned on the dispatcher's once the payload is built (<see cref="CallRecord.Release"/>), so a call's capture
/// allocates nothing for its bytes once the pool is warm. Not <see cref="ArrayPool{T}.Shared"/>: its per-thread caches
/// suit renting and returning on one thread; this pool keeps one set of buckets for every thread.
/// </summary>
internal static class CapturePool
{
    /// <summary>Largest buffer kept for reuse; larger ones are allocated and left to the GC.</summary>
    public const int MaxPooledBytes = 1024 * 1024;

    public static readonly ArrayPool<byte> Bytes = ArrayPool<byte>.Create(MaxPooledBytes, 64);
}

/// <summary>A write-only stream that copies what it is given into a pooled buffer, up to a cap.</summary>
internal sealed class CaptureWriteStream(int expectedLength, int cap) : Stream
{
    private byte[]? _buffer;

    /// <summary>Bytes written (all of them, also past the cap).</summary>
    public long Written { get; private set; }

    /// <summary>Whether more than the cap was written (then nothing is kept).</summary>
    public bool OverCap => Written > cap;

    /// <summary>Takes the pooled buffer (null when nothing or too much was written); the caller returns it to <see cref="CapturePool"/>.</summary>
    public byte[]? TakeBuffer()
    {
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null && OverCap)
        {
            CapturePool.Bytes.Return(buffer);
            return null;
        }
        return buffer;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> bytes)
    {
        var at = Written;
        Written += bytes.Length;
        if (bytes.IsEmpty || Written > cap) return;
        if (_buffer is null || _buffer.Length < Written)
        {
            var bigger = CapturePool.Bytes.Rent((int)Math.Max(Written, Math.Max(expectedLength, (_buffer?.Length ?? 0) * 2L)));
            if (_buffer is not null)
            {
                _buffer.AsSpan(0, (int)at).CopyTo(bigger);
                CapturePool.Bytes.Return(_buffer);
            }
            _buffer = bigger;
        }
        bytes.CopyTo(_buffer.AsSpan((int)at));
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _buffer is not null)
        {
            CapturePool.Bytes.Return(_buffer);
            _buffer = null;
        }
        base.Dispose(disposing);
    }
}
