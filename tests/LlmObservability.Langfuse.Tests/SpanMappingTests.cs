using System.Diagnostics;
using System.Text.Json;
using LlmObservability.DependencyInjection;
using LlmObservability.Payload;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Opentelemetry.Proto.Trace.V1;

namespace LlmObservability.Langfuse.Tests;

/// <summary>What Langfuse receives for each kind of call, decoded by the receiver with the real OTLP types.</summary>
public class SpanMappingTests
{
    private LangfuseReceiver _receiver = null!;

    [SetUp]
    public async Task StartReceiver() => _receiver = await LangfuseReceiver.StartAsync();

    [TearDown]
    public async Task StopReceiver()
    {
        Assert.That(_receiver.Problems, Is.Empty, "protocol violations seen by the receiver");
        await _receiver.DisposeAsync();
    }

    [Test]
    public async Task A_successful_call_becomes_one_client_span_of_a_generation_with_gen_ai_and_langfuse_attributes()
    {
        var parent = Payloads.NewSpanId();
        var payload = Payloads.Success(parentSpanId: parent);
        await using (var host = await SinkHost.StartAsync(_receiver, o => o.Release = "v1.2.3"))
        {
            await host.SendAsync(payload);
        }

        var request = _receiver.Accepted.Single();
        var resource = request.Request.ResourceSpans.Single();
        var scope = resource.ScopeSpans.Single();
        var span = scope.Spans.Single();
        var a = span.Attributes();
        Assert.Multiple(() =>
        {
            Assert.That(resource.Resource.Attributes.Single(kv => kv.Key == "service.name").Value.StringValue, Is.EqualTo("checkout-api"));
            Assert.That(resource.Resource.Attributes.Single(kv => kv.Key == "telemetry.sdk.language").Value.StringValue, Is.EqualTo("dotnet"));
            Assert.That(scope.Scope.Name, Is.EqualTo("LlmObservability.Langfuse"));
            Assert.That(scope.Scope.Version, Is.Not.Empty);

            Assert.That(span.TraceId.Hex(), Is.EqualTo(payload.TraceId));
            Assert.That(span.SpanId.Hex(), Is.EqualTo(payload.SpanId));
            Assert.That(span.ParentSpanId.Hex(), Is.EqualTo(parent));
            Assert.That(span.Name, Is.EqualTo("chat gpt-4o-mini-2024-07-18"));
            Assert.That(span.Kind, Is.EqualTo(Span.Types.SpanKind.Client));
            Assert.That(span.StartTimeUnixNano, Is.EqualTo((ulong)(payload.StartTime - DateTimeOffset.UnixEpoch).Ticks * 100));
            Assert.That(span.EndTimeUnixNano - span.StartTimeUnixNano, Is.EqualTo(1_500_000_000UL));
            Assert.That(span.Status?.Code ?? Status.Types.StatusCode.Unset, Is.EqualTo(Status.Types.StatusCode.Unset));

            Assert.That(a.Str("gen_ai.operation.name"), Is.EqualTo("chat"));
            Assert.That(a.Str("gen_ai.provider.name"), Is.EqualTo("openai"));
            Assert.That(a.Str("gen_ai.system"), Is.EqualTo("openai"));
            Assert.That(a.Str("gen_ai.request.model"), Is.EqualTo("gpt-4o-mini"));
            Assert.That(a.Str("gen_ai.response.model"), Is.EqualTo("gpt-4o-mini-2024-07-18"));
            Assert.That(a.Str("gen_ai.response.id"), Is.EqualTo("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"));
            Assert.That(a["gen_ai.request.temperature"].DoubleValue, Is.EqualTo(0.2));
            Assert.That(a["gen_ai.request.top_p"].DoubleValue, Is.EqualTo(0.9));
            Assert.That(a["gen_ai.request.max_tokens"].IntValue, Is.EqualTo(256));
            Assert.That(a["gen_ai.request.stop_sequences"].ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "END" }));
            Assert.That(a["gen_ai.usage.input_tokens"].IntValue, Is.EqualTo(1500), "semconv input tokens include cached ones");
            Assert.That(a["gen_ai.usage.output_tokens"].IntValue, Is.EqualTo(200));
            Assert.That(a["gen_ai.response.finish_reasons"].ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "stop", "tool_calls" }));

            Assert.That(a.Str("langfuse.observation.type"), Is.EqualTo("generation"));
            Assert.That(a.Str("langfuse.observation.model.name"), Is.EqualTo("gpt-4o-mini-2024-07-18"));
            Assert.That(a.Str("langfuse.observation.level"), Is.EqualTo("DEFAULT"));
            Assert.That(a.ContainsKey("langfuse.observation.status_message"), Is.False);
            Assert.That(a.ContainsKey("langfuse.observation.completion_start_time"), Is.False, "no first content stamp, no completion start");
            Assert.That(a.Str("langfuse.environment"), Is.EqualTo("production-eu"), "the payload's environment made valid for Langfuse");
            Assert.That(a.Str("langfuse.release"), Is.EqualTo("v1.2.3"));
            Assert.That(a.Str("langfuse.trace.name"), Is.EqualTo("checkout-api"));
            Assert.That(a.Str("user.id"), Is.EqualTo("u-42"));
            Assert.That(a.Str("session.id"), Is.EqualTo("s-7"));
            Assert.That(a["langfuse.trace.tags"].ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "checkout", "beta" }));

            Assert.That(a.Str("langfuse.observation.metadata.call_id"), Is.EqualTo(payload.Id), "the caller's 'call_id' does not override ours");
            Assert.That(a.Str("langfuse.observation.metadata.tenant"), Is.EqualTo("acme"));
            Assert.That(a.Str("langfuse.observation.metadata.provider"), Is.EqualTo("openai"));
            Assert.That(a.Str("langfuse.observation.metadata.api_base"), Is.EqualTo("https://api.openai.com/v1"));
            Assert.That(a["langfuse.observation.metadata.http_status"].IntValue, Is.EqualTo(200));
            Assert.That(a.Str("langfuse.observation.metadata.request_id"), Is.EqualTo("req_123"));
            Assert.That(a.Str("langfuse.observation.metadata.response_id"), Is.EqualTo("chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"));
            Assert.That(a["langfuse.observation.metadata.attempt"].IntValue, Is.EqualTo(1));
            Assert.That(a.Str("langfuse.observation.metadata.price_key"), Is.EqualTo("gpt-4o-mini"));
            Assert.That(a.Str("langfuse.observation.metadata.api_key_prefix"), Is.EqualTo("sk-proj-"));
        });

        // Exclusive usage buckets, named like Langfuse's model prices: uncached input, cache reads, output without reasoning.
        var usage = a.JsonOf("langfuse.observation.usage_details");
        Assert.That(usage.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64()), Is.EquivalentTo(new Dictionary<string, long>
        {
            ["input"] = 1000,
            ["input_cached_tokens"] = 500,
            ["output"] = 150,
            ["output_reasoning"] = 50,
            ["total"] = 1700,
        }));
        var cost = a.JsonOf("langfuse.observation.cost_details");
        Assert.That(cost.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDecimal()), Is.EquivalentTo(new Dictionary<string, decimal>
        {
            ["input"] = 0.00015m,
            ["input_cached_tokens"] = 0.0000375m,
            ["output"] = 0.00012m,
            ["total"] = 0.0003075m,
        }));
        var parameters = a.JsonOf("langfuse.observation.model.parameters");
        Assert.Multiple(() =>
        {
            Assert.That(parameters.GetProperty("temperature").GetDouble(), Is.EqualTo(0.2));
            Assert.That(parameters.GetProperty("max_completion_tokens").GetInt32(), Is.EqualTo(256));
            Assert.That(parameters.GetProperty("response_format").GetString(), Is.EqualTo("json_schema"));
            Assert.That(parameters.GetProperty("parallel_tool_calls").GetString(), Is.EqualTo("true"), "Langfuse keeps parameters as strings or numbers");
            Assert.That(parameters.GetProperty("stop").GetString(), Is.EqualTo("[\"END\"]"));
        });

        var input = a.JsonOf("langfuse.observation.input");
        Assert.That(input.EnumerateArray().Select(m => m.GetProperty("role").GetString()), Is.EqualTo(new[] { "system", "user" }));
        Assert.That(input[1].GetProperty("content").GetString(), Is.EqualTo("Weather in Zürich? 🌦"));
        var output = a.JsonOf("langfuse.observation.output");
        Assert.That(output.GetProperty("role").GetString(), Is.EqualTo("assistant"));
        Assert.That(output.GetProperty("content").GetString(), Is.EqualTo("Let me check."));
        var call = output.GetProperty("tool_calls")[0];
        Assert.That(call.GetProperty("id").GetString(), Is.EqualTo("call_1"));
        Assert.That(call.GetProperty("function").GetProperty("name").GetString(), Is.EqualTo("get_weather"));
        Assert.That(call.GetProperty("function").GetProperty("arguments").GetString(), Is.EqualTo("{\"city\":\"Zürich\"}"));
    }

    [Test]
    public async Task A_failed_call_is_an_error_span_and_an_error_level_observation_with_a_status_message()
    {
        var payload = Payloads.Failure();
        await using (var host = await SinkHost.StartAsync(_receiver))
        {
            await host.SendAsync(payload);
        }

        var span = _receiver.Spans.Single();
        var a = span.Attributes();
        Assert.Multiple(() =>
        {
            Assert.That(span.Status.Code, Is.EqualTo(Status.Types.StatusCode.Error));
            Assert.That(span.Status.Message, Is.EqualTo("HTTP 429 rate_limit_error (rate_limit_exceeded): Rate limit reached for gpt-4o-mini"));
            Assert.That(span.Name, Is.EqualTo("chat gpt-4o-mini"), "no served model: the requested one names the span");
            Assert.That(a.Str("langfuse.observation.level"), Is.EqualTo("ERROR"));
            Assert.That(a.Str("langfuse.observation.status_message"), Is.EqualTo(span.Status.Message));
            Assert.That(a.Str("langfuse.observation.metadata.error_type"), Is.EqualTo("rate_limit_error"));
            Assert.That(a.Str("langfuse.observation.metadata.error_code"), Is.EqualTo("rate_limit_exceeded"));
            Assert.That(a["langfuse.observation.metadata.http_status"].IntValue, Is.EqualTo(429));
            Assert.That(a.ContainsKey("langfuse.observation.output"), Is.False, "no output in the payload, none sent");
            Assert.That(a.ContainsKey("langfuse.observation.usage_details"), Is.False, "unknown usage is not sent as 0");
            Assert.That(a.ContainsKey("langfuse.observation.cost_details"), Is.False, "unknown cost is not sent as 0");
            Assert.That(a.ContainsKey("langfuse.observation.input"), Is.True);
        });
    }

    [Test]
    public async Task A_streamed_call_carries_its_completion_start_time_for_langfuse()
    {
        var payload = Payloads.Streaming();
        await using (var host = await SinkHost.StartAsync(_receiver))
        {
            await host.SendAsync(payload);
        }

        var a = _receiver.Spans.Single().Attributes();
        Assert.That(a.Str("langfuse.observation.completion_start_time"), Is.EqualTo("2026-11-22T10:00:00.363Z"));
        Assert.That(a["langfuse.observation.metadata.stream"].BoolValue, Is.True);
        Assert.That(a["langfuse.observation.metadata.ttft_ms"].DoubleValue, Is.EqualTo(240));
    }

    [Test]
    public async Task Without_message_logging_in_the_sink_only_metadata_usage_and_cost_are_sent()
    {
        await using (var host = await SinkHost.StartAsync(_receiver, o => o.IncludeInputOutput = false))
        {
            await host.SendAsync(Payloads.Success());
        }

        var a = _receiver.Spans.Single().Attributes();
        Assert.That(a.Keys, Has.None.EqualTo("langfuse.observation.input").And.None.EqualTo("langfuse.observation.output"));
        Assert.That(a.Keys, Has.Member("langfuse.observation.usage_details").And.Member("langfuse.observation.cost_details"));
    }

    [Test]
    public async Task An_embedding_call_is_an_embedding_observation_and_the_sink_environment_wins()
    {
        var payload = Payloads.Success() with { CallType = "embedding", Provider = "azure_openai", Messages = null, Response = null, ToolCalls = null };
        await using (var host = await SinkHost.StartAsync(_receiver, o => o.Environment = "staging"))
        {
            await host.SendAsync(payload);
        }

        var span = _receiver.Spans.Single();
        var a = span.Attributes();
        Assert.That(span.Name, Is.EqualTo("embeddings gpt-4o-mini-2024-07-18"));
        Assert.That(a.Str("gen_ai.operation.name"), Is.EqualTo("embeddings"));
        Assert.That(a.Str("langfuse.observation.type"), Is.EqualTo("embedding"));
        Assert.That(a.Str("gen_ai.provider.name"), Is.EqualTo("azure.ai.openai"));
        Assert.That(a.Str("langfuse.environment"), Is.EqualTo("staging"));
    }

    [Test]
    public async Task Calls_captured_by_the_handler_inside_one_activity_share_its_trace_and_carry_the_scope()
    {
        await using var host = await SinkHost.StartAsync(_receiver, services: s =>
            s.AddHttpClient("openai").AddLlmObservability().ConfigurePrimaryHttpMessageHandler(() => new OpenAiFixtureHandler()));
        var client = host.Host.Services.GetRequiredService<IHttpClientFactory>().CreateClient("openai");
        var request = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "openai", "chat-request.json"));

        using var activity = new Activity("checkout").SetIdFormat(ActivityIdFormat.W3C).Start();
        using (LlmObservabilityScope.Begin(userId: "u-42", sessionId: "s-7", tags: ["checkout"]))
        {
            using var plain = await client.PostAsync("https://api.openai.com/v1/chat/completions", new StringContent(request, System.Text.Encoding.UTF8, "application/json"));
            await plain.Content.ReadAsStringAsync();
            var streamed = request.Replace("\"model\": \"gpt-4.1\",", "\"model\": \"gpt-4o-mini\", \"stream\": true,", StringComparison.Ordinal);
            using var stream = await client.PostAsync("https://api.openai.com/v1/chat/completions", new StringContent(streamed, System.Text.Encoding.UTF8, "application/json"));
            await stream.Content.ReadAsStringAsync();
        }
        activity.Stop();
        await host.Dispatcher.FlushAsync();

        var spans = _receiver.Spans;
        Assert.That(spans, Has.Count.EqualTo(2));
        Assert.That(spans.Select(s => s.TraceId.Hex()), Has.All.EqualTo(activity.TraceId.ToHexString()));
        Assert.That(spans.Select(s => s.ParentSpanId.Hex()), Has.All.EqualTo(activity.SpanId.ToHexString()));
        Assert.That(spans.Select(s => s.SpanId.Hex()).Distinct().Count(), Is.EqualTo(2));
        foreach (var a in spans.Select(s => s.Attributes()))
        {
            Assert.That(a.Str("user.id"), Is.EqualTo("u-42"));
            Assert.That(a.Str("session.id"), Is.EqualTo("s-7"));
            Assert.That(a["langfuse.trace.tags"].ArrayValue.Values.Single().StringValue, Is.EqualTo("checkout"));
        }
        var streamedSpan = spans.Single(s => s.Attributes()["langfuse.observation.metadata.stream"].BoolValue).Attributes();
        Assert.That(streamedSpan.Str("gen_ai.response.model"), Is.EqualTo("gpt-4o-mini-2024-07-18"));
        Assert.That(DateTimeOffset.Parse(streamedSpan.Str("langfuse.observation.completion_start_time"), System.Globalization.CultureInfo.InvariantCulture), Is.Not.EqualTo(default(DateTimeOffset)));
        Assert.That(JsonDocument.Parse(streamedSpan.Str("langfuse.observation.output")).RootElement.GetProperty("content").GetString(), Does.StartWith("Hello"));
    }

    [Test]
    public async Task A_Gemini_calls_camelCase_settings_become_the_same_gen_ai_request_attributes()
    {
        var payload = Payloads.Success() with
        {
            Provider = "gemini",
            CallType = "generate_content",
            ModelParameters = new Dictionary<string, JsonElement>
            {
                ["temperature"] = Payloads.Json("0.4"),
                ["topP"] = Payloads.Json("0.95"),
                ["topK"] = Payloads.Json("40"),
                ["maxOutputTokens"] = Payloads.Json("1024"),
                ["candidateCount"] = Payloads.Json("2"),
                ["stopSequences"] = Payloads.Json("[\"END\"]"),
            },
        };
        await using (var host = await SinkHost.StartAsync(_receiver))
        {
            await host.SendAsync(payload);
        }

        var a = _receiver.Spans.Single().Attributes();
        Assert.Multiple(() =>
        {
            Assert.That(a["gen_ai.request.temperature"].DoubleValue, Is.EqualTo(0.4));
            Assert.That(a["gen_ai.request.top_p"].DoubleValue, Is.EqualTo(0.95));
            Assert.That(a["gen_ai.request.top_k"].DoubleValue, Is.EqualTo(40));
            Assert.That(a["gen_ai.request.max_tokens"].IntValue, Is.EqualTo(1024));
            Assert.That(a["gen_ai.request.choice.count"].IntValue, Is.EqualTo(2));
            Assert.That(a["gen_ai.request.stop_sequences"].ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "END" }));
        });
    }

    [Test]
    public async Task Calls_of_different_services_go_under_their_own_resource_in_one_request()
    {
        await using (var host = await SinkHost.StartAsync(_receiver, configureSink: s => s.BatchInterval = TimeSpan.FromHours(1)))
        {
            foreach (var payload in new[] { Payloads.Success(), Payloads.Success() with { ServiceName = "billing" }, Payloads.Success() })
                Assert.That(host.Dispatcher.TryEnqueue(payload), Is.True);
            await host.Dispatcher.FlushAsync();
        }

        var request = _receiver.Accepted.Single().Request;
        var services = request.ResourceSpans.ToDictionary(r => r.Resource.Attributes.Single(kv => kv.Key == "service.name").Value.StringValue, r => r.ScopeSpans.Single().Spans.Count);
        Assert.That(services, Is.EquivalentTo(new Dictionary<string, int> { ["checkout-api"] = 2, ["billing"] = 1 }));
    }

    [Test]
    public async Task A_call_without_trace_context_gets_stable_ids_derived_from_its_call_id()
    {
        var payload = Payloads.Success() with { TraceId = null, SpanId = "0000000000000000", ServiceName = null };
        await using (var host = await SinkHost.StartAsync(_receiver))
        {
            await host.SendAsync(payload, payload);
        }

        var spans = _receiver.Spans;
        Assert.That(spans, Has.Count.EqualTo(2));
        Assert.That(spans[0].TraceId.Hex(), Is.EqualTo(payload.Id.Replace("-", "", StringComparison.Ordinal)));
        Assert.That(spans[1].TraceId, Is.EqualTo(spans[0].TraceId));
        Assert.That(spans[1].SpanId, Is.EqualTo(spans[0].SpanId), "a resend upserts the same observation");
        Assert.That(spans[0].SpanId.ToByteArray(), Has.Some.Not.EqualTo(0));
        Assert.That(spans[0].ParentSpanId.IsEmpty, Is.True);
        var resource = _receiver.Accepted[0].Request.ResourceSpans[0].Resource;
        Assert.That(resource.Attributes.Single(kv => kv.Key == "service.name").Value.StringValue, Is.EqualTo("unknown_service"));
        Assert.That(spans[0].Attributes().Str("langfuse.trace.name"), Is.EqualTo("chat gpt-4o-mini-2024-07-18"), "a root span without a service names the trace");
    }

    [Test]
    public async Task Anthropic_usage_is_already_exclusive_of_cache_reads_and_writes()
    {
        var payload = Payloads.Success() with
        {
            Provider = "anthropic",
            CallType = "messages",
            PromptTokens = 100,
            CachedPromptTokens = 2000,
            CacheCreationTokens = 300,
            CompletionTokens = 50,
            ReasoningTokens = null,
            TotalTokens = 150,
            Cost = null,
        };
        await using (var host = await SinkHost.StartAsync(_receiver))
        {
            await host.SendAsync(payload);
        }

        var a = _receiver.Spans.Single().Attributes();
        var usage = a.JsonOf("langfuse.observation.usage_details").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt64());
        Assert.That(usage, Is.EquivalentTo(new Dictionary<string, long>
        {
            ["input"] = 100,
            ["input_cached_tokens"] = 2000,
            ["input_cache_creation"] = 300,
            ["output"] = 50,
            ["total"] = 2450,
        }));
        Assert.That(a["gen_ai.usage.input_tokens"].IntValue, Is.EqualTo(2400));
        Assert.That(a.Str("gen_ai.provider.name"), Is.EqualTo("anthropic"));
    }
}
