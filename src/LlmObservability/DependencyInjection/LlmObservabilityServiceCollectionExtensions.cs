using System.Diagnostics.Metrics;
using LlmObservability;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using LlmObservability.Pricing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers LlmObservability: options, the dispatcher, the handler, and flushing on host shutdown.</summary>
public static class LlmObservabilityServiceCollectionExtensions
{
    /// <summary>Adds LlmObservability with default options.</summary>
    public static LlmObservabilityBuilder AddLlmObservability(this IServiceCollection services) =>
        services.AddLlmObservability(static _ => { });

    /// <summary>Adds LlmObservability with options bound from a configuration section (e.g. <c>LlmObservability</c>).</summary>
    public static LlmObservabilityBuilder AddLlmObservability(this IServiceCollection services, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var builder = services.AddLlmObservability(static _ => { });
        services.Configure<LlmObservabilityOptions>(section);
        return builder;
    }

    /// <summary>Adds LlmObservability, configuring its options in code.</summary>
    public static LlmObservabilityBuilder AddLlmObservability(this IServiceCollection services, Action<LlmObservabilityOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        services.AddOptions<LlmObservabilityOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmObservabilityOptions>, LlmObservabilityOptionsValidator>());
        services.TryAddSingleton(static sp => new LlmLogDispatcher(
            sp.GetServices<SinkDescriptor>().Select(d => new LlmSinkRegistration(d.Factory(sp), d.Options)),
            sp.GetRequiredService<IOptions<LlmObservabilityOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<ILlmTokenEstimator>(),
            sp.GetService<IMeterFactory>()));
        services.TryAddTransient(static sp => new LlmObservabilityHandler(
            sp.GetRequiredService<LlmLogDispatcher>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<LlmObservabilityHandler>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LlmObservabilityHostedService>());
        return new LlmObservabilityBuilder(services);
    }
}

/// <summary>Attaches the LlmObservability handler to an HttpClient.</summary>
public static class LlmObservabilityHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds <see cref="LlmObservabilityHandler"/> to this client's pipeline. Call <c>services.AddLlmObservability()</c> too.
    /// To observe every client, use <c>services.ConfigureHttpClientDefaults(b =&gt; b.AddLlmObservability())</c>.
    /// </summary>
    public static IHttpClientBuilder AddLlmObservability(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHttpMessageHandler(static sp =>
            sp.GetService<LlmLogDispatcher>() is null
                ? throw new InvalidOperationException("IHttpClientBuilder.AddLlmObservability() needs services.AddLlmObservability() to be called as well.")
                : sp.GetRequiredService<LlmObservabilityHandler>());
    }
}

/// <summary>Reports every invalid setting at start-up.</summary>
internal sealed class LlmObservabilityOptionsValidator : IValidateOptions<LlmObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmObservabilityOptions options)
    {
        var errors = options.GetValidationErrors();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Starts the dispatcher with the host and flushes it when the host stops.</summary>
internal sealed class LlmObservabilityHostedService(LlmLogDispatcher dispatcher) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // DisposeAsync sends everything queued, within ShutdownTimeout; the container's own disposal later is a no-op.
    public async Task StopAsync(CancellationToken cancellationToken) => await dispatcher.DisposeAsync().ConfigureAwait(false);
}
