using LlmObservability.Pricing;
using LlmObservability.Tokenizers;
using Microsoft.Extensions.DependencyInjection.Extensions;

// Extension methods on IServiceCollection live in its namespace so that they are found without another using.
#pragma warning disable IDE0130 // Namespace does not match folder structure
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers <see cref="TiktokenTokenEstimator"/> as the <see cref="ILlmTokenEstimator"/>.</summary>
public static class TiktokenServiceCollectionExtensions
{
    /// <summary>Registers the tiktoken estimator with the default options, unless an estimator is already registered.</summary>
    /// <param name="services">The services.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddTiktokenTokenEstimator(this IServiceCollection services) =>
        services.AddTiktokenTokenEstimator(static _ => { });

    /// <summary>Registers the tiktoken estimator, unless an estimator is already registered.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddTiktokenTokenEstimator(this IServiceCollection services, Action<TiktokenTokenEstimatorOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new TiktokenTokenEstimatorOptions();
        configure(options);
        services.TryAddSingleton<ILlmTokenEstimator>(new TiktokenTokenEstimator(options));
        return services;
    }
}
