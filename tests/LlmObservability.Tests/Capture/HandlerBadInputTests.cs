using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Capture;

/// <summary>Whatever arrives, the caller's call is untouched and no exception comes from the library.</summary>
public class HandlerBadInputTests
{
    [TestCase("https://example.com/v1/chat/completions/extra", "POST")]
    [TestCase("https://api.openai.com/v1/models", "GET")]
    [TestCase("https://api.openai.com/v1/chat/completions", "GET")]
    [TestCase("https://internal.example.com/api/orders", "POST")]
    public async Task Unknown_hosts_paths_and_methods_pass_through_untouched(string url, string method)
    {
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("plain") }));
        await using var harness = new Harness(inner);
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST") request.Content = new StringContent("{\"model\":\"x\"}");

        using var response = await harness.Client.SendAsync(request);
        await harness.Dispatcher.FlushAsync();

        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("plain"));
        Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
        Assert.That(response.Content, Is.InstanceOf<StringContent>(), "the response content is not even wrapped");
        Assert.That(harness.Sink.Payloads, Is.Empty);
    }

    [Test]
    public async Task A_request_body_that_is_not_json_still_goes_through_and_the_payload_says_so()
    {
        var inner = StubHandler.Json("openai/chat-response.json");
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.ChatRequest("this is {not json"));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(inner.RequestBodies.Single(), Is.EqualTo("this is {not json"u8.ToArray()));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success), "the call itself worked");
        Assert.That(payload.RequestedModel, Is.Null);
        Assert.That(payload.Error!.Type, Is.EqualTo("capture_note"));
        Assert.That(payload.Error.Message, Does.Contain("request body is not valid JSON"));
        Assert.That(payload.TotalTokens, Is.EqualTo(29), "the response was still read");
    }

    [Test]
    public async Task A_request_body_that_is_json_but_not_an_object_is_noted()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest("[1,2,3]"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Error!.Message, Does.Contain("not a JSON object"));
    }

    [Test]
    public async Task A_truncated_response_body_is_recorded_with_what_was_known()
    {
        var truncated = Fixture.Bytes("openai/chat-response.json").AsSpan(0, 200).ToArray();
        var inner = new StubHandler((_, _) =>
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(truncated) };
            response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            return Task.FromResult(response);
        });
        await using var harness = new Harness(inner);

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(truncated));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.RequestedModel, Is.EqualTo("gpt-4o-mini"));
        Assert.That(payload.Error!.Message, Does.Contain("response body is not valid JSON"));
        Assert.That(payload.TotalTokens, Is.Null);
    }

    [Test]
    public async Task Garbage_in_a_stream_is_skipped_event_by_event()
    {
        var sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\ndata: {broken\n\ndata: 42\n\ndata: {\"choices\":\"nope\"}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"B\"}}]}\n\ndata: [DONE]\n\n";
        await using var harness = new Harness(StubHandler.Sse(Encoding.UTF8.GetBytes(sse), chunkSize: 4));

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(sse));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("AB"));
        Assert.That(payload.Error!.Message, Does.Contain("1 stream event(s) could not be parsed"));
    }

    /// <summary>
    /// A gateway answers 200 with an error body when the model fails after the request was accepted (OpenRouter
    /// documents it): the call is a failure with the error read as from any error body, not a success without output.
    /// </summary>
    [TestCase("""{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Example"}}}""", "response_error", "502", "Provider returned error")]
    [TestCase("""{"error":{"message":"Upstream failed","type":"upstream_error","code":null}}""", "upstream_error", null, "Upstream failed")]
    [TestCase("""{"error":"plain words"}""", "response_error", null, "plain words")]
    [TestCase("""{"id":"gen-1","error":{"code":429,"message":"Rate limited upstream"},"choices":[]}""", "response_error", "429", "Rate limited upstream")]
    public async Task An_error_body_with_status_200_is_a_failure(string body, string type, string? code, string message)
    {
        var inner = ProviderTestSupport.Json(body);
        await using var harness = new Harness(inner);
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
        Assert.That(payload.Error!.Type, Is.EqualTo(type));
        Assert.That(payload.Error.Code, Is.EqualTo(code));
        Assert.That(payload.Error.Message, Is.EqualTo(message));
        Assert.That(payload.Error.Body, Is.EqualTo(body));
    }

    [TestCase("""{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop","error":null}],"error":null,"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""")]
    [TestCase("""{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"ok","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"error\":\"none\"}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}""")]
    public async Task A_success_body_that_mentions_error_elsewhere_is_still_a_success(string body)
    {
        var inner = ProviderTestSupport.Json(body);
        await using var harness = new Harness(inner);
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error, Is.Null);
        Assert.That(payload.Response!.Text, Is.EqualTo("ok"));
        Assert.That(payload.TotalTokens, Is.EqualTo(4));
    }

    /// <summary>
    /// Relays and gateways keep long streams open with empty <c>data:</c> frames, and a block of only <c>id:</c> or
    /// <c>retry:</c> is legal SSE. Such an event carries nothing to parse: it is not a bad event, and leaves no note.
    /// </summary>
    [Test]
    public async Task Keep_alive_frames_between_events_are_no_events_at_all()
    {
        var payload = await KeepAlive.RecordAsync("openai/chat-stream.sse", Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));
        Assert.That(payload.Response!.Text, Is.EqualTo("Hello! How can I help?"));
        Assert.That(payload.TotalTokens, Is.EqualTo(25));
    }

    /// <summary>
    /// A stream read to its end without its end-of-stream event was closed early (a proxy, a gateway, the server), or
    /// comes from a server that never sends one: the caller got no error, so the record stays a success, with a note.
    /// </summary>
    [TestCase("data: [DONE]", "Hello! How can I help?", 25)]
    [TestCase("\"usage\":{", "Hello! How can I help?", null)]
    [TestCase("\"content\":\" I help?\"", "Hello! How can", null)]
    public async Task A_stream_that_ends_before_DONE_is_a_success_with_a_note(string cutBefore, string text, int? totalTokens)
    {
        var payload = await CutStream.RecordAsync("openai/chat-stream.sse", cutBefore, Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error!.Type, Is.EqualTo("capture_note"));
        Assert.That(payload.Error.Message, Does.Contain(CutStream.Note));
        Assert.That(payload.Response!.Text, Is.EqualTo(text));
        Assert.That(payload.TotalTokens, Is.EqualTo(totalTokens));
    }

    [TestCase("")]
    [TestCase("data: \n\n: ping\n\n")]
    public async Task A_stream_with_no_events_at_all_says_so(string sse)
    {
        var payload = await SseCall.RecordAsync(Encoding.UTF8.GetBytes(sse), Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        Assert.That(payload.Error!.Message, Does.Contain(CutStream.Note));
        Assert.That(payload.Response?.Text, Is.Null.Or.Empty);
    }

    [Test]
    public async Task An_error_event_inside_a_200_stream_is_a_failure()
    {
        var sse = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"}}]}\n\ndata: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"code\":null}}\n\n";
        await using var harness = new Harness(StubHandler.Sse(Encoding.UTF8.GetBytes(sse)));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true)));
        await response.Content.ReadAsStringAsync();
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("server_error"));
        Assert.That(payload.Error.Message, Does.StartWith("The server had an error"));
        Assert.That(payload.Error.Message, Does.Not.Contain(CutStream.Note), "the stream ended on its error: nothing is missing");
    }

    [Test]
    public async Task A_request_body_over_the_capture_cap_is_not_read_but_the_call_is_recorded()
    {
        var inner = StubHandler.Json("openai/chat-response.json");
        await using var harness = new Harness(inner, new LlmObservabilityOptions { MaxRequestCaptureBytes = 10 });
        var body = Harness.SimpleChatBody();

        using var response = await harness.Client.SendAsync(Harness.ChatRequest(body));
        var payload = await harness.SinglePayloadAsync();

        Assert.That(inner.RequestBodies.Single(), Is.EqualTo(Encoding.UTF8.GetBytes(body)));
        Assert.That(payload.RequestedModel, Is.Null);
        Assert.That(payload.Error!.Message, Does.Contain("over the capture cap"));
        Assert.That(payload.TotalTokens, Is.EqualTo(29));
    }

    [Test]
    public async Task A_response_body_over_the_capture_cap_reaches_the_caller_whole()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { MaxResponseCaptureBytes = 64 });
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.EqualTo(Fixture.Bytes("openai/chat-response.json")));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Error!.Message, Does.Contain("over the capture cap"));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task A_request_without_a_body_is_recorded()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, Harness.ChatUrl));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.RequestedModel, Is.Null);
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task An_empty_response_body_does_not_throw()
    {
        var inner = new StubHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)));
        await using var harness = new Harness(inner);
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        Assert.That(await response.Content.ReadAsByteArrayAsync(), Is.Empty);
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.HttpStatus, Is.EqualTo(200));
    }

    [Test]
    public async Task Any_OpenAI_compatible_host_with_the_path_is_recognised_and_secret_query_values_are_masked()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"));
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(), "http://127.0.0.1:8080/proxy/v1/chat/completions?api-key=s3cret&tenant=a"));
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Provider, Is.EqualTo("openai_compatible"));
        Assert.That(payload.ApiBase, Is.EqualTo("http://127.0.0.1:8080/proxy/v1?api-key=***&tenant=a"));
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain("s3cret"));
    }

    [Test]
    public async Task A_disabled_handler_records_nothing()
    {
        await using var harness = new Harness(StubHandler.Json("openai/chat-response.json"), new LlmObservabilityOptions { Enabled = false });
        using var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()));
        await harness.Dispatcher.FlushAsync();
        Assert.That(harness.Sink.Payloads, Is.Empty);
        Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
    }
}
