using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks;

namespace LlmObservability.IntegrationTests;

/// <summary>The real Anthropic .NET SDK, through the handler, against a real Kestrel server speaking the Messages wire format.</summary>
public class AnthropicSdkTests : ObservedClientTests
{
    private AnthropicEmulator _server = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _server = await AnthropicEmulator.StartNewAsync();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _server.DisposeAsync();
    }

    // The SDK takes the HttpClient to send through and the base URL (the server root; it appends /v1/messages).
    private AnthropicClient Client() => new()
    {
        HttpClient = Http,
        BaseUrl = _server.BaseUrl,
        ApiKey = "sk-ant-api03-test-1234567890abcdef",
        MaxRetries = 0,
    };

    private static Tool WeatherTool() => new()
    {
        Name = "get_weather",
        Description = "Get the current weather in a given location",
        InputSchema = new()
        {
            Properties = new Dictionary<string, JsonElement>
            {
                ["location"] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["type"] = "string" }),
                ["unit"] = JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["type"] = "string" }),
            },
            Required = ["location"],
        },
    };


    [Test]
    public async Task A_message_is_recorded_with_what_the_SDK_returned()
    {
        var message = await Client().Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            System = "Be brief.",
            Messages = [new UserMessageParam("Should I take an umbrella in Paris?")],
            StopSequences = ["END"],
            Metadata = new Metadata { UserID = "user-42" },
        });
        var payload = await SinglePayloadAsync();

        Assert.That(message.Content[0].TryPickText(out var text), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("anthropic"));
            Assert.That(payload.CallType, Is.EqualTo("messages"));
            Assert.That(payload.ApiBase, Is.EqualTo(_server.BaseUrl), "api_base is the base URL the SDK was given");
            Assert.That(payload.Endpoint, Is.EqualTo("/v1/messages"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("claude-sonnet-4-5"));
            Assert.That(payload.ResponseModel, Is.EqualTo(message.Model.Raw()));
            Assert.That(payload.ResponseId, Is.EqualTo(message.ID).And.StartWith("msg_"));
            Assert.That(payload.Response!.Text, Is.EqualTo(text!.Text));
            Assert.That(payload.PromptTokens, Is.EqualTo(message.Usage.InputTokens));
            Assert.That(payload.CompletionTokens, Is.EqualTo(message.Usage.OutputTokens));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(message.Usage.CacheReadInputTokens));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(message.Usage.CacheCreationInputTokens));
            Assert.That(payload.TotalTokens, Is.EqualTo(message.Usage.InputTokens + message.Usage.CacheReadInputTokens + message.Usage.CacheCreationInputTokens + message.Usage.OutputTokens));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { message.StopReason!.Raw() }).And.EqualTo(new[] { "end_turn" }));
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "Be brief."), ("user", "Should I take an umbrella in Paris?") }));
            Assert.That(payload.ModelParameters!["max_tokens"].GetInt32(), Is.EqualTo(256));
            Assert.That(payload.ModelParameters["user_id"].GetString(), Is.EqualTo("user-42"));
            Assert.That(payload.ModelParameters["stop_sequences"].EnumerateArray().Single().GetString(), Is.EqualTo("END"));
            Assert.That(payload.RequestId, Does.StartWith("req_"));
            Assert.That(payload.RateLimit!["anthropic-ratelimit-requests-remaining"], Is.EqualTo("49"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
        // The SDK authenticates with Authorization: Bearer, so on a host other than api.anthropic.com its anthropic-version
        // header is what identifies the call.
        Assert.That(_server.RequestHeaders.Single().ContainsKey("anthropic-version"), Is.True);
        Assert.That(payload.ApiKey!.Prefix, Is.EqualTo("sk-ant-a"));
    }

    [Test]
    public async Task A_tool_use_message_is_recorded_with_the_inputs_the_SDK_parsed()
    {
        var message = await Client().Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam("Weather in San Francisco?")],
            Tools = [WeatherTool()],
        });
        var payload = await SinglePayloadAsync();

        var sdkCalls = message.Content.Select(b => b.TryPickToolUse(out var use) ? use : null).OfType<ToolUseBlock>().ToList();
        Assert.That(sdkCalls, Has.Count.EqualTo(2));
        Assert.That(payload.ToolCalls!.Select(c => (c.Id, c.Name)), Is.EqualTo(sdkCalls.Select(c => ((string?)c.ID, (string?)c.Name))));
        for (var i = 0; i < sdkCalls.Count; i++)
        {
            var recorded = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(payload.ToolCalls![i].Arguments!)!;
            Assert.That(recorded.ToDictionary(p => p.Key, p => p.Value.GetRawText()), Is.EquivalentTo(sdkCalls[i].Input.ToDictionary(p => p.Key, p => p.Value.GetRawText())));
        }
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
        Assert.That(payload.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(1));
        Assert.That(payload.PromptTokens, Is.EqualTo(message.Usage.InputTokens));
        Assert.That(payload.CompletionTokens, Is.EqualTo(message.Usage.OutputTokens));
    }

    [Test]
    public async Task A_streamed_message_assembles_the_same_text_and_usage_the_SDK_saw()
    {
        var text = new StringBuilder();
        long? inputTokens = null;
        long? outputTokens = null;
        string? stopReason = null;
        string? id = null;
        await foreach (var streamEvent in Client().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam("Say hello")],
        }))
        {
            if (streamEvent.TryPickStart(out var start))
            {
                inputTokens = start.Message.Usage.InputTokens;
                id = start.Message.ID;
            }
            if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta)) text.Append(textDelta.Text);
            if (streamEvent.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
                stopReason = messageDelta.Delta.StopReason?.Raw();
            }
        }
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.ResponseId, Is.EqualTo(id).And.StartWith("msg_"));
            Assert.That(payload.Response!.Text, Is.EqualTo(text.ToString()).And.EqualTo("Hello! How can I help?"));
            Assert.That(payload.PromptTokens, Is.EqualTo(inputTokens));
            Assert.That(payload.CompletionTokens, Is.EqualTo(outputTokens), "the message_delta's cumulative count, as the SDK reports it");
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "end_turn" }));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { stopReason }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success), "message_stop ends the stream, however the SDK disposes it");
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
    }

    [Test]
    public async Task A_streamed_tool_use_matches_what_the_SDK_assembled()
    {
        var names = new Dictionary<long, string>();
        var ids = new Dictionary<long, string>();
        var inputs = new Dictionary<long, StringBuilder>();
        var text = new StringBuilder();
        await foreach (var streamEvent in Client().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 256,
            Messages = [new UserMessageParam("Weather in San Francisco?")],
            Tools = [WeatherTool()],
        }))
        {
            if (streamEvent.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var use))
            {
                names[start.Index] = use.Name;
                ids[start.Index] = use.ID;
                inputs[start.Index] = new StringBuilder();
            }
            if (streamEvent.TryPickContentBlockDelta(out var delta))
            {
                if (delta.Delta.TryPickInputJson(out var json)) inputs[delta.Index].Append(json.PartialJson);
                if (delta.Delta.TryPickText(out var textDelta)) text.Append(textDelta.Text);
            }
        }
        var payload = await SinglePayloadAsync();

        var order = names.Keys.Order().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(payload.Response!.Text, Is.EqualTo(text.ToString()));
            Assert.That(payload.ToolCalls!.Select(c => c.Name), Is.EqualTo(order.Select(i => names[i])));
            Assert.That(payload.ToolCalls!.Select(c => c.Id), Is.EqualTo(order.Select(i => ids[i])));
            // A tool without arguments streams no input_json_delta; its input is the start event's {}.
            Assert.That(payload.ToolCalls!.Select(c => c.Arguments), Is.EqualTo(order.Select(i => inputs[i].Length > 0 ? inputs[i].ToString() : "{}")));
            Assert.That(payload.ToolCalls![0].Arguments, Is.EqualTo("""{"location": "San Francisco, CA", "unit": "fahrenheit"}"""));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }

    [Test]
    public async Task An_overloaded_error_throws_in_the_SDK_as_usual_and_is_recorded_as_a_failure()
    {
        _server.Respond((ctx, _) => OpenAiEmulator.WriteJsonAsync(ctx, 529, AnthropicEmulator.Fixture("anthropic/error-529.json")));
        Assert.ThrowsAsync<AnthropicOverloadedException>(() => Client().Messages.Create(new MessageCreateParams
        {
            Model = "claude-sonnet-4-5",
            MaxTokens = 16,
            Messages = [new UserMessageParam("hi")],
        }));
        var payload = await SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(529));
        Assert.That(payload.Error!.Type, Is.EqualTo("overloaded_error"));
        Assert.That(payload.Error.Message, Is.EqualTo("Overloaded"));
    }

    [Test]
    public async Task An_error_event_inside_a_stream_fails_the_SDK_call_and_the_record()
    {
        _server.Respond((ctx, _) => OpenAiEmulator.WriteSseAsync(ctx, AnthropicEmulator.Fixture("anthropic/messages-stream-error.sse")));
        var text = new StringBuilder();
        var caught = Assert.ThrowsAsync<AnthropicSseException>(async () =>
        {
            await foreach (var streamEvent in Client().Messages.CreateStreaming(new MessageCreateParams
            {
                Model = "claude-sonnet-4-5",
                MaxTokens = 16,
                Messages = [new UserMessageParam("Tell me a story")],
            }))
            {
                if (streamEvent.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta)) text.Append(textDelta.Text);
            }
        });
        var payload = await SinglePayloadAsync();

        Assert.That(caught!.Message, Does.Contain("overloaded_error"), "the SDK surfaces the error event");
        Assert.That(text.ToString(), Is.EqualTo("Once upon"));
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("overloaded_error"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Once upon"));
    }
}
