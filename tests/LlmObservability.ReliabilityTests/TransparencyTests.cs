using System.IO.Compression;
using System.Net;
using System.Text;
using LlmObservability.Dispatch;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The caller sees the same bytes, headers (other than x-llm-call-id) and exceptions with and without the handler, over a
/// real Kestrel server, for every response shape the issue lists.
/// </summary>
public class TransparencyTests
{
    private static readonly SemaphoreSlim AbortNow = new(0);
    private WebApplication _server = null!;
    private string _baseUrl = null!;
    private static readonly byte[] LargeBody = BuildLargeBody(3 * 1024 * 1024);
    private static readonly string ChatJson = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "openai", "chat-response.json"));
    private static readonly string ChatSse = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "openai", "chat-stream.sse"));

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _server = builder.Build();
        _server.MapPost("/{scenario}/v1/chat/completions", Serve);
        await _server.StartAsync();
        _baseUrl = _server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    }

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    private static async Task Serve(HttpContext context, string scenario)
    {
        await context.Request.Body.CopyToAsync(Stream.Null);
        var response = context.Response;
        response.Headers["x-request-id"] = "req_fixed";
        switch (scenario)
        {
            case "json":
                response.ContentType = "application/json";
                await response.WriteAsync(ChatJson);
                break;
            case "sse":
                response.ContentType = "text/event-stream";
                foreach (var e in ChatSse.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
                {
                    await response.WriteAsync(e + "\n\n");
                    await response.Body.FlushAsync();
                }
                break;
            case "gzip":
            case "br":
                response.ContentType = "application/json";
                response.Headers.ContentEncoding = scenario;
                var raw = Encoding.UTF8.GetBytes(ChatJson);
                var compressed = new MemoryStream();
                await using (Stream z = scenario == "gzip" ? new GZipStream(compressed, CompressionLevel.Fastest, true) : new BrotliStream(compressed, CompressionLevel.Fastest, true)) await z.WriteAsync(raw);
                response.ContentLength = compressed.Length;
                await response.Body.WriteAsync(compressed.ToArray());
                break;
            case "chunked":
                response.ContentType = "application/json";
                var bytes = Encoding.UTF8.GetBytes(ChatJson);
                for (var i = 0; i < bytes.Length; i += 37)
                {
                    await response.Body.WriteAsync(bytes.AsMemory(i, Math.Min(37, bytes.Length - i)));
                    await response.Body.FlushAsync();
                }
                break;
            case "empty":
                response.StatusCode = 200;
                response.ContentLength = 0;
                break;
            case "large":
                response.ContentType = "application/json";
                await response.Body.WriteAsync(LargeBody);
                break;
            case "error":
                response.StatusCode = 429;
                response.Headers["retry-after"] = "3";
                response.ContentType = "application/json";
                await response.WriteAsync("{\"error\":{\"message\":\"slow down\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}");
                break;
            case "hang":
                response.ContentType = "text/event-stream";
                await response.WriteAsync(ChatSse.Split("\n\n")[0] + "\n\n");
                await response.Body.FlushAsync();
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                break;
            case "abort":
                response.ContentType = "text/event-stream";
                await response.WriteAsync(ChatSse.Split("\n\n")[0] + "\n\n");
                await response.Body.FlushAsync();
                await AbortNow.WaitAsync(context.RequestAborted); // the client has the first event: cut the connection now
                context.Abort();
                break;
        }
    }

    private static byte[] BuildLargeBody(int size)
    {
        var head = "{\"id\":\"chatcmpl-large\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"";
        var tail = "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";
        return Encoding.UTF8.GetBytes(head + new string('x', size - head.Length - tail.Length) + tail);
    }

    private sealed record Outcome(int? Status, string Headers, byte[] Body, string? Exception);

    private static SocketsHttpHandler Transport(bool decompress) => new SocketsHttpHandler
    {
        AutomaticDecompression = decompress ? DecompressionMethods.All : DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(1),
    };

    private async Task<Outcome> CallAsync(HttpClient client, string scenario, Func<Stream, CancellationToken, Task<byte[]>> read, HttpCompletionOption completion, CancellationToken cancel = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_baseUrl}/{scenario}/v1/chat/completions")
        {
            Content = new StringContent("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}", Encoding.UTF8, "application/json"),
        };
        try
        {
            using var response = await client.SendAsync(request, completion, cancel);
            var headers = string.Join("\n", response.Headers.Concat(response.Content.Headers)
                .Where(h => h.Key is not ("Date" or "x-llm-call-id"))
                .OrderBy(h => h.Key, StringComparer.Ordinal)
                .Select(h => $"{h.Key}: {string.Join(",", h.Value)}"));
            var body = await read(await response.Content.ReadAsStreamAsync(cancel), cancel);
            return new Outcome((int)response.StatusCode, headers, body, null);
        }
        catch (Exception ex)
        {
            return new Outcome(null, "", [], $"{ex.GetType().FullName}: {ex.Message}");
        }
    }

    private static async Task<byte[]> ReadAll(Stream stream, int bufferSize, CancellationToken cancel)
    {
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancel)) > 0) output.Write(buffer, 0, read);
        return output.ToArray();
    }

    private static IEnumerable<TestCaseData> Scenarios()
    {
        foreach (var scenario in new[] { "json", "sse", "gzip", "br", "chunked", "empty", "large", "error" })
        foreach (var decompress in new[] { true, false })
        foreach (var buffer in new[] { 1, 7, 81920 })
        foreach (var completion in new[] { HttpCompletionOption.ResponseHeadersRead, HttpCompletionOption.ResponseContentRead })
        {
            if (scenario == "large" && buffer == 1) continue; // 3 MB one byte at a time says nothing new and takes long
            yield return new TestCaseData(scenario, decompress, buffer, completion).SetName($"{scenario}_decompress={decompress}_buffer={buffer}_{completion}");
        }
    }

    [TestCaseSource(nameof(Scenarios))]
    public async Task Bytes_headers_and_status_are_identical_with_and_without_the_handler(string scenario, bool decompress, int bufferSize, HttpCompletionOption completion)
    {
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })]);
        using var bare = new HttpClient(Transport(decompress));
        using var observed = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = Transport(decompress) });

        var without = await CallAsync(bare, scenario, (s, c) => ReadAll(s, bufferSize, c), completion);
        var with = await CallAsync(observed, scenario, (s, c) => ReadAll(s, bufferSize, c), completion);
        await dispatcher.FlushAsync();

        Assert.That(with.Exception, Is.EqualTo(without.Exception));
        Assert.That(with.Status, Is.EqualTo(without.Status));
        Assert.That(with.Headers, Is.EqualTo(without.Headers));
        Assert.That(with.Body, Is.EqualTo(without.Body), "byte for byte");
        Assert.That(sink.Payloads, Has.Count.EqualTo(1), "and the call was recorded");
        var payload = sink.Payloads[0];
        if (scenario is "json" or "sse" or "chunked" or "gzip" or "br") Assert.That(payload.TotalTokens, Is.EqualTo(scenario == "sse" ? 25 : 29), "usage read even when compressed or chunked");
    }

    [Test]
    public async Task Cancellation_mid_stream_throws_the_same_exception()
    {
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })]);
        using var bare = new HttpClient(Transport(true));
        using var observed = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = Transport(true) });

        async Task<string?> Run(HttpClient client)
        {
            using var cts = new CancellationTokenSource();
            var outcome = await CallAsync(client, "hang", async (stream, ignored) =>
            {
                var buffer = new byte[4096];
                _ = await stream.ReadAsync(buffer, cts.Token); // the first event
                var pending = stream.ReadAsync(buffer, cts.Token).AsTask();
                await cts.CancelAsync();
                await pending;
                return [];
            }, HttpCompletionOption.ResponseHeadersRead);
            return outcome.Exception;
        }

        var without = await Run(bare);
        var with = await Run(observed);
        await dispatcher.FlushAsync();
        Assert.That(with, Is.EqualTo(without).And.Not.Null);
        Assert.That(sink.Payloads.Single().Error!.Type, Is.EqualTo("cancelled"));
    }

    [Test]
    public async Task A_connection_cut_mid_stream_throws_the_same_exception()
    {
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })]);
        using var bare = new HttpClient(Transport(true));
        using var observed = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = Transport(true) });

        static async Task<byte[]> FirstEventThenCut(Stream stream, CancellationToken cancel)
        {
            var buffer = new byte[4096];
            _ = await stream.ReadAsync(buffer, cancel);
            AbortNow.Release();
            return await ReadAll(stream, 4096, cancel);
        }
        var without = await CallAsync(bare, "abort", FirstEventThenCut, HttpCompletionOption.ResponseHeadersRead);
        var with = await CallAsync(observed, "abort", FirstEventThenCut, HttpCompletionOption.ResponseHeadersRead);
        await dispatcher.FlushAsync();
        Assert.That(with.Exception, Is.EqualTo(without.Exception).And.Not.Null);
        Assert.That(sink.Payloads.Single().Status, Is.EqualTo(Payload.LlmCallStatus.Failure));
    }

    [Test]
    public async Task Disposing_the_response_before_its_end_behaves_the_same_and_the_connection_stays_usable()
    {
        var sink = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })]);
        using var bare = new HttpClient(Transport(true));
        using var observed = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = Transport(true) });

        static async Task<byte[]> FirstReadThenDispose(Stream stream, CancellationToken c)
        {
            var buffer = new byte[100];
            var read = await stream.ReadAsync(buffer, c);
            return buffer[..read]; // the response is disposed with most of its body unread
        }
        for (var i = 0; i < 20; i++)
        {
            var scenario = i % 2 == 0 ? "large" : "hang";
            var without = await CallAsync(bare, scenario, FirstReadThenDispose, HttpCompletionOption.ResponseHeadersRead);
            var with = await CallAsync(observed, scenario, FirstReadThenDispose, HttpCompletionOption.ResponseHeadersRead);
            Assert.That((with.Exception, with.Status, with.Body), Is.EqualTo((without.Exception, without.Status, without.Body)), $"call {i} ({scenario})");
            Assert.That(with.Exception, Is.Null);
        }
        var afterBare = await CallAsync(bare, "json", (s, c) => ReadAll(s, 4096, c), HttpCompletionOption.ResponseContentRead);
        var after = await CallAsync(observed, "json", (s, c) => ReadAll(s, 4096, c), HttpCompletionOption.ResponseContentRead);
        await dispatcher.FlushAsync();
        Assert.That(after.Body, Is.EqualTo(afterBare.Body).And.Length.EqualTo(Encoding.UTF8.GetByteCount(ChatJson)));
        Assert.That(sink.Payloads.Take(20).Select(p => p.Error?.Type), Has.All.EqualTo("incomplete_response"));
        Figures.Print("dispose-early", ("calls", 21), ("recorded", sink.Payloads.Count));
    }
}
