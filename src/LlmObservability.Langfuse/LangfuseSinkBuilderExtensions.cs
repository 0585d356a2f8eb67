using LlmObservability.Dispatch;
using LlmObservability.Langfuse;
using LlmObservability.Sinks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

// Beside the core's sink extensions, so that the one using that finds AddConsoleSink finds AddLangfuseSink too.
#pragma warning disable IDE0130 // Namespace does not match folder structure
namespace LlmObservability.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Adds the Langfuse sink.</summary>
public static class LangfuseSinkBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="LangfuseSink"/> configured from the environment variables <c>LANGFUSE_PUBLIC_KEY</c>,
    /// <c>LANGFUSE_SECRET_KEY</c> and optionally <c>LANGFUSE_BASE_URL</c> (or <c>LANGFUSE_HOST</c>),
    /// <c>LANGFUSE_TRACING_ENVIRONMENT</c>, <c>LANGFUSE_RELEASE</c>. Missing keys fail the host's start with a message
    /// naming the variables.
    /// </summary>
    public static LlmObservabilityBuilder AddLangfuseSink(this LlmObservabilityBuilder builder) =>
        builder.AddLangfuseSink(static _ => { });

    /// <summary>
    /// Adds a <see cref="LangfuseSink"/> with options bound from <paramref name="section"/> (e.g. <c>Langfuse</c>:
    /// <c>Host</c>, <c>PublicKey</c>, <c>SecretKey</c>, <c>Environment</c>, <c>Release</c>, <c>Timeout</c>, …); the
    /// <c>LANGFUSE_*</c> environment variables fill in what the section leaves out or leaves empty (as appsettings.json
    /// placeholders do).
    /// </summary>
    /// <param name="builder">The LlmObservability builder.</param>
    /// <param name="section">The configuration section of <see cref="LangfuseSinkOptions"/>.</param>
    /// <param name="configureSink">Queue, batching, retry and event-filter settings of this sink.</param>
    public static LlmObservabilityBuilder AddLangfuseSink(this LlmObservabilityBuilder builder, IConfigurationSection section, Action<LlmSinkOptions>? configureSink = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        return builder.AddLangfuseSink(options => section.Bind(options), configureSink);
    }

    /// <summary>
    /// Adds a <see cref="LangfuseSink"/> with options set in code; the <c>LANGFUSE_*</c> environment variables are
    /// applied first, so <paramref name="configure"/> wins where both set a value, and fill in what it leaves empty.
    /// </summary>
    /// <param name="builder">The LlmObservability builder.</param>
    /// <param name="configure">Sets the Langfuse options.</param>
    /// <param name="configureSink">Queue, batching, retry and event-filter settings of this sink.</param>
    public static LlmObservabilityBuilder AddLangfuseSink(this LlmObservabilityBuilder builder, Action<LangfuseSinkOptions> configure, Action<LlmSinkOptions>? configureSink = null) =>
        builder.AddLangfuseSink(configure, configureSink, static name => Environment.GetEnvironmentVariable(name));

    internal static LlmObservabilityBuilder AddLangfuseSink(this LlmObservabilityBuilder builder, Action<LangfuseSinkOptions> configure, Action<LlmSinkOptions>? configureSink, Func<string, string?> readEnvironment)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        var index = services.Count(d => d.ServiceType == typeof(LangfuseSinkMarker));
        var name = index == 0 ? LangfuseSink.DefaultName : $"{LangfuseSink.DefaultName}-{index + 1}";
        var clientName = index == 0 ? LangfuseSink.HttpClientName : $"{LangfuseSink.HttpClientName}.{name}";
        services.AddSingleton(new LangfuseSinkMarker(name));

        services.AddOptions<LangfuseSinkOptions>(name)
            .Configure(options => options.ApplyEnvironmentVariables(readEnvironment))
            .Configure(configure)
            // A value the configuration set empty (appsettings.json placeholders are "") is still taken from the environment.
            .Configure(options => options.ApplyEnvironmentVariables(readEnvironment, onlyWhereUnset: true))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LangfuseSinkOptions>, LangfuseSinkOptionsValidator>());

        services.AddHttpClient(clientName, static client => client.Timeout = Timeout.InfiniteTimeSpan) // attempts are timed by the pipeline
            .AddResilienceHandler("langfuse", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptionsMonitor<LangfuseSinkOptions>>().Get(name);
                var settings = new SinkResilienceSettings(name, options.MaxRetries, options.RetryBaseDelay, options.CircuitBreakDuration, options.Timeout);
                HttpSinkResilience.Configure(pipeline, settings, context.ServiceProvider.GetService<TimeProvider>(),
                    context.ServiceProvider.GetService<ILoggerFactory>()?.CreateLogger<LangfuseSink>());
            });

        services.AddKeyedSingleton(name, (sp, _) =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new LangfuseSink(
                () => factory.CreateClient(clientName),
                sp.GetRequiredService<IOptionsMonitor<LangfuseSinkOptions>>().Get(name),
                sp.GetService<ILoggerFactory>());
        });
        if (index == 0) services.AddSingleton(static sp => sp.GetRequiredKeyedService<LangfuseSink>(LangfuseSink.DefaultName));

        return builder.AddSink(sp => sp.GetRequiredKeyedService<LangfuseSink>(name), sink =>
        {
            sink.Name = name;
            // The pipeline rides out blips; the dispatcher keeps a batch through an outage of about six minutes.
            sink.MaxRetries = 8;
            sink.RetryBaseDelay = TimeSpan.FromSeconds(5);
            sink.RetryMaxDelay = TimeSpan.FromMinutes(1);
            // Room for the pipeline's retries (pauses of up to 30 seconds each) before the dispatcher steps in.
            sink.WriteTimeout = TimeSpan.FromMinutes(2);
            configureSink?.Invoke(sink);
        });
    }
}

/// <summary>One registered Langfuse sink, counted to name the next one.</summary>
internal sealed record LangfuseSinkMarker(string Name);

/// <summary>Reports every invalid Langfuse setting when the host starts.</summary>
internal sealed class LangfuseSinkOptionsValidator : IValidateOptions<LangfuseSinkOptions>
{
    public ValidateOptionsResult Validate(string? name, LangfuseSinkOptions options)
    {
        var errors = options.GetValidationErrors();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => $"Langfuse sink '{name}': {e}"));
    }
}
