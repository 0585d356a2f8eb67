using System.Buffers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port 0) that speaks OpenAI chat completions: it reads the whole request, then
/// answers with the fixture JSON (with Content-Length), or, when the request asks to stream, sends the first event at
/// once and flushes it, then (after <paramref name="pauseAfterFirstEvent"/>, if any: a model still generating) every
/// other event, each flushed on its own as providers do.
/// </summary>
internal sealed class LoopbackLlmServer(TimeSpan pauseAfterFirstEvent = default) : IAsyncDisposable
{
    private static readonly byte[] StreamMarker = "\"stream\":true"u8.ToArray();
    private WebApplication? _app;

    /// <summary>The chat completions URL, e.g. <c>http://127.0.0.1:41234/v1/chat/completions</c>.</summary>
    public Uri ChatUri { get; private set; } = null!;

    public static async Task<LoopbackLlmServer> StartAsync(TimeSpan pauseAfterFirstEvent = default)
    {
        var server = new LoopbackLlmServer(pauseAfterFirstEvent);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost(ChatFixtures.ChatPath, server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        server._app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server.ChatUri = new Uri(new Uri(address), ChatFixtures.ChatPath);
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var streaming = await IsStreamingRequestAsync(context.Request.Body, context.RequestAborted).ConfigureAwait(false);
        var response = context.Response;
        response.StatusCode = 200;
        if (!streaming)
        {
            response.ContentType = "application/json";
            response.ContentLength = ChatFixtures.ResponseBody.Length;
            await response.Body.WriteAsync(ChatFixtures.ResponseBody, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        var events = ChatFixtures.StreamEvents;
        await response.Body.WriteAsync(events[0], context.RequestAborted).ConfigureAwait(false);
        await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        // Simulates the model producing the next tokens; this is the provider's time, not a wait for our own work.
        if (pauseAfterFirstEvent > TimeSpan.Zero) await Task.Delay(pauseAfterFirstEvent, context.RequestAborted).ConfigureAwait(false);
        for (var i = 1; i < events.Length; i++)
        {
            await response.Body.WriteAsync(events[i], context.RequestAborted).ConfigureAwait(false);
            await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>Reads a request body to its end and tells whether it asks for a stream (<c>"stream":true</c>).</summary>
    public static async Task<bool> IsStreamingRequestAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan().CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
            }
            return buffer.AsSpan(0, length).IndexOf(StreamMarker) >= 0;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
