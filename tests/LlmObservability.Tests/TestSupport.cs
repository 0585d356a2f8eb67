using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Tests;

internal static class Fixture
{
    public static string PathOf(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    public static string Text(string name) => File.ReadAllText(PathOf(name));
}

/// <summary>
/// Keep-alive frames as relays and gateways send them between a stream's events: an empty <c>data:</c> (with and
/// without a space, or only spaces), a comment, a block of only <c>id:</c> and <c>retry:</c>, and an event type
/// without data. None of them carries anything to parse.
/// </summary>
internal static class KeepAlive
{
    private static readonly string[] Frames = ["data:", "data: ", "data:   ", ": ping", "id: 7\nretry: 1000", "event: ping", "data:\ndata:"];

    /// <summary>The stream with a keep-alive before its first event and after each event, in the stream's own line ends.</summary>
    public static string Interleave(string sse)
    {
        var newline = sse.Contains("\r\n", StringComparison.Ordinal) ? "\r\n" : "\n";
        var separator = newline + newline;
        var events = sse.Split(separator, StringSplitOptions.RemoveEmptyEntries);
        var result = new StringBuilder();
        for (var i = 0; i < events.Length; i++)
        {
            result.Append(Frames[i % Frames.Length].Replace("\n", newline, StringComparison.Ordinal)).Append(separator);
            result.Append(events[i]).Append(separator);
        }
        return result.ToString();
    }

    /// <summary>
    /// Sends <paramref name="request"/> to a stream of <paramref name="fixture"/> with keep-alives between its events
    /// (cut into reads of <paramref name="chunkSize"/> bytes), checks that the caller got every byte and that the record
    /// is a success without a note, and returns it.
    /// </summary>
    public static async Task<StandardLoggingPayload> RecordAsync(string fixture, HttpRequestMessage request, int chunkSize = 7)
    {
        var payload = await SseCall.RecordAsync(Encoding.UTF8.GetBytes(Interleave(Fixture.Text(fixture))), request, chunkSize);
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error, Is.Null, "no capture note");
        return payload;
    }
}

/// <summary>Streams cut short: a fixture stream up to (not including) its event that holds a marker, read to its end.</summary>
internal static class CutStream
{
    public const string Note = "stream ended without its end-of-stream event";

    /// <summary>Sends <paramref name="request"/> to <paramref name="fixture"/> cut before the last event holding <paramref name="cutBefore"/>, reads it whole, and returns the record.</summary>
    public static async Task<StandardLoggingPayload> RecordAsync(string fixture, string cutBefore, HttpRequestMessage request)
    {
        var text = Fixture.Text(fixture);
        var at = text.LastIndexOf(cutBefore, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThan(0), $"{fixture} holds {cutBefore}");
        var eventStart = Math.Max(text.LastIndexOf("\n\n", at, StringComparison.Ordinal), text.LastIndexOf("\r\n\r\n", at, StringComparison.Ordinal));
        return await SseCall.RecordAsync(Encoding.UTF8.GetBytes(text[..(eventStart + (text[eventStart] == '\r' ? 4 : 2))]), request);
    }
}

/// <summary>One call answered with an event stream.</summary>
internal static class SseCall
{
    /// <summary>Sends <paramref name="request"/>, answers it with <paramref name="body"/> in reads of <paramref name="chunkSize"/> bytes, checks that the caller read every byte, and returns the record.</summary>
    public static async Task<StandardLoggingPayload> RecordAsync(byte[] body, HttpRequestMessage request, int chunkSize = 7)
    {
        await using var harness = new Harness(StubHandler.Sse(body, chunkSize));
        using (var response = await harness.Client.SendAsync(request)) Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(body));
        return await harness.SinglePayloadAsync();
    }
}

/// <summary>An inner handler whose answers the test scripts.</summary>
internal sealed class StubHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    public List<byte[]?> RequestBodies { get; } = [];

    public int Calls { get; private set; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Calls++;
        RequestBodies.Add(request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken));
        var response = await respond(request, cancellationToken);
        response.RequestMessage = request;
        return response;
    }

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        SendAsync(request, cancellationToken).GetAwaiter().GetResult();

    public static StubHandler Json(string fixture, HttpStatusCode status = HttpStatusCode.OK, Action<HttpResponseMessage>? configure = null) =>
        new((_, _) =>
        {
            var response = new HttpResponseMessage(status) { Content = new ByteArrayContent(Fixture.Bytes(fixture)) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            configure?.Invoke(response);
            return Task.FromResult(response);
        });

    public static StubHandler Sse(byte[] body, int chunkSize = 7) =>
        new((_, _) => Task.FromResult(SseResponse(new ChunkedStream(Split(body, chunkSize)))));

    public static HttpResponseMessage SseResponse(Stream body)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
        return response;
    }

    /// <summary>An SSE fixture cut into its events, one per read, each with its blank line.</summary>
    public static byte[][] SseEvents(string fixture) =>
        Encoding.UTF8.GetString(Fixture.Bytes(fixture)).Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + "\n\n")).ToArray();

    /// <summary>An SSE response on a fake clock: headers after <paramref name="headersMs"/>, then each event after another <paramref name="eachMs"/>.</summary>
    public static StubHandler TimedSse(Func<FakeTimeProvider> time, byte[][] events, int headersMs = 20, int eachMs = 10) =>
        new((_, _) =>
        {
            time().Advance(TimeSpan.FromMilliseconds(headersMs));
            return Task.FromResult(SseResponse(new ChunkedStream(events, async _ => { await Task.Yield(); time().Advance(TimeSpan.FromMilliseconds(eachMs)); })));
        });

    public static IEnumerable<byte[]> Split(byte[] body, int size)
    {
        for (var i = 0; i < body.Length; i += size) yield return body.AsSpan(i, Math.Min(size, body.Length - i)).ToArray();
    }
}

/// <summary>A read-only stream that hands out one chunk per read, optionally running a hook before each chunk, and can fail at a chosen chunk.</summary>
internal sealed class ChunkedStream(IEnumerable<byte[]> chunks, Func<int, Task>? beforeChunk = null, int failAtChunk = -1) : ReadOnlyTestStream
{
    private readonly IEnumerator<byte[]> _chunks = chunks.GetEnumerator();
    private byte[]? _current;
    private int _offset;
    private int _index = -1;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_current is null || _offset >= _current.Length)
        {
            if (!_chunks.MoveNext()) return 0;
            _index++;
            if (beforeChunk is not null) await beforeChunk(_index).WaitAsync(cancellationToken);
            if (_index == failAtChunk) throw new IOException("The response ended prematurely (test).");
            _current = _chunks.Current;
            _offset = 0;
        }
        var count = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, count).CopyTo(buffer);
        _offset += count;
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
}

/// <summary>A stream a test only reads from: every member but the reads is fixed here.</summary>
internal abstract class ReadOnlyTestStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A handler in front of a stub, with a collecting sink behind a real dispatcher, and a fake clock for timings.</summary>
internal sealed class Harness : IAsyncDisposable
{
    public Harness(HttpMessageHandler inner, LlmObservabilityOptions? options = null)
    {
        Sink = new CollectingSink();
        Dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(Sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })], options);
        Handler = new LlmObservabilityHandler(Dispatcher, Time) { InnerHandler = inner };
        Client = new HttpClient(Handler);
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
    public CollectingSink Sink { get; }
    public LlmLogDispatcher Dispatcher { get; }
    public LlmObservabilityHandler Handler { get; }
    public HttpClient Client { get; }

    public const string ChatUrl = "https://api.openai.com/v1/chat/completions";

    /// <summary>A POST of a JSON body to any URL, with a bearer key.</summary>
    public static HttpRequestMessage Post(string url, string body) => ChatRequest(body, url);

    public static HttpRequestMessage ChatRequest(string body, string url = ChatUrl)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789");
        return request;
    }

    public static string SimpleChatBody(bool stream = false) =>
        $$"""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}],"temperature":0.5,"stream":{{(stream ? "true" : "false")}}{{(stream ? ",\"stream_options\":{\"include_usage\":true}" : "")}}}""";

    /// <summary>Flushes and returns the only payload recorded so far.</summary>
    public async Task<StandardLoggingPayload> SinglePayloadAsync()
    {
        await Dispatcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(Sink.Payloads, Has.Count.EqualTo(1), "exactly one payload");
        return Sink.Payloads[0];
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Dispatcher.DisposeAsync();
    }
}
