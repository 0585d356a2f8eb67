using LlmObservability.Dispatch;
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
    /// <param name="configureHttp">Sets the URL, format, field names, headers and limits.</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    /// <remarks>
    /// The sink's defaults differ from a plain sink's: <see cref="LlmSinkOptions.MaxRetries"/> 8 and
    /// <see cref="LlmSinkOptions.CircuitBreakerThreshold"/> 5, so that a receiver that is down for a few minutes loses
    /// nothing. Its requests go through the <see cref="IHttpClientFactory"/> client named
    /// <see cref="HttpSinkOptions.HttpClientName"/>; configure it with <c>services.AddHttpClient(name)</c>.
    /// </remarks>
    public static LlmObservabilityBuilder AddHttpSink(this LlmObservabilityBuilder builder, Action<HttpSinkOptions> configureHttp, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureHttp);
        var httpOptions = new HttpSinkOptions();
        configureHttp(httpOptions);
        httpOptions.Validate(); // fail at start-up, not on the first batch
        builder.Services.AddHttpClient(httpOptions.HttpClientName);
        return builder.AddSink(
            sp => new HttpLlmLogSink(httpOptions, sp.GetRequiredService<IHttpClientFactory>(), sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()),
            options =>
            {
                options.Name = "http";
                options.MaxRetries = 8;
                options.CircuitBreakerThreshold = 5;
                configure?.Invoke(options);
            });
    }
}
