using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QuickStart;

/// <summary>
/// A tiny OpenAI-compatible server on 127.0.0.1, so the sample runs offline. It answers
/// <c>POST /v1/chat/completions</c> as OpenAI does: a whole <c>chat.completion</c>, or an SSE stream of
/// <c>chat.completion.chunk</c> events with a usage chunk before <c>[DONE]</c> when <c>stream_options.include_usage</c> is set.
/// A message containing "429" gets OpenAI's rate-limit error.
/// </summary>
internal sealed class EmbeddedOpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EmbeddedOpenAiServer(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }

    public static async Task<EmbeddedOpenAiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new EmbeddedOpenAiServer(app, address);
    }

    private static async Task HandleAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var model = request["model"]?.GetValue<string>() ?? "gpt-4o-mini";
        var prompt = string.Join("\n", request["messages"]!.AsArray().Select(m => m?["content"]?.ToString()));
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
        context.Response.Headers["x-request-id"] = "req_" + Guid.NewGuid().ToString("N");
        context.Response.Headers["x-ratelimit-limit-requests"] = "10000";
        context.Response.Headers["x-ratelimit-remaining-requests"] = "9999";

        if (prompt.Contains("429", StringComparison.Ordinal))
        {
            context.Response.StatusCode = 429;
            context.Response.Headers["retry-after"] = "1";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"error":{"message":"Rate limit reached for gpt-4o-mini in organization org-demo on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""");
            return;
        }

        var answer = $"You said {prompt.Length} characters. Here is a short, friendly answer.";
        var promptTokens = 8 + (prompt.Length / 4);
        var completionTokens = answer.Split(' ').Length + 2;
        var served = model + "-2024-07-18";
        var usage = new JsonObject
        {
            ["prompt_tokens"] = promptTokens,
            ["completion_tokens"] = completionTokens,
            ["total_tokens"] = promptTokens + completionTokens,
            ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 0, ["audio_tokens"] = 0 },
            ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0, ["audio_tokens"] = 0, ["accepted_prediction_tokens"] = 0, ["rejected_prediction_tokens"] = 0 },
        };

        if (request["stream"]?.GetValue<bool>() != true)
        {
            context.Response.ContentType = "application/json";
            var completion = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion",
                ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["model"] = served,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = answer, ["refusal"] = null, ["annotations"] = new JsonArray() },
                    ["logprobs"] = null,
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = usage,
                ["service_tier"] = "default",
                ["system_fingerprint"] = "fp_quickstart",
            };
            await context.Response.WriteAsync(completion.ToJsonString());
            return;
        }

        context.Response.ContentType = "text/event-stream";
        async Task Send(JsonNode chunk)
        {
            await context.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n");
            await context.Response.Body.FlushAsync();
        }
        JsonObject Chunk(JsonObject delta, string? finish) => new()
        {
            ["id"] = id,
            ["object"] = "chat.completion.chunk",
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["model"] = served,
            ["system_fingerprint"] = "fp_quickstart",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finish }),
            ["usage"] = null,
        };

        await Send(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "", ["refusal"] = null }, null));
        foreach (var word in answer.Split(' ').Select((w, i) => i == 0 ? w : " " + w))
        {
            await Task.Delay(15); // a model emits tokens over time; this makes TTFT and latency differ visibly
            await Send(Chunk(new JsonObject { ["content"] = word }, null));
        }
        await Send(Chunk(new JsonObject(), "stop"));
        if (request["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            var final = Chunk(new JsonObject(), null);
            final["choices"] = new JsonArray();
            final["usage"] = usage.DeepClone();
            await Send(final);
        }
        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
