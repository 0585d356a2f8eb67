using System.Reflection;
using AspNetCoreSample;
using LlmObservability.Dispatch;
using LlmObservability.Langfuse;
using LlmObservability.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmObservability.Sinks.Tests.Samples;

/// <summary>
/// samples/AspNetCore's appsettings.json, filled in the way a user would (a bucket name in the file, the Langfuse keys
/// in the environment, every other placeholder left empty), starts a host with every sink through the sample's own code.
/// </summary>
[NonParallelizable] // sets LANGFUSE_* environment variables for the process
public class SampleConfigurationTests
{
    private static readonly string SettingsFile =
        typeof(SampleConfigurationTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "SampleSettingsFile").Value!;

    [Test]
    public async Task The_samples_settings_with_a_bucket_and_Langfuse_keys_from_the_environment_start_every_sink()
    {
        var logs = Directory.CreateTempSubdirectory("llmobs-sample-");
        var saved = (Environment.GetEnvironmentVariable("LANGFUSE_PUBLIC_KEY"), Environment.GetEnvironmentVariable("LANGFUSE_SECRET_KEY"));
        Environment.SetEnvironmentVariable("LANGFUSE_PUBLIC_KEY", "pk-lf-from-env");
        Environment.SetEnvironmentVariable("LANGFUSE_SECRET_KEY", "sk-lf-from-env");
        try
        {
            var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
            builder.Configuration.AddJsonFile(SettingsFile, optional: false).AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["LlmObservability:S3:BucketName"] = "my-llm-logs",
                ["LlmObservability:JsonLines:Directory"] = logs.FullName,
            });
            // The file leaves these empty, as a user who keeps the keys out of the file would.
            Assert.That(builder.Configuration["LlmObservability:S3:ServiceUrl"], Is.Empty);
            Assert.That(builder.Configuration["Langfuse:PublicKey"], Is.Empty);

            ObservabilitySetup.AddObservability(builder.Services, builder.Configuration);
            using var host = builder.Build();
            await host.StartAsync();

            var dispatcher = host.Services.GetRequiredService<LlmLogDispatcher>();
            // The HTTP sink's Url is left empty in the file, so the sample does not add it.
            Assert.That(dispatcher.GetStatistics().Sinks.Select(s => s.Name), Is.EquivalentTo(new[] { "console", "jsonl-file", "s3", "langfuse" }));
            var s3 = builder.Configuration.GetSection("LlmObservability:S3").Get<S3SinkOptions>()!;
            Assert.That((s3.BucketName, s3.ServiceUrl, s3.Region, s3.KmsKeyId), Is.EqualTo(("my-llm-logs", (string?)null, "eu-west-1", (string?)null)));
            var langfuse = host.Services.GetRequiredService<IOptionsMonitor<LangfuseSinkOptions>>().Get(LangfuseSink.DefaultName);
            Assert.That((langfuse.PublicKey, langfuse.SecretKey, langfuse.Host, langfuse.Release), Is.EqualTo(("pk-lf-from-env", "sk-lf-from-env", "https://cloud.langfuse.com", "1.0.0")));
            await host.StopAsync();
        }
        finally
        {
            Environment.SetEnvironmentVariable("LANGFUSE_PUBLIC_KEY", saved.Item1);
            Environment.SetEnvironmentVariable("LANGFUSE_SECRET_KEY", saved.Item2);
            logs.Delete(recursive: true);
        }
    }
}
