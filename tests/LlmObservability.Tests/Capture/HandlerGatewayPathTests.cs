using System.Text;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using static LlmObservability.Tests.Capture.ProviderTestSupport;

namespace LlmObservability.Tests.Capture;

/// <summary>
/// Gateways whose paths are their own (<c>/llm/chat</c>): a mapping's <see cref="LlmProviderMapping.Operation"/> names
/// the operation a request under its prefix is when the path names none of the format's operations.
/// </summary>
public class HandlerGatewayPathTests
{
    private static LlmObservabilityOptions Mapped(params LlmProviderMapping[] mappings)
    {
        var options = new LlmObservabilityOptions();
        foreach (var mapping in mappings) options.ProviderMappings.Add(mapping);
        return options;
    }

    private static LlmProviderMapping OpenAiGateway(string? operation = "chat_completion") =>
        new() { Host = "gw.internal", PathPrefix = "/llm/", Format = "openai", Operation = operation, Provider = "gw" };

    [Test]
    public async Task A_whole_body_on_the_gateways_own_path_is_read_as_the_declared_operation()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), Mapped(OpenAiGateway()));
        using (await harness.Client.SendAsync(Harness.Post("https://gw.internal/llm/chat", Harness.SimpleChatBody()))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("gw"));
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://gw.internal/llm"));
            Assert.That(payload.Endpoint, Is.EqualTo("/chat"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o-mini"));
            Assert.That(payload.PromptTokens, Is.EqualTo(19));
            Assert.That(payload.CompletionTokens, Is.EqualTo(10));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I assist you today?"));
        });
    }

    [Test]
    public async Task A_stream_on_the_gateways_own_path_is_assembled_and_passed_through_unchanged()
    {
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("openai/chat-stream.sse")), Mapped(OpenAiGateway()));
        using var response = await harness.Client.SendAsync(Harness.Post("https://gw.internal/llm/chat", Harness.SimpleChatBody(stream: true)), HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 5);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(Fixture.Bytes("openai/chat-stream.sse")));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(19));
        });
    }

    [Test]
    public async Task An_Anthropic_stream_on_a_gateway_path_is_read_as_messages_without_Anthropic_headers()
    {
        var mapping = new LlmProviderMapping { Host = "gw.internal", PathPrefix = "/claude", Format = "anthropic", Operation = "messages" };
        await using var harness = new Harness(StubHandler.Sse(Fixture.Bytes("anthropic/messages-stream.sse")), Mapped(mapping));
        using var response = await harness.Client.SendAsync(
            Post("https://gw.internal/claude/send", """{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hi"}]}"""),
            HttpCompletionOption.ResponseHeadersRead);
        var received = await ReadAllAsync(await response.Content.ReadAsStreamAsync(), bufferSize: 5);
        var payload = await harness.SinglePayloadAsync();

        Assert.That(received, Is.EqualTo(Fixture.Bytes("anthropic/messages-stream.sse")));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("anthropic"));
            Assert.That(payload.CallType, Is.EqualTo("messages"));
            Assert.That(payload.ApiBase, Is.EqualTo("https://gw.internal/claude"));
            Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
            Assert.That(payload.CompletionTokens, Is.EqualTo(15));
        });
    }

    [Test]
    public async Task A_path_that_names_one_of_the_formats_operations_keeps_that_operation()
    {
        await using var harness = new Harness(StubHandler.Json("openai/embeddings-response.json"), Mapped(OpenAiGateway()));
        using (await harness.Client.SendAsync(Harness.Post("https://gw.internal/llm/v1/embeddings", Fixture.Text("openai/embeddings-request.json")))) { }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.CallType, Is.EqualTo("embedding"));
        Assert.That(payload.Endpoint, Is.EqualTo("/embeddings"));
    }

    [Test]
    public async Task A_request_to_the_prefix_itself_is_the_declared_operation_named_by_its_last_segment()
    {
        var mapping = new LlmProviderMapping { Host = "gw.internal", PathPrefix = "/llm/chat", Format = "openai", Operation = "chat_completion" };
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), Mapped(mapping));
        using (await harness.Client.SendAsync(Harness.Post("https://gw.internal/llm/chat/", Harness.SimpleChatBody()))) { }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.ApiBase, Is.EqualTo("https://gw.internal/llm"));
        Assert.That(payload.Endpoint, Is.EqualTo("/chat"));
        Assert.That(payload.Provider, Is.EqualTo("openai_compatible"));
    }

    [Test]
    public async Task Without_an_Operation_a_mapped_host_still_needs_the_formats_own_paths()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), Mapped(OpenAiGateway(operation: null)));
        using (var response = await harness.Client.SendAsync(Harness.Post("https://gw.internal/llm/chat", Harness.SimpleChatBody())))
        {
            Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
        }
        await harness.Dispatcher.FlushAsync();
        Assert.That(harness.Sink.Payloads, Is.Empty);
    }

    [TestCase("https://gw.internal/admin/reload")] // the mapped host, outside the prefix
    [TestCase("https://other.internal/llm/chat")] // the prefix, on another host
    [TestCase("https://api.example.com/v1/things")] // neither
    public async Task Requests_outside_the_mapping_pass_through_untouched(string url)
    {
        const string Body = """{"ok":true}""";
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), Mapped(OpenAiGateway()));
        using (var response = await harness.Client.SendAsync(Harness.Post(url, Body)))
        {
            Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
            Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("openai/chat-response.json")));
        }
        await harness.Dispatcher.FlushAsync();
        Assert.That(harness.Sink.Payloads, Is.Empty);
    }

    [Test]
    public void An_invalid_Operation_is_rejected_at_start_with_its_position_and_the_choices()
    {
        var options = Mapped(
            new LlmProviderMapping { Host = "gw", PathPrefix = "/llm/", Format = "openai", Operation = "chat" },
            new LlmProviderMapping { Host = "gw", PathPrefix = "/g/", Format = "gemini", Operation = "generate_content" },
            new LlmProviderMapping { Host = "gw", Format = "anthropic", Operation = "messages" },
            new LlmProviderMapping { Host = "gw", PathPrefix = "/x/", Format = "none", Operation = "chat_completion" },
            new LlmProviderMapping { Host = "gw", PathPrefix = "/o/", Format = "ollama", Operation = "text_completion" });
        var errors = options.GetValidationErrors();

        Assert.That(errors, Has.Some.EqualTo("ProviderMappings[0].Operation 'chat' is not one of Format 'openai''s: chat_completion, responses, embedding, text_completion."));
        Assert.That(errors, Has.Some.StartsWith("ProviderMappings[1].Operation 'generate_content' cannot be declared for Format 'gemini'"));
        Assert.That(errors, Has.Some.StartsWith("ProviderMappings[2].Operation needs a PathPrefix"));
        Assert.That(errors, Has.Some.StartsWith("ProviderMappings[3].Operation 'chat_completion' cannot be declared for Format 'none'"));
        Assert.That(errors, Has.None.Contains("ProviderMappings[4]"));
        Assert.Throws<ArgumentException>(() => new LlmLogDispatcher([], options));
    }

    [Test]
    public void An_invalid_Operation_bound_from_configuration_fails_the_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmObservability:ProviderMappings:0:Host"] = "gw.internal",
            ["LlmObservability:ProviderMappings:0:Format"] = "openai",
            ["LlmObservability:ProviderMappings:0:Operation"] = "chat_completion",
        });
        builder.Services.AddLlmObservability(builder.Configuration.GetSection("LlmObservability"));
        using var host = builder.Build();
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.That(ex!.Failures, Has.Some.StartsWith("ProviderMappings[0].Operation needs a PathPrefix"));
    }

    [Test]
    public async Task Mappings_bound_from_configuration_capture_calls()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            // The sample's shape: a host speaking OpenAI's paths, renamed.
            ["LlmObservability:ProviderMappings:0:Host"] = "llm-gateway.internal",
            ["LlmObservability:ProviderMappings:0:Format"] = "openai",
            ["LlmObservability:ProviderMappings:0:Provider"] = "internal-gateway",
            // A gateway with its own path.
            ["LlmObservability:ProviderMappings:1:Host"] = "gw.internal",
            ["LlmObservability:ProviderMappings:1:PathPrefix"] = "/llm/",
            ["LlmObservability:ProviderMappings:1:Format"] = "openai",
            ["LlmObservability:ProviderMappings:1:Operation"] = "chat_completion",
            ["LlmObservability:ProviderMappings:1:Provider"] = "gw",
        }).Build();
        var sink = new CollectingSink();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLlmObservability(configuration.GetSection("LlmObservability")).AddSink(sink, s => s.BatchInterval = TimeSpan.Zero);
        services.AddHttpClient("llm").AddLlmObservability().ConfigurePrimaryHttpMessageHandler(() => StubHandler.Json("openai/chat-response.json"));
        await using var provider = services.BuildServiceProvider();

        var mappings = provider.GetRequiredService<IOptions<LlmObservabilityOptions>>().Value.ProviderMappings;
        Assert.That(mappings.Select(m => (m.Host, m.PathPrefix, m.Format, m.Operation, m.Provider)), Is.EqualTo(new[]
        {
            ("llm-gateway.internal", (string?)null, "openai", (string?)null, "internal-gateway"),
            ("gw.internal", "/llm/", "openai", "chat_completion", "gw"),
        }));

        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("llm");
        using (await client.SendAsync(Harness.Post("https://llm-gateway.internal/v1/chat/completions", Harness.SimpleChatBody()))) { }
        using (await client.SendAsync(Harness.Post("https://gw.internal/llm/chat", Harness.SimpleChatBody()))) { }
        await provider.GetRequiredService<LlmLogDispatcher>().FlushAsync();

        Assert.That(sink.Payloads.Select(p => (p.Provider, p.CallType, p.ApiBase)), Is.EqualTo(new[]
        {
            ("internal-gateway", "chat_completion", "https://llm-gateway.internal/v1"),
            ("gw", "chat_completion", "https://gw.internal/llm"),
        }));
    }
}
