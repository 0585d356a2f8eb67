// ResponsesClient is marked experimental in OpenAI 2.15; these tests exercise it on purpose.
#pragma warning disable OPENAI001

using System.ClientModel;
using System.Text;
using LlmObservability.Payload;
using Microsoft.Extensions.AI;
using OpenAI.Responses;

namespace LlmObservability.IntegrationTests;

/// <summary>The real OpenAI SDK's Responses client, through the handler, against the emulator.</summary>
public class OpenAiResponsesSdkTests : EmulatorFixture
{
    private ResponsesClient Client() => new(new ApiKeyCredential("sk-test-1234567890abcdef"), SdkOptions(new ResponsesClientOptions()));

    [Test]
    public async Task A_plain_response_is_recorded_with_what_the_SDK_returned()
    {
        var options = new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Plan a day in Paris.")])
        {
            Instructions = "You are a concise travel assistant.",
            Temperature = 0.5f,
            MaxOutputTokenCount = 200,
        };
        ResponseResult result = await Client().CreateResponseAsync(options);
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("responses"));
            Assert.That(payload.Provider, Is.EqualTo("openai_compatible"));
            Assert.That(payload.Endpoint, Is.EqualTo("/responses"));
            Assert.That(payload.Stream, Is.False);
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4.1"));
            Assert.That(payload.ResponseModel, Is.EqualTo(result.Model));
            Assert.That(payload.ResponseId, Is.EqualTo(result.Id).And.StartWith("resp_"));
            Assert.That(payload.Response!.Text, Is.EqualTo(result.GetOutputText()));
            Assert.That(payload.PromptTokens, Is.EqualTo(result.Usage.InputTokenCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(result.Usage.OutputTokenCount));
            Assert.That(payload.TotalTokens, Is.EqualTo(result.Usage.TotalTokenCount));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(result.Usage.InputTokenDetails.CachedTokenCount));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "You are a concise travel assistant."), ("user", "Plan a day in Paris.") }));
            Assert.That(payload.ModelParameters!["temperature"].GetDouble(), Is.EqualTo(0.5).Within(1e-6));
            Assert.That(payload.ModelParameters["max_output_tokens"].GetInt32(), Is.EqualTo(200));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.RequestId, Does.StartWith("req_"));
        });
    }

    [Test]
    public async Task A_streamed_response_assembles_the_text_and_usage_the_SDK_saw()
    {
        var text = new StringBuilder();
        ResponseResult? final = null;
        await foreach (var update in await Client().CreateResponseStreamingAsync(new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("Plan a day in Paris.")]) { StreamingEnabled = true }))
        {
            if (update is StreamingResponseOutputTextDeltaUpdate delta) text.Append(delta.Delta);
            if (update is StreamingResponseCompletedUpdate completed) final = completed.Response;
        }
        var payload = await SinglePayloadAsync();

        Assert.That(final, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo(text.ToString()).And.EqualTo(final!.GetOutputText()));
            Assert.That(payload.PromptTokens, Is.EqualTo(final!.Usage.InputTokenCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(final.Usage.OutputTokenCount));
            Assert.That(payload.ResponseModel, Is.EqualTo(final.Model));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "stop" }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success), "the SDK stops after response.completed; that is a complete stream");
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
    }

    [Test]
    public async Task Streamed_function_calls_and_reasoning_match_what_the_SDK_assembled()
    {
        var tool = ResponseTool.CreateFunctionTool("get_weather", BinaryData.FromString("""{"type":"object","properties":{"location":{"type":"string"}}}"""), strictModeEnabled: false, functionDescription: "Weather for a place");
        var options = new CreateResponseOptions("o4-mini", [ResponseItem.CreateUserMessageItem("Weather and time in Paris?")]) { Tools = { tool }, StreamingEnabled = true };
        var reasoning = new StringBuilder();
        var calls = new List<FunctionCallResponseItem>();
        await foreach (var update in await Client().CreateResponseStreamingAsync(options))
        {
            if (update is StreamingResponseReasoningSummaryTextDeltaUpdate summary) reasoning.Append(summary.Delta);
            if (update is StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem call }) calls.Add(call);
        }
        var payload = await SinglePayloadAsync();

        Assert.That(payload.ToolCalls!.Select(c => (c.Id, c.Name, c.Arguments)), Is.EqualTo(calls.Select(c => (c.CallId, c.FunctionName, c.FunctionArguments.ToString()))));
        Assert.That(payload.ToolCalls, Has.Count.EqualTo(2));
        Assert.That(payload.Response!.Reasoning!.Replace("\n\n**Adding", "**Adding"), Is.EqualTo(reasoning.ToString()), "the summary parts, with a blank line between them");
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_calls" }));
        Assert.That(payload.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_failed_stream_surfaces_in_the_SDK_and_is_recorded_as_a_failure()
    {
        Server.Respond((context, _) => OpenAiEmulator.WriteSseAsync(context, OpenAiEmulator.Fixture("openai/responses-stream-error.sse")));
        var updates = new List<StreamingResponseUpdate>();
        try
        {
            await foreach (var update in await Client().CreateResponseStreamingAsync(new CreateResponseOptions("gpt-4.1", [ResponseItem.CreateUserMessageItem("hi")]) { StreamingEnabled = true })) updates.Add(update);
        }
        catch (Exception ex) when (ex is ClientResultException or InvalidOperationException)
        {
            // Some SDK versions throw on an error event, others hand it over as an update; both are fine here.
        }
        var payload = await SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Code, Is.EqualTo("rate_limit_exceeded"));
        Assert.That(payload.Error.Type, Is.EqualTo("stream_error"));
    }

    /// <remarks>
    /// Plain only: Microsoft.Extensions.AI.OpenAI 10.11.0 is built against OpenAI 2.14, whose experimental
    /// <c>CreateResponseStreamingAsync</c> returned another type than 2.15's, so its streaming path throws
    /// <see cref="MissingMethodException"/> with OpenAI 2.15 (a package mismatch, not this library's).
    /// </remarks>
    [Test]
    public async Task IChatClient_over_the_responses_client_is_recorded()
    {
        using var chat = Client().AsIChatClient("gpt-4.1");
        var response = await chat.GetResponseAsync("Plan a day in Paris.");
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("responses"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4.1"));
            Assert.That(payload.Response!.Text, Is.EqualTo(response.Text));
            Assert.That(payload.PromptTokens, Is.EqualTo(response.Usage!.InputTokenCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(response.Usage.OutputTokenCount));
            Assert.That(payload.Messages!.Single().Content, Is.EqualTo("Plan a day in Paris."));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
    }
}
