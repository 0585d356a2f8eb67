using LlmObservability.Dispatch;
using LlmObservability.Sinks;
using LlmObservability.Sinks.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// Builder extensions live in the builder's namespace so they are found without another using.
#pragma warning disable IDE0130 // Namespace does not match folder structure
namespace LlmObservability.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Adds the generic HTTP sink.</summary>
public static class HttpSinkBuilderExtensions
{
    /// <summary>Adds <see cref="HttpLlmLogSink"/> POSTing JSON arrays of payloads to <paramref name="url"/>.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="url">The absolute http or https address to POST to.</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    public static LlmObservabilityBuilder AddHttpSink(this LlmObservabilityBuilder builder, string url, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        return builder.AddHttpSink(o => o.Url = url, configure);
    }

    /// <summary>Adds <see cref="HttpLlmLogSink"/> with its options bound from a configuration section (e.g. <c>LlmObservability:Http</c>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The section holding <see cref="HttpSinkOptions"/> (Url, Format, FieldNames, Headers, ...).</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    public static LlmObservabilityBuilder AddHttpSink(this LlmObservabilityBuilder builder, IConfigurationSection section, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        return builder.AddHttpSink(o => section.Bind(o), configure);
    }

    /// <summary>Adds <see cref="HttpLlmLogSink"/> with its options set in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configureHttp">Sets the URL, format, field names, headers, limits and retries.</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    /// <remarks>
    /// <para>
    /// Requests go through the <see cref="IHttpClientFactory"/> client named <see cref="HttpSinkOptions.HttpClientName"/>
    /// (configure it further with <c>services.AddHttpClient(name)</c>: a proxy, certificates, handlers), to which this
    /// adds a Microsoft.Extensions.Http.Resilience pipeline: retries on 408, 429, 5xx, network errors and timed-out
    /// attempts with exponential backoff and jitter, honouring <c>Retry-After</c>; a circuit breaker; a timeout per
    /// attempt (<see cref="HttpSinkOptions.MaxRetries"/>, <see cref="HttpSinkOptions.RetryBaseDelay"/>,
    /// <see cref="HttpSinkOptions.CircuitBreakDuration"/>, <see cref="HttpSinkOptions.Timeout"/>).
    /// </para>
    /// <para>
    /// When a request still fails, the dispatcher keeps the batch and tries it again later. This sink's dispatcher
    /// defaults differ from a plain sink's so that a receiver down for about six minutes loses nothing:
    /// <see cref="LlmSinkOptions.MaxRetries"/> 8, <see cref="LlmSinkOptions.RetryBaseDelay"/> 5 seconds,
    /// <see cref="LlmSinkOptions.RetryMaxDelay"/> 1 minute, <see cref="LlmSinkOptions.WriteTimeout"/> 2 minutes (room
    /// for the pipeline's retries) and no dispatcher circuit breaker (the pipeline has one).
    /// </para>
    /// <para>
    /// Each HTTP sink needs a client of its own: a second <c>AddHttpSink</c> is named <c>http-2</c> and, unless its
    /// options name a client, uses <c>LlmObservability.HttpSink.http-2</c>. Two sinks naming the same client fail here.
    /// </para>
    /// </remarks>
    public static LlmObservabilityBuilder AddHttpSink(this LlmObservabilityBuilder builder, Action<HttpSinkOptions> configureHttp, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureHttp);
        var services = builder.Services;
        var index = services.Count(d => d.ServiceType == typeof(HttpSinkMarker));
        var name = index == 0 ? "http" : $"http-{index + 1}";
        var httpOptions = new HttpSinkOptions();
        if (index > 0) httpOptions.HttpClientName = $"{HttpSinkOptions.DefaultHttpClientName}.{name}";
        configureHttp(httpOptions);
        httpOptions.Validate(); // fail at start-up, not on the first batch
        var clientName = httpOptions.HttpClientName;
        if (services.Any(d => d.ServiceType == typeof(HttpSinkMarker) && ((HttpSinkMarker)d.ImplementationInstance!).ClientName == clientName))
        {
            throw new ArgumentException($"Another HTTP sink already uses the HttpClient '{clientName}'. Give each HTTP sink its own HttpClientName: each client carries its sink's retry pipeline.", nameof(configureHttp));
        }
        services.AddSingleton(new HttpSinkMarker(name, clientName));

        services.AddHttpClient(clientName, static client => client.Timeout = Timeout.InfiniteTimeSpan) // attempts are timed by the pipeline
            .AddResilienceHandler(clientName, (pipeline, context) =>
            {
                var settings = new SinkResilienceSettings(name, httpOptions.MaxRetries, httpOptions.RetryBaseDelay, httpOptions.CircuitBreakDuration, httpOptions.Timeout);
                HttpSinkResilience.Configure(pipeline, settings, context.ServiceProvider.GetService<TimeProvider>(),
                    context.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger<HttpLlmLogSink>());
            });
        return builder.AddSink(
            sp => HttpLlmLogSink.WithResilientClient(httpOptions, sp.GetRequiredService<IHttpClientFactory>(), sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()),
            options =>
            {
                options.Name = name;
                options.MaxRetries = 8;
                options.RetryBaseDelay = TimeSpan.FromSeconds(5);
                options.RetryMaxDelay = TimeSpan.FromMinutes(1);
                options.WriteTimeout = TimeSpan.FromMinutes(2);
                options.CircuitBreakerThreshold = 0;
                configure?.Invoke(options);
            });
    }
}

/// <summary>One registered HTTP sink, counted to name the next one and to keep clients apart.</summary>
internal sealed record HttpSinkMarker(string Name, string ClientName);
