using LlmObservability.DependencyInjection;
using LlmObservability.Payload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LlmObservability.Langfuse.Tests;

/// <summary>Options, environment variables, configuration binding, start-up validation and registration.</summary>
public class OptionsAndRegistrationTests
{
    [Test]
    public void Missing_keys_are_reported_with_the_environment_variables_to_set()
    {
        var errors = new LangfuseSinkOptions().GetValidationErrors();

        Assert.That(errors, Has.Count.EqualTo(2));
        Assert.That(errors[0], Does.Contain("PublicKey").And.Contain("LANGFUSE_PUBLIC_KEY"));
        Assert.That(errors[1], Does.Contain("SecretKey").And.Contain("LANGFUSE_SECRET_KEY"));
    }

    [Test]
    public void Each_invalid_setting_is_described()
    {
        var options = new LangfuseSinkOptions
        {
            Host = "ftp://cloud.langfuse.com",
            PublicKey = "sk-lf-oops",
            SecretKey = "pk-lf-oops",
            Environment = "Production",
            Timeout = TimeSpan.Zero,
            MaxRetries = -1,
            RetryBaseDelay = TimeSpan.FromSeconds(-1),
            CircuitBreakDuration = TimeSpan.FromMilliseconds(10),
            MaxRequestBytes = 1000,
        };

        var errors = options.GetValidationErrors();

        Assert.That(errors, Has.Count.EqualTo(8));
        Assert.That(errors, Has.Some.Contains("https://cloud.langfuse.com").And.Some.Contains("https://us.cloud.langfuse.com"));
        Assert.That(errors, Has.Some.Contains("swapped"));
        Assert.That(errors, Has.Some.Contains("Environment 'Production'"));
    }

    [TestCase("production", true)]
    [TestCase("staging_2-eu", true)]
    [TestCase("Production", false)]
    [TestCase("langfuse-prod", false)]
    [TestCase("", false)]
    [TestCase("a-very-long-environment-name-over-forty-chars", false)]
    public void Environment_names_follow_langfuse_rules(string environment, bool valid)
    {
        Assert.That(LangfuseSinkOptions.IsValidEnvironment(environment), Is.EqualTo(valid));
    }

    [TestCase("Production EU", "production-eu")]
    [TestCase("langfuse-dev", "env-langfuse-dev")]
    [TestCase("  ", null)]
    [TestCase(null, null)]
    [TestCase("a-very-long-environment-name-over-forty-chars", "a-very-long-environment-name-over-forty-")]
    public void A_payload_environment_is_made_valid_for_langfuse(string? environment, string? expected)
    {
        Assert.That(LangfuseSpanMapper.NormalizeEnvironment(environment), Is.EqualTo(expected));
    }

    [Test]
    public void The_endpoint_keeps_a_self_hosted_path_prefix()
    {
        Assert.That(new LangfuseSinkOptions().GetTracesEndpoint().ToString(), Is.EqualTo("https://cloud.langfuse.com/api/public/otel/v1/traces"));
        Assert.That(new LangfuseSinkOptions { Host = "https://tools.example.com/langfuse/" }.GetTracesEndpoint().ToString(), Is.EqualTo("https://tools.example.com/langfuse/api/public/otel/v1/traces"));
    }

    [Test]
    public void Environment_variables_fill_the_options_and_LANGFUSE_BASE_URL_wins_over_LANGFUSE_HOST()
    {
        var variables = new Dictionary<string, string>
        {
            ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-1",
            ["LANGFUSE_SECRET_KEY"] = "sk-lf-1",
            ["LANGFUSE_HOST"] = "https://old.example.com",
            ["LANGFUSE_BASE_URL"] = "https://us.cloud.langfuse.com",
            ["LANGFUSE_TRACING_ENVIRONMENT"] = "staging",
            ["LANGFUSE_RELEASE"] = "1.4.2",
        };
        var options = new LangfuseSinkOptions();
        options.ApplyEnvironmentVariables(variables.GetValueOrDefault);

        Assert.That((options.PublicKey, options.SecretKey, options.Host, options.Environment, options.Release),
            Is.EqualTo(("pk-lf-1", "sk-lf-1", "https://us.cloud.langfuse.com", "staging", "1.4.2")));

        variables.Remove("LANGFUSE_BASE_URL");
        var older = new LangfuseSinkOptions();
        older.ApplyEnvironmentVariables(variables.GetValueOrDefault);
        Assert.That(older.Host, Is.EqualTo("https://old.example.com"));
    }

    [Test]
    public void Missing_keys_fail_the_host_start_naming_the_variables()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLlmObservability().AddLangfuseSink(_ => { }, null, static _ => null);
        using var host = builder.Build();

        var failure = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(failure!.Message, Does.Contain("LANGFUSE_PUBLIC_KEY").And.Contain("LANGFUSE_SECRET_KEY").And.Contain("Langfuse sink 'langfuse'"));
    }

    /// <summary>A Langfuse sink bound from a "Langfuse" section holding <paramref name="section"/>, with both keys and a release in the environment.</summary>
    private static ServiceProvider WithSectionAndEnvironment(Dictionary<string, string?> section)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(section).Build();
        var variables = new Dictionary<string, string> { ["LANGFUSE_PUBLIC_KEY"] = "pk-lf-env", ["LANGFUSE_SECRET_KEY"] = "sk-lf-env", ["LANGFUSE_RELEASE"] = "from-env" };
        var services = new ServiceCollection();
        services.AddLlmObservability().AddLangfuseSink(o => configuration.GetSection("Langfuse").Bind(o), null, variables.GetValueOrDefault);
        return services.BuildServiceProvider();
    }

    [Test]
    public void Empty_values_in_the_section_are_not_set_so_the_environment_variables_and_defaults_stay()
    {
        // appsettings.json placeholders: every value present but empty.
        using var provider = WithSectionAndEnvironment(new Dictionary<string, string?>
        {
            ["Langfuse:Host"] = "",
            ["Langfuse:PublicKey"] = "",
            ["Langfuse:SecretKey"] = " ",
            ["Langfuse:Environment"] = "",
            ["Langfuse:Release"] = "",
        });

        var options = provider.GetRequiredService<IOptionsMonitor<LangfuseSinkOptions>>().Get(LangfuseSink.DefaultName);

        Assert.That((options.Host, options.PublicKey, options.SecretKey, options.Environment, options.Release),
            Is.EqualTo((LangfuseSinkOptions.EuCloudHost, "pk-lf-env", "sk-lf-env", (string?)null, "from-env")));
        Assert.That(options.GetValidationErrors(), Is.Empty);
    }

    [Test]
    public void The_configuration_section_overrides_the_environment_variables_it_sets_and_keeps_the_others()
    {
        using var provider = WithSectionAndEnvironment(new Dictionary<string, string?>
        {
            ["Langfuse:Host"] = LangfuseSinkOptions.UsCloudHost,
            ["Langfuse:Release"] = "from-config",
            ["Langfuse:Timeout"] = "00:00:03",
            ["Langfuse:MaxRequestBytes"] = "1048576",
        });

        var options = provider.GetRequiredService<IOptionsMonitor<LangfuseSinkOptions>>().Get(LangfuseSink.DefaultName);

        Assert.That((options.Host, options.PublicKey, options.SecretKey, options.Release, options.Timeout, options.MaxRequestBytes),
            Is.EqualTo((LangfuseSinkOptions.UsCloudHost, "pk-lf-env", "sk-lf-env", "from-config", TimeSpan.FromSeconds(3), 1_048_576)));
        Assert.That(provider.GetRequiredService<LangfuseSink>().Endpoint.ToString(), Is.EqualTo("https://us.cloud.langfuse.com/api/public/otel/v1/traces"));
    }

    [Test]
    public async Task Two_langfuse_sinks_get_their_own_names_options_and_clients()
    {
        await using var receiver = await LangfuseReceiver.StartAsync();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLlmObservability()
            .AddLangfuseSink(o => Point(o, "eu"), s => s.BatchInterval = TimeSpan.Zero, static _ => null)
            .AddLangfuseSink(o => Point(o, "us"), s => s.BatchInterval = TimeSpan.Zero, static _ => null);
        using var host = builder.Build();
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<LlmObservability.Dispatch.LlmLogDispatcher>();

        Assert.That(dispatcher.TryEnqueue(Payloads.Success()), Is.True);
        await dispatcher.FlushAsync();
        await host.StopAsync();

        Assert.That(dispatcher.GetStatistics().Sinks.Select(s => s.Name), Is.EqualTo(new[] { "langfuse", "langfuse-2" }));
        Assert.That(receiver.Spans.Select(s => s.Attributes().Str("langfuse.environment")), Is.EquivalentTo(new[] { "eu", "us" }));
        Assert.That(host.Services.GetRequiredKeyedService<LangfuseSink>("langfuse-2").GetStatistics().SpansAccepted, Is.EqualTo(1));

        void Point(LangfuseSinkOptions o, string environment)
        {
            o.Host = receiver.Host;
            o.PublicKey = LangfuseReceiver.PublicKey;
            o.SecretKey = LangfuseReceiver.SecretKey;
            o.Environment = environment;
        }
    }

    [Test]
    public async Task The_sink_works_without_the_container_over_a_plain_HttpClient()
    {
        await using var receiver = await LangfuseReceiver.StartAsync();
        using var client = new HttpClient();
        var sink = new LangfuseSink(client, new LangfuseSinkOptions { Host = receiver.Host, PublicKey = LangfuseReceiver.PublicKey, SecretKey = LangfuseReceiver.SecretKey });
        StandardLoggingPayload[] batch = [Payloads.Success(), Payloads.Failure()];

        await sink.WriteBatchAsync(batch, CancellationToken.None);

        Assert.That(receiver.Spans.Select(s => s.SpanId.Hex()), Is.EquivalentTo(batch.Select(p => p.SpanId)));
        Assert.That(() => new LangfuseSink(client, new LangfuseSinkOptions()), Throws.ArgumentException.With.Message.Contains("LANGFUSE_PUBLIC_KEY"));
    }
}
