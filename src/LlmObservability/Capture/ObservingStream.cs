using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace LlmObservability.Capture;

/// <summary>
/// Wraps a response body stream: every read is passed straight through (same bytes, same sizes, same moment, same
/// exceptions) and shown to the <see cref="ResponseCapture"/> on the way. Nothing is read ahead or buffered.
/// </summary>
/// <remarks>
/// A read that has to wait for the network (most of a stream's reads) completes through this stream itself, as the
/// <see cref="IValueTaskSource{TResult}"/> of the <see cref="ValueTask{TResult}"/> the caller awaits: when the inner
/// read completes, the bytes are observed and the caller's continuation runs, as it would have run from the inner
/// read. One source serves every read, because a stream has one read outstanding at a time; no async state machine,
/// box or pool is involved (an async method here cost each waiting read a pooled box and a second resumption).
/// </remarks>
internal sealed class ObservingStream : Stream, IValueTaskSource<int>
{
    private readonly Stream _inner;
    private readonly ResponseCapture _capture;
    private Action? _innerCompleted; // made by the first read that waits: a whole body read at once never needs it
    private ManualResetValueTaskSourceCore<int> _read; // continuations run where the inner read completes, as without us
    private ConfiguredValueTaskAwaitable<int>.ConfiguredValueTaskAwaiter _innerRead;
    private Memory<byte> _readBuffer;
    private CancellationToken _readToken;

    public ObservingStream(Stream inner, ResponseCapture capture)
    {
        _inner = inner;
        _capture = capture;
    }

    public override bool CanRead => _inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override bool CanTimeout => _inner.CanTimeout;

    public override int ReadTimeout
    {
        get => _inner.ReadTimeout;
        set => _inner.ReadTimeout = value;
    }

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _inner.Read(buffer);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, CancellationToken.None);
            throw;
        }
        Observe(buffer[..read], buffer.Length);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ValueTask<int> pending;
        try
        {
            pending = _inner.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, cancellationToken);
            throw;
        }
        if (!pending.IsCompletedSuccessfully)
        {
            // Waits for the network (or failed): the caller awaits this stream, which observes the bytes, or the failure,
            // when the inner read completes, and ends the caller's read as the inner read ended.
            _readBuffer = buffer;
            _readToken = cancellationToken;
            _read.Reset();
            _innerRead = pending.ConfigureAwait(false).GetAwaiter();
            _innerRead.UnsafeOnCompleted(_innerCompleted ??= OnInnerReadCompleted);
            return new ValueTask<int>(this, _read.Version);
        }
        // Data already there: the common case mid-stream.
        var read = pending.Result;
        Observe(buffer.Span[..read], buffer.Length);
        return new ValueTask<int>(read);
    }

    private void OnInnerReadCompleted()
    {
        var buffer = _readBuffer;
        var cancellationToken = _readToken;
        (_readBuffer, _readToken) = (default, default); // the caller's buffer is not held past its read
        int read;
        try
        {
            read = _innerRead.GetResult();
        }
        catch (Exception ex)
        {
            _innerRead = default;
            _capture.Fail(ex, cancellationToken);
            _read.SetException(ex);
            return;
        }
        _innerRead = default;
        try
        {
            Observe(buffer.Span[..read], buffer.Length);
        }
        catch (Exception)
        {
            // Not expected (the capture keeps its own failures). Here, on the thread that completed the inner read, an
            // exception would go unobserved or end the process; the caller's read ends as the inner read did.
        }
        _read.SetResult(read);
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    private void Observe(ReadOnlySpan<byte> bytes, int requested)
    {
        if (bytes.Length > 0) _capture.OnBytes(bytes);
        else if (requested > 0) _capture.Complete(CallEnd.Completed);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _capture.Complete(CallEnd.Disposed);
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _capture.Complete(CallEnd.Disposed);
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>
/// Replaces a response's <see cref="HttpContent"/> so that however the caller reads it (stream, string, bytes, copy,
/// HttpClient's own buffering) the bytes flow through one <see cref="ObservingStream"/>. Headers are copied as they are.
/// </summary>
internal sealed class ObservedContent : HttpContent
{
    private readonly HttpContent _inner;
    private ResponseCapture _capture = null!;

    /// <summary>Copies the inner content's headers, noting on the way the ones the capture decides by (<see cref="Facts"/>); <see cref="Watch"/> then gives it its capture.</summary>
    public ObservedContent(HttpContent inner)
    {
        _inner = inner;
        Facts = CopyHeaders(inner.Headers, Headers);
    }

    /// <summary>The raw Content-Type, Content-Length and Content-Encoding values, read in the copy's one pass.</summary>
    public ContentHeaderFacts Facts { get; }

    /// <summary>Sets the capture that sees the bytes; called once, before the content is handed to the caller.</summary>
    public ObservedContent Watch(ResponseCapture capture)
    {
        _capture = capture;
        return this;
    }

    /// <summary>
    /// Copies the raw values as they are (NonValidated), without parsing every header on the caller's path; a single
    /// value goes as its own string, without enumerating it. Returns the values the capture decides by.
    /// </summary>
    internal static ContentHeaderFacts CopyHeaders(HttpContentHeaders from, HttpContentHeaders to)
    {
        var facts = default(ContentHeaderFacts);
        foreach (var header in from.NonValidated)
        {
            var values = header.Value;
            facts.Note(header.Key, values);
            if (values.Count == 1) to.TryAddWithoutValidation(header.Key, values.ToString());
            else to.TryAddWithoutValidation(header.Key, values);
        }
        return facts;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    // Copy-out paths (HttpClient's own buffering, ReadAsString/ByteArray, CopyTo) let the inner content write the way it
    // writes best, and watch the writes: no extra read buffer, no extra copy.
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            await _inner.CopyToAsync(new ObservingWriteStream(stream, _capture), context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, cancellationToken);
            throw;
        }
        _capture.Complete(CallEnd.Completed);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            _inner.CopyTo(new ObservingWriteStream(stream, _capture), context, cancellationToken);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, cancellationToken);
            throw;
        }
        _capture.Complete(CallEnd.Completed);
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => CreateContentReadStreamAsync(CancellationToken.None);

    protected override Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken)
    {
        Task<Stream> inner;
        try
        {
            inner = _inner.ReadAsStreamAsync(cancellationToken);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, cancellationToken);
            throw;
        }
        // A received response's stream is there at once: wrapped without an async state machine.
        return inner.IsCompletedSuccessfully ? Task.FromResult<Stream>(new ObservingStream(inner.Result, _capture)) : WrapAsync(inner, cancellationToken);
    }

    private async Task<Stream> WrapAsync(Task<Stream> pending, CancellationToken cancellationToken)
    {
        Stream inner;
        try
        {
            inner = await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, cancellationToken);
            throw;
        }
        return new ObservingStream(inner, _capture);
    }

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken)
    {
        Stream inner;
        try
        {
            inner = _inner.ReadAsStream(cancellationToken);
        }
        catch (Exception ex)
        {
            _capture.Fail(ex, cancellationToken);
            throw;
        }
        return new ObservingStream(inner, _capture);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false; // the copied Content-Length header, if any, already answers
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _capture.Complete(CallEnd.Disposed);
            _inner.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>The content headers a response's capture decides by, as their raw values (none is parsed on the caller's path).</summary>
internal struct ContentHeaderFacts
{
    private HeaderStringValues _encoding;
    private bool _hasEncoding;

    /// <summary>The first Content-Type value as sent (parameters included); null when there is none.</summary>
    public string? ContentType { get; private set; }

    /// <summary>The first Content-Length value as sent; null when there is none.</summary>
    public string? ContentLength { get; private set; }

    public void Note(string name, HeaderStringValues values)
    {
        if (values.Count == 0) return;
        if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) ContentType ??= RawHeader.First(values);
        else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) ContentLength ??= RawHeader.First(values);
        else if (name.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase)) (_encoding, _hasEncoding) = (values, true);
    }

    /// <summary>The media type without parameters (<c>text/event-stream; charset=utf-8</c> → <c>text/event-stream</c>).</summary>
    public readonly ReadOnlySpan<char> MediaType
    {
        get
        {
            var value = ContentType.AsSpan();
            var semicolon = value.IndexOf(';');
            return (semicolon < 0 ? value : value[..semicolon]).Trim();
        }
    }

    /// <summary>
    /// The content codings, comma-separated without spaces as the parsed header lists them; null when there are none.
    /// A single plain value is taken as it is; anything else is parsed from <paramref name="headers"/>.
    /// </summary>
    public readonly string? ContentEncoding(HttpContentHeaders headers)
    {
        if (!_hasEncoding) return null;
        if (_encoding.Count == 1 && _encoding.ToString() is var single && !single.Contains(',') && !single.Contains(' ')) return single.Length == 0 ? null : single;
        var encoding = headers.ContentEncoding;
        return encoding.Count == 0 ? null : string.Join(",", encoding);
    }

    /// <summary>The declared length as received; a content without the header (an in-memory one computes its length) is asked.</summary>
    public readonly long? Length(HttpContentHeaders headers)
    {
        if (ContentLength is not { } raw) return headers.ContentLength;
        return long.TryParse(raw, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) ? length : null;
    }
}

/// <summary>Header values as received (<c>NonValidated</c>): nothing is parsed, and nothing enumerated through LINQ, on the caller's path.</summary>
internal static class RawHeader
{
    /// <summary>The first value of the header <paramref name="name"/>; null when there is none.</summary>
    public static string? First(HttpHeaders headers, string name) => headers.NonValidated.TryGetValues(name, out var values) ? First(values) : null;

    /// <summary>The first of <paramref name="values"/>; null when there is none.</summary>
    public static string? First(HeaderStringValues values)
    {
        foreach (var value in values) return value;
        return null;
    }
}

/// <summary>A write-through stream that shows every write to the <see cref="ResponseCapture"/> before passing it on.</summary>
internal sealed class ObservingWriteStream(Stream destination, ResponseCapture capture) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        capture.OnBytes(buffer);
        destination.Write(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        capture.OnBytes(buffer.Span);
        return destination.WriteAsync(buffer, cancellationToken);
    }

    public override void Flush() => destination.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => destination.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
