using Amazon.S3;
using LlmObservability.Dispatch;
using LlmObservability.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

// Builder extensions live in the builder's namespace so they are found without another using.
#pragma warning disable IDE0130 // Namespace does not match folder structure
namespace LlmObservability.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Adds the S3 sink.</summary>
public static class S3SinkBuilderExtensions
{
    /// <summary>Adds <see cref="S3LlmLogSink"/> writing to <paramref name="bucketName"/> with the container's <see cref="IAmazonS3"/>, or the SDK's defaults.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="bucketName">The bucket.</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    public static LlmObservabilityBuilder AddS3Sink(this LlmObservabilityBuilder builder, string bucketName, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bucketName);
        return builder.AddS3Sink(o => o.BucketName = bucketName, configure);
    }

    /// <summary>Adds <see cref="S3LlmLogSink"/> with its options bound from a configuration section (e.g. <c>LlmObservability:S3</c>).</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="section">The section holding <see cref="S3SinkOptions"/> (BucketName, Prefix, KeyLayout, Gzip, ...).</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    public static LlmObservabilityBuilder AddS3Sink(this LlmObservabilityBuilder builder, IConfigurationSection section, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        return builder.AddS3Sink(o => section.Bind(o), configure);
    }

    /// <summary>Adds <see cref="S3LlmLogSink"/> with its options set in code.</summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configureS3">Sets the bucket, key layout, compression, encryption, limits and client settings.</param>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    /// <remarks>
    /// <para>
    /// The client: when the options set <see cref="S3SinkOptions.ServiceUrl"/>, <see cref="S3SinkOptions.Region"/> or
    /// <see cref="S3SinkOptions.AccessKeyId"/>, or no <see cref="IAmazonS3"/> is registered, the sink builds its own (SDK
    /// retries off: the sink's pipeline retries), whose requests go through the <see cref="IHttpClientFactory"/> client
    /// <see cref="S3SinkOptions.HttpClientName"/>, and the container disposes it; otherwise the registered one is used.
    /// </para>
    /// <para>
    /// Each upload is retried by the sink's resilience pipeline (<see cref="S3SinkOptions.MaxRetries"/>,
    /// <see cref="S3SinkOptions.Timeout"/>, <see cref="S3SinkOptions.CircuitBreakDuration"/>); when it still fails the
    /// dispatcher keeps the batch and tries it again later. This sink's dispatcher defaults differ from a plain sink's:
    /// <see cref="LlmSinkOptions.MaxRetries"/> 8, <see cref="LlmSinkOptions.RetryBaseDelay"/> 5 seconds,
    /// <see cref="LlmSinkOptions.RetryMaxDelay"/> 1 minute and <see cref="LlmSinkOptions.WriteTimeout"/> 2 minutes, so
    /// that an outage of about six minutes loses nothing, with no dispatcher circuit breaker (the pipeline has one);
    /// <see cref="LlmSinkOptions.MaxBatchSize"/> 1,000 and <see cref="LlmSinkOptions.BatchInterval"/> 1 minute, because
    /// every batch is an object and S3 favours fewer, larger ones.
    /// </para>
    /// </remarks>
    public static LlmObservabilityBuilder AddS3Sink(this LlmObservabilityBuilder builder, Action<S3SinkOptions> configureS3, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureS3);
        var s3Options = new S3SinkOptions();
        configureS3(s3Options);
        s3Options.Validate(); // fail at start-up, not on the first batch
        builder.Services.AddHttpClient(s3Options.HttpClientName);

        // The sink is a keyed singleton of the container so that the container disposes it (and a client it built).
        var key = new object();
        builder.Services.AddKeyedSingleton(key, (sp, _) => new S3LlmLogSink(
            s3Options,
            s3Options.WantsOwnClient ? null : sp.GetService<IAmazonS3>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetRequiredService<IHttpClientFactory>()));
        return builder.AddSink(
            sp => sp.GetRequiredKeyedService<S3LlmLogSink>(key),
            options =>
            {
                options.Name = "s3";
                options.MaxRetries = 8;
                options.RetryBaseDelay = TimeSpan.FromSeconds(5);
                options.RetryMaxDelay = TimeSpan.FromMinutes(1);
                options.WriteTimeout = TimeSpan.FromMinutes(2);
                options.CircuitBreakerThreshold = 0;
                options.MaxBatchSize = 1000;
                options.BatchInterval = TimeSpan.FromMinutes(1);
                configure?.Invoke(options);
            });
    }
}
