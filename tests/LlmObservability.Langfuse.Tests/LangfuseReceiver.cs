using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Opentelemetry.Proto.Collector.Trace.V1;
using Opentelemetry.Proto.Trace.V1;

namespace LlmObservability.Langfuse.Tests;

/// <summary>One request the receiver accepted, decoded with the OTLP types generated from opentelemetry-proto.</summary>
internal sealed record ReceivedRequest(ExportTraceServiceRequest Request, int CompressedBytes, int UncompressedBytes)
{
    public IEnumerable<Span> Spans => Request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans);
}

/// <summary>
/// A stand-in for Langfuse's OTLP endpoint on 127.0.0.1: <c>POST /api/public/otel/v1/traces</c> that checks Basic auth
/// (401 otherwise, like Langfuse), requires <c>application/x-protobuf</c> with <c>Content-Encoding: gzip</c>, and
/// decodes the body with Google.Protobuf. Answers can be scripted per request; it can be stopped and started again on
/// the same port.
/// </summary>
internal sealed class LangfuseReceiver : IAsyncDisposable
{
    public const string PublicKey = "pk-lf-test-public";
    public const string SecretKey = "sk-lf-test-secret";
    public const string Path = "/api/public/otel/v1/traces";

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(60); // a safety net against hangs, not a timing assertion

    private readonly ConcurrentQueue<Action<HttpResponse>?> _script = new(); // null: handle normally
    private readonly ConcurrentQueue<ReceivedRequest> _accepted = new();
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly object _signalLock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private int _attempts;

    private LangfuseReceiver()
    {
    }

    public int Port { get; private set; }

    public string Host => $"http://127.0.0.1:{Port}";

    /// <summary>Every request that reached the endpoint, accepted or not.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    public IReadOnlyList<ReceivedRequest> Accepted => [.. _accepted];

    public IReadOnlyList<Span> Spans => [.. _accepted.SelectMany(r => r.Spans)];

    /// <summary>Protocol violations seen (wrong content type, no gzip, undecodable body); tests expect none.</summary>
    public IReadOnlyList<string> Problems => [.. _problems];

    public static async Task<LangfuseReceiver> StartAsync()
    {
        var receiver = new LangfuseReceiver();
        await receiver.StartOnAsync(0);
        return receiver;
    }

    /// <summary>Answers the next request with <paramref name="status"/> instead of handling it.</summary>
    public void Enqueue(HttpStatusCode status, Action<HttpResponse>? configure = null) =>
        _script.Enqueue(response =>
        {
            response.StatusCode = (int)status;
            configure?.Invoke(response);
        });

    /// <summary>Handles the next request normally (so that a scripted answer can be given to a later one).</summary>
    public void EnqueueNormal() => _script.Enqueue(null);

    /// <summary>Stops listening: connections are refused until <see cref="RestartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public Task RestartAsync() => StartOnAsync(Port);

    public Task WaitForSpansAsync(int count) => WaitUntilAsync(() => Spans.Count >= count);

    public Task WaitForAttemptsAsync(int count) => WaitUntilAsync(() => Attempts >= count);

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task WaitUntilAsync(Func<bool> condition)
    {
        using var limit = new CancellationTokenSource(WaitLimit);
        while (true)
        {
            Task changed;
            lock (_signalLock) changed = _changed.Task;
            if (condition()) return;
            await changed.WaitAsync(limit.Token);
        }
    }

    private void Signal()
    {
        lock (_signalLock)
        {
            var previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            previous.TrySetResult();
        }
    }

    private async Task StartOnAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        app.MapPost(Path, HandleAsync);
        await app.StartAsync();
        Port = new Uri(app.Urls.Single()).Port;
        _app = app;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _attempts);
        try
        {
            await HandleCoreAsync(context);
        }
        catch (Exception ex)
        {
            _problems.Enqueue("receiver failed: " + ex);
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
        }
        finally
        {
            Signal();
        }
    }

    private async Task HandleCoreAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (_script.TryDequeue(out var scripted) && scripted is not null)
        {
            scripted(response);
            return;
        }

        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{PublicKey}:{SecretKey}"));
        if (request.Headers.Authorization.ToString() != expected)
        {
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.ContentType = "application/json";
            await response.WriteAsync("{\"message\":\"Invalid credentials. Confirm that you've configured the correct host.\"}");
            return;
        }
        if (request.ContentType != "application/x-protobuf")
        {
            Reject($"content type was '{request.ContentType}'");
            return;
        }
        if (request.Headers.ContentEncoding.ToString() != "gzip")
        {
            Reject($"content encoding was '{request.Headers.ContentEncoding}'");
            return;
        }

        using var compressed = new MemoryStream();
        await request.Body.CopyToAsync(compressed);
        byte[] body;
        try
        {
            compressed.Position = 0;
            using var gzip = new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true);
            using var plain = new MemoryStream();
            await gzip.CopyToAsync(plain);
            body = plain.ToArray();
        }
        catch (InvalidDataException ex)
        {
            Reject("body is not gzip: " + ex.Message);
            return;
        }

        ExportTraceServiceRequest decoded;
        try
        {
            decoded = ExportTraceServiceRequest.Parser.ParseFrom(body);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            Reject("body is not an ExportTraceServiceRequest: " + ex.Message);
            return;
        }

        _accepted.Enqueue(new ReceivedRequest(decoded, (int)compressed.Length, body.Length));
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        await response.WriteAsync("{}");

        void Reject(string problem)
        {
            _problems.Enqueue(problem);
            response.StatusCode = StatusCodes.Status400BadRequest;
        }
    }
}
