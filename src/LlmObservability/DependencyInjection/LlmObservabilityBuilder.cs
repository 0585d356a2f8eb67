using System.Diagnostics.CodeAnalysis;
using LlmObservability.Dispatch;
using LlmObservability.Sinks;
using Microsoft.Extensions.DependencyInjection;

namespace LlmObservability.DependencyInjection;

/// <summary>Returned by <c>AddLlmObservability</c>; adds sinks.</summary>
public sealed class LlmObservabilityBuilder
{
    internal LlmObservabilityBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Adds a sink created by the container (its constructor may take any registered service).</summary>
    /// <param name="configure">Queue, batching, retry and event-filter settings for this sink.</param>
    public LlmObservabilityBuilder AddSink<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TSink>(Action<LlmSinkOptions>? configure = null)
        where TSink : class, ILlmLogSink
    {
        Services.AddSingleton<TSink>();
        return AddSink(static sp => sp.GetRequiredService<TSink>(), configure, typeof(TSink).Name);
    }

    /// <summary>Adds an existing sink instance.</summary>
    public LlmObservabilityBuilder AddSink(ILlmLogSink sink, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return AddSink(_ => sink, configure, sink.GetType().Name);
    }

    /// <summary>Adds a sink built by a factory when the dispatcher starts.</summary>
    public LlmObservabilityBuilder AddSink(Func<IServiceProvider, ILlmLogSink> factory, Action<LlmSinkOptions>? configure = null) =>
        AddSink(factory, configure, defaultName: null);

    private LlmObservabilityBuilder AddSink(Func<IServiceProvider, ILlmLogSink> factory, Action<LlmSinkOptions>? configure, string? defaultName)
    {
        ArgumentNullException.ThrowIfNull(factory);
        var options = new LlmSinkOptions { Name = defaultName };
        configure?.Invoke(options);
        // Validate now so that a bad setting fails at start-up with the sink's name, not on the first call.
        options.Validate(options.Name ?? "sink");
        Services.AddSingleton(new SinkDescriptor(factory, options));
        return this;
    }
}

/// <summary>A sink as registered with the builder; the dispatcher creates the sink from it.</summary>
internal sealed record SinkDescriptor(Func<IServiceProvider, ILlmLogSink> Factory, LlmSinkOptions Options);
