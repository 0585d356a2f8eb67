using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

public class ScopeTests
{
    [Test]
    public async Task Scope_metadata_reaches_the_payload()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using (LlmObservabilityScope.Begin(userId: "u-42", sessionId: "s-7", tags: ["checkout"], metadata: new Dictionary<string, string> { ["tenant"] = "acme" }))
        {
            // The call runs on another task, as SDK calls do: AsyncLocal flows into it.
            await Task.Run(async () =>
            {
                using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
            });
        }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Metadata, Is.Not.Null);
        Assert.That(payload.Metadata!.UserId, Is.EqualTo("u-42"));
        Assert.That(payload.Metadata.SessionId, Is.EqualTo("s-7"));
        Assert.That(payload.Metadata.Tags, Is.EqualTo(new[] { "checkout" }));
        Assert.That(payload.Metadata.Custom!["tenant"], Is.EqualTo("acme"));
    }

    [Test]
    public void Nested_scopes_merge_and_restore()
    {
        using (LlmObservabilityScope.Begin(userId: "outer", tags: ["a"], metadata: new Dictionary<string, string> { ["k"] = "1", ["x"] = "outer" }))
        {
            using (LlmObservabilityScope.Begin(sessionId: "s", tags: ["b", "a"], metadata: new Dictionary<string, string> { ["x"] = "inner" }))
            {
                var current = LlmObservabilityScope.Current!;
                Assert.That(current.UserId, Is.EqualTo("outer"));
                Assert.That(current.SessionId, Is.EqualTo("s"));
                Assert.That(current.Tags, Is.EqualTo(new[] { "a", "b" }));
                Assert.That(current.Metadata, Is.EquivalentTo(new Dictionary<string, string> { ["k"] = "1", ["x"] = "inner" }));
            }
            Assert.That(LlmObservabilityScope.Current!.SessionId, Is.Null);
            Assert.That(LlmObservabilityScope.Current.Tags, Is.EqualTo(new[] { "a" }));
        }
        Assert.That(LlmObservabilityScope.Current, Is.Null);
    }

    [Test]
    public async Task Calls_inside_a_suppressing_scope_are_not_recorded_but_still_made()
    {
        var inner = StubHandler.Json("openai/chat-response.json");
        await using var harness = new Harness(inner);
        using (LlmObservabilityScope.Suppress())
        {
            using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
            Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
        }
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        await harness.Dispatcher.FlushAsync();
        Assert.That(inner.Calls, Is.EqualTo(2));
        Assert.That(harness.Sink.Payloads, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Message_logging_can_be_turned_off_globally_and_back_on_for_a_scope()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { LogMessages = false });
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        using (LlmObservabilityScope.Begin(logMessages: true))
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        await harness.Dispatcher.FlushAsync();

        var (off, on) = (harness.Sink.Payloads[0], harness.Sink.Payloads[1]);
        Assert.That(off.Messages, Is.Null);
        Assert.That(off.Response, Is.Null);
        Assert.That(off.Redaction!.MessageLogging, Is.False);
        Assert.That(off.TotalTokens, Is.EqualTo(29), "metadata is still logged");
        Assert.That(LlmPayloadJson.Serialize(off), Does.Not.Contain("\"messages\"").And.Not.Contain("Hello!"));
        Assert.That(on.Messages, Is.Not.Null);
        Assert.That(on.Response!.Text, Does.StartWith("Hello!"));
    }
}
