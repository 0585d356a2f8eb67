// Compiled into the sink packages that POST through an IHttpClientFactory client (LlmObservability.Http, .Langfuse).
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;

namespace LlmObservability.Sinks;

/// <summary>
/// <see cref="SinkResilience"/> for an HttpClient, added with Microsoft.Extensions.Http.Resilience's
/// <c>AddResilienceHandler</c>: 408, 429, 5xx, network errors and timed-out attempts are retried, a
/// <c>Retry-After</c> header sets the pause.
/// </summary>
internal static class HttpSinkResilience
{
    /// <summary>Adds the sink strategies for HTTP to <paramref name="pipeline"/>.</summary>
    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, SinkResilienceSettings settings, TimeProvider? timeProvider, ILogger? logger)
    {
        var time = timeProvider ?? TimeProvider.System;
        pipeline.TimeProvider = time;
        pipeline.AddSinkStrategies(
            settings,
            HttpClientResiliencePredicates.IsTransient,
            outcome => RetryAfter(outcome.Result, time),
            static outcome => outcome.Result is { } response ? $"HTTP {(int)response.StatusCode}" : SinkResilience.DescribeException(outcome.Exception),
            logger);
    }

    /// <summary>The pause a response's <c>Retry-After</c> header asks for (seconds or a date), if any.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider time)
    {
        var header = response?.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
