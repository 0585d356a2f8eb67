using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (port 0) for one provider's wire format: the subclass maps its routes; every
/// request body is kept (as JSON) with its path and query, so tests can check the provider got the caller's bytes.
/// </summary>
internal abstract class KestrelEmulator : IAsyncDisposable
{
    private WebApplication? _app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>The port Kestrel picked.</summary>
    public int Port => new Uri(BaseUrl).Port;

    public List<(string PathAndQuery, JsonElement Body)> Requests { get; } = [];

    protected async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        Map(_app);
        await _app.StartAsync();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
    }

    protected abstract void Map(WebApplication app);

    /// <summary>Reads and keeps the request body.</summary>
    protected async Task<JsonElement> ReadRequestAsync(HttpContext context)
    {
        using var document = await JsonDocument.ParseAsync(context.Request.Body);
        var body = document.RootElement.Clone();
        lock (Requests) Requests.Add((context.Request.Path + context.Request.QueryString, body));
        return body;
    }

    public static byte[] FixtureBytes(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    /// <summary>Writes each piece and flushes it, as a provider does with stream events.</summary>
    protected static async Task WritePiecesAsync(HttpContext context, string contentType, IEnumerable<byte[]> pieces)
    {
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        foreach (var piece in pieces)
        {
            await context.Response.Body.WriteAsync(piece);
            await context.Response.Body.FlushAsync();
        }
    }

    protected static async Task WriteBytesAsync(HttpContext context, int status, string contentType, byte[] body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.Body.WriteAsync(body);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
