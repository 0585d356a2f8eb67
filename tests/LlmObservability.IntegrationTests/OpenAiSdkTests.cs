using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using OpenAI;
using OpenAI.Chat;

namespace LlmObservability.IntegrationTests;

/// <summary>The real OpenAI .NET SDK, through the handler, against a real Kestrel server speaking the wire format.</summary>
public class OpenAiSdkTests : ObservedClientTests
{
    private OpenAiEmulator _server = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _server = await OpenAiEmulator.StartAsync();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _server.DisposeAsync();
    }

    private ChatClient Client(string model = "gpt-4o-mini") => new(model, new ApiKeyCredential("sk-test-1234567890abcdef"), new OpenAIClientOptions
    {
        Endpoint = _server.OpenAiEndpoint,
        Transport = new HttpClientPipelineTransport(Http),
        RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
    });


    [Test]
    public async Task A_plain_chat_completion_is_recorded_with_what_the_SDK_returned()
    {
        ChatCompletion completion = await Client().CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Say hello")], new ChatCompletionOptions { Temperature = 0.3f, MaxOutputTokenCount = 50 });
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("openai_compatible"), "loopback is not api.openai.com");
            Assert.That(payload.ApiBase, Is.EqualTo(_server.BaseUrl + "/v1"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o-mini"));
            Assert.That(payload.ResponseModel, Is.EqualTo(completion.Model));
            Assert.That(payload.ResponseId, Is.EqualTo(completion.Id).And.StartWith("chatcmpl-"));
            Assert.That(payload.Response!.Text, Is.EqualTo(completion.Content[0].Text));
            Assert.That(payload.PromptTokens, Is.EqualTo(completion.Usage.InputTokenCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(completion.Usage.OutputTokenCount));
            Assert.That(payload.TotalTokens, Is.EqualTo(completion.Usage.TotalTokenCount));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "Be brief."), ("user", "Say hello") }));
            Assert.That(payload.ModelParameters!["temperature"].GetDouble(), Is.EqualTo(0.3).Within(1e-6));
            Assert.That(payload.RequestId, Does.StartWith("req_"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
    }

    [Test]
    public async Task The_call_id_header_reaches_the_SDK_caller()
    {
        var result = await Client().CompleteChatAsync([new UserChatMessage("hi")]);
        var payload = await SinglePayloadAsync();
        Assert.That(result.GetRawResponse().Headers.TryGetValue("x-llm-call-id", out var id), Is.True);
        Assert.That(id, Is.EqualTo(payload.Id));
    }

    [Test]
    public async Task A_streamed_chat_completion_assembles_the_same_text_and_usage_the_SDK_saw()
    {
        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        string? id = null;
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            usage ??= update.Usage;
            id ??= update.CompletionId;
        }
        var payload = await SinglePayloadAsync();

        Assert.That(payload.Stream, Is.True);
        Assert.That(payload.ResponseId, Is.EqualTo(id).And.Not.Null);
        Assert.That(payload.Response!.Text, Is.EqualTo(text.ToString()).And.EqualTo("Hello! How can I help?"));
        Assert.That(usage, Is.Not.Null);
        Assert.That(payload.PromptTokens, Is.EqualTo(usage!.InputTokenCount));
        Assert.That(payload.CompletionTokens, Is.EqualTo(usage.OutputTokenCount));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success), "the SDK stops at [DONE]; that is a complete stream");
    }

    [Test]
    public async Task Streamed_tool_calls_match_what_the_SDK_assembled()
    {
        var tool = ChatTool.CreateFunctionTool("get_weather", "Weather for a place", BinaryData.FromString("""{"type":"object","properties":{"location":{"type":"string"}}}"""));
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, System.Text.StringBuilder>();
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], new ChatCompletionOptions { Tools = { tool } }))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                if (call.FunctionName is not null) names[call.Index] = call.FunctionName;
                if (!arguments.TryGetValue(call.Index, out var sb)) arguments[call.Index] = sb = new System.Text.StringBuilder();
                sb.Append(call.FunctionArgumentsUpdate?.ToString());
            }
        }
        var payload = await SinglePayloadAsync();

        Assert.That(payload.ToolCalls!.Select(c => c.Name), Is.EqualTo(names.OrderBy(n => n.Key).Select(n => n.Value)));
        Assert.That(payload.ToolCalls!.Select(c => c.Arguments), Is.EqualTo(arguments.OrderBy(a => a.Key).Select(a => a.Value.ToString())));
        Assert.That(payload.ToolCalls![0].Arguments, Is.EqualTo("{\"location\":\"Paris, France\"}"));
        Assert.That(payload.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_plain_tool_call_response_is_recorded()
    {
        var tool = ChatTool.CreateFunctionTool("get_current_weather", "Weather", BinaryData.FromString("""{"type":"object"}"""));
        ChatCompletion completion = await Client().CompleteChatAsync([new UserChatMessage("Weather in Boston?")], new ChatCompletionOptions { Tools = { tool } });
        var payload = await SinglePayloadAsync();
        Assert.That(payload.ToolCalls!.Single().Id, Is.EqualTo(completion.ToolCalls[0].Id));
        Assert.That(payload.ToolCalls!.Single().Arguments, Is.EqualTo(completion.ToolCalls[0].FunctionArguments.ToString()));
        Assert.That(payload.CachedPromptTokens, Is.EqualTo(64));
    }

    [Test]
    public async Task A_rate_limited_call_throws_in_the_SDK_as_usual_and_is_recorded_as_a_failure()
    {
        _server.Respond((ctx, _) => OpenAiEmulator.WriteJsonAsync(ctx, 429, OpenAiEmulator.Fixture("openai/error-429.json")));
        var ex = Assert.ThrowsAsync<ClientResultException>(() => Client().CompleteChatAsync([new UserChatMessage("hi")]));
        var payload = await SinglePayloadAsync();

        Assert.That(ex!.Status, Is.EqualTo(429));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Code, Is.EqualTo("rate_limit_exceeded"));
    }

    [Test]
    public async Task The_caller_has_the_first_event_before_the_server_sends_the_second_and_ttft_is_measured_from_it()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondSent = false;
        _server.Respond((ctx, _) => OpenAiEmulator.WriteSseAsync(ctx, OpenAiEmulator.Fixture("openai/chat-stream.sse"), async i =>
        {
            if (i == 2) await release.Task; // events 0 (role) and 1 ("Hello") go out, then the server waits for the test
            if (i >= 2) secondSent = true;
        }));

        var started = Stopwatch.GetTimestamp();
        var text = new System.Text.StringBuilder();
        TimeSpan? firstContentSeen = null;
        TimeSpan? releasedAt = null;
        await foreach (var update in Client().CompleteChatStreamingAsync([new UserChatMessage("Say hello")]))
        {
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            if (firstContentSeen is null && text.Length > 0)
            {
                firstContentSeen = Stopwatch.GetElapsedTime(started);
                Assert.That(secondSent, Is.False, "the caller got the first content event while the server still held the rest");
                await Task.Delay(50); // let measurable time pass between the first event and the rest
                releasedAt = Stopwatch.GetElapsedTime(started);
                release.SetResult();
            }
        }
        var payload = await SinglePayloadAsync();

        Assert.That(text.ToString(), Is.EqualTo("Hello! How can I help?"));
        Assert.That(payload.TtftMs, Is.Not.Null);
        Assert.That(payload.TtftMs!.Value, Is.LessThanOrEqualTo(firstContentSeen!.Value.TotalMilliseconds), "TTFT is stamped when the first event passes, not later");
        Assert.That(payload.TtftMs!.Value, Is.LessThan(releasedAt!.Value.TotalMilliseconds));
        Assert.That(payload.LatencyMs, Is.GreaterThanOrEqualTo(releasedAt.Value.TotalMilliseconds - 1), "the call ended after the release");
    }
}
