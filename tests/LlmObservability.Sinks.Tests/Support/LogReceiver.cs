using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>
/// A log receiver on 127.0.0.1 (Kestrel): records every request, answers as the test scripts it (200 by default), and
/// keeps the records of the requests it accepted. It can be stopped and started again on the same port.
/// </summary>
internal sealed class LogReceiver : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<ReceivedRequest> _requests = [];
    private readonly List<JsonElement> _records = [];
    private readonly List<(Func<int> Count, int Target, TaskCompletionSource Signal)> _waiters = [];
    private WebApplication? _app;

    private LogReceiver()
    {
    }

    public int Port { get; private set; }

    public Uri Url => new($"http://127.0.0.1:{Port}/ingest?key=secret-in-query");

    /// <summary>Answers request number n (1-based); null means 200. Runs before the records are kept.</summary>
    public Func<int, ReceivedRequest, Answer?>? Script { get; set; }

    /// <summary>Bodies larger than this are answered 413 (as a receiver with a body limit would).</summary>
    public int? MaxBodyBytes { get; set; }

    public IReadOnlyList<ReceivedRequest> Requests
    {
        get { lock (_gate) return [.. _requests]; }
    }

    /// <summary>Records from accepted (2xx) requests, in arrival order.</summary>
    public IReadOnlyList<JsonElement> Records
    {
        get { lock (_gate) return [.. _records]; }
    }

    public static async Task<LogReceiver> StartAsync()
    {
        var receiver = new LogReceiver();
        await receiver.StartOnAsync(0);
        return receiver;
    }

    public async Task StopAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }

    public Task RestartAsync() => StartOnAsync(Port);

    public Task WaitForRequestsAsync(int count) => WaitAsync(() => _requests.Count, count);

    public Task WaitForRecordsAsync(int count) => WaitAsync(() => _records.Count, count);

    /// <summary>Ids of the accepted records.</summary>
    public IReadOnlyList<string> RecordIds(string idField = "id") => [.. Records.Select(r => r.GetProperty(idField).GetString()!)];

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StartOnAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.MapPost("/ingest", HandleAsync);
        await app.StartAsync();
        Port = new Uri(app.Urls.First()).Port;
        _app = app;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var request = new ReceivedRequest(
            buffer.ToArray(),
            context.Request.ContentType,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            context.Request.QueryString.Value);
        int number;
        lock (_gate)
        {
            _requests.Add(request);
            number = _requests.Count;
        }

        var answer = MaxBodyBytes is { } max && request.Body.Length > max
            ? new Answer(413)
            : Script?.Invoke(number, request);
        if (answer is { Status: not (>= 200 and < 300) })
        {
            context.Response.StatusCode = answer.Status;
            if (answer.RetryAfter is { } retryAfter) context.Response.Headers.RetryAfter = retryAfter;
            await context.Response.WriteAsync(answer.Body ?? $"scripted {answer.Status}");
            Notify();
            return;
        }

        var records = Parse(request);
        lock (_gate) _records.AddRange(records);
        context.Response.StatusCode = answer?.Status ?? 200;
        Notify();
    }

    private static List<JsonElement> Parse(ReceivedRequest request)
    {
        if (request.ContentType?.StartsWith("application/x-ndjson", StringComparison.Ordinal) == true)
        {
            return [.. Encoding.UTF8.GetString(request.Body)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => JsonDocument.Parse(line).RootElement.Clone())];
        }
        using var document = JsonDocument.Parse(request.Body);
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    private Task WaitAsync(Func<int> count, int target)
    {
        lock (_gate)
        {
            if (count() >= target) return Task.CompletedTask;
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, target, signal));
            return signal.Task;
        }
    }

    private void Notify()
    {
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Count() >= _waiters[i].Target)
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}

internal sealed record ReceivedRequest(byte[] Body, string? ContentType, IReadOnlyDictionary<string, string> Headers, string? Query);

internal sealed record Answer(int Status, string? RetryAfter = null, string? Body = null);
