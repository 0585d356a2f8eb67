using LlmObservability.Dispatch;
using LlmObservability.Sinks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.DependencyInjection;

/// <summary>Adds the console sink.</summary>
public static class ConsoleSinkBuilderExtensions
{
    /// <summary>Adds <see cref="ConsoleLlmLogSink"/>: one line per call through ILogger, the full JSON at Debug.</summary>
    public static LlmObservabilityBuilder AddConsoleSink(this LlmObservabilityBuilder builder, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSink(static sp => new ConsoleLlmLogSink(sp.GetRequiredService<ILoggerFactory>()), options =>
        {
            options.Name = "console";
            options.BatchInterval = TimeSpan.FromMilliseconds(100); // a console is for watching: keep it prompt
            configure?.Invoke(options);
        });
    }
}

/// <summary>Adds the JSON-lines file sink.</summary>
public static class JsonLinesFileSinkBuilderExtensions
{
    /// <summary>Adds <see cref="JsonLinesFileSink"/> writing one file per UTC day into <paramref name="directory"/>.</summary>
    public static LlmObservabilityBuilder AddJsonLinesFileSink(this LlmObservabilityBuilder builder, string directory, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return builder.AddJsonLinesFileSink(o => o.Directory = directory, configure);
    }

    /// <summary>Adds <see cref="JsonLinesFileSink"/> with its options set in code.</summary>
    public static LlmObservabilityBuilder AddJsonLinesFileSink(this LlmObservabilityBuilder builder, Action<JsonLinesFileSinkOptions> configureFile, Action<LlmSinkOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureFile);
        var fileOptions = new JsonLinesFileSinkOptions();
        configureFile(fileOptions);
        return builder.AddSink(sp => new JsonLinesFileSink(fileOptions, sp.GetService<TimeProvider>()), options =>
        {
            options.Name = "jsonl-file";
            configure?.Invoke(options);
        });
    }
}
