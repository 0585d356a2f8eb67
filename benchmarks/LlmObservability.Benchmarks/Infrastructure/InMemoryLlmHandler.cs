using System.Net;
using System.Net.Http.Headers;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// A provider with no network at all: answers a chat request with the fixture JSON, or a streamed one with the fixture
/// events, served one event per read from a non-seekable stream of unknown length, as a socket would deliver them.
/// Nothing else hides the pipeline's own cost here.
/// </summary>
internal sealed class InMemoryLlmHandler : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // A real transport reads the request body; so does this one (into a reused buffer).
        var streaming = false;
        if (request.Content is { } content)
        {
            await using var body = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            streaming = await LoopbackLlmServer.IsStreamingRequestAsync(body, cancellationToken).ConfigureAwait(false);
        }
        HttpResponseMessage response;
        if (streaming)
        {
            response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new EventStreamContent(ChatFixtures.StreamEvents), RequestMessage = request };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        }
        else
        {
            response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(ChatFixtures.ResponseBody), RequestMessage = request };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        return response;
    }

    /// <summary>Content of unknown length whose stream hands out at most one event per read.</summary>
    private sealed class EventStreamContent(byte[][] events) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            foreach (var e in events) await stream.WriteAsync(e).ConfigureAwait(false);
        }

        protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(new EventReadStream(events));

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    private sealed class EventReadStream(byte[][] events) : Stream
    {
        private int _event;
        private int _offset;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(Span<byte> buffer)
        {
            if (_event >= events.Length) return 0;
            var current = events[_event].AsSpan(_offset);
            var n = Math.Min(current.Length, buffer.Length);
            current[..n].CopyTo(buffer);
            _offset += n;
            if (_offset == events[_event].Length)
            {
                _event++;
                _offset = 0;
            }
            return n;
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
