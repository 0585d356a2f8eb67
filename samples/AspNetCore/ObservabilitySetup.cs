using LlmObservability.DependencyInjection;

namespace AspNetCoreSample;

/// <summary>
/// The sample's whole LlmObservability set-up from configuration (tests/LlmObservability.Sinks.Tests starts a host with
/// it over this sample's own appsettings.json, so the file and this code stay in working order).
/// </summary>
public static class ObservabilitySetup
{
    /// <summary>
    /// Console and JSON-lines sinks always; the generic HTTP sink when <c>LlmObservability:Http:Url</c> is set, S3 when
    /// <c>LlmObservability:S3:BucketName</c> is, Langfuse when a public key is in <c>Langfuse:PublicKey</c> or in
    /// <c>LANGFUSE_PUBLIC_KEY</c>. An empty value in appsettings.json counts as not set.
    /// </summary>
    public static LlmObservabilityBuilder AddObservability(IServiceCollection services, IConfiguration config)
    {
        var observability = config.GetSection("LlmObservability");
        var llm = services.AddLlmObservability(observability)
            .AddConsoleSink()
            .AddJsonLinesFileSink(observability["JsonLines:Directory"] is { Length: > 0 } directory ? directory : "llm-logs");
        if (!string.IsNullOrEmpty(observability["Http:Url"])) llm.AddHttpSink(observability.GetSection("Http"));
        if (!string.IsNullOrEmpty(observability["S3:BucketName"])) llm.AddS3Sink(observability.GetSection("S3"));
        var langfuseKey = config["Langfuse:PublicKey"] is { Length: > 0 } key ? key : Environment.GetEnvironmentVariable("LANGFUSE_PUBLIC_KEY");
        if (!string.IsNullOrEmpty(langfuseKey)) llm.AddLangfuseSink(config.GetSection("Langfuse"));
        return llm;
    }
}
