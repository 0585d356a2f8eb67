using System.Net;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// A control for the latency table: the least a <see cref="DelegatingHandler"/> does to see a response body as the
/// caller reads it. It replaces the response's content with one that copies the content headers and hands out a
/// stream passing every read straight through, and records nothing. What it costs over bare is the floor for any
/// handler that watches bodies at the HTTP layer (ours, extended HTTP logging); what ours costs over it is the
/// observing itself.
/// </summary>
internal sealed class PassThroughHandler : DelegatingHandler
{
    public PassThroughHandler(HttpMessageHandler inner) => InnerHandler = inner;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.Content = new PassThroughContent(response.Content);
        return response;
    }

    private sealed class PassThroughContent : HttpContent
    {
        private readonly HttpContent _inner;

        public PassThroughContent(HttpContent inner)
        {
            _inner = inner;
            foreach (var header in inner.Headers.NonValidated) Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream);

        protected override async Task<Stream> CreateContentReadStreamAsync() => new PassThroughStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false));

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }

    private sealed class PassThroughStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }
    }
}
