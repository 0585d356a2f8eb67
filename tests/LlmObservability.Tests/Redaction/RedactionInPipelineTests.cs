using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>Redaction where it applies: every text field of the payload, before any sink sees it.</summary>
public class RedactionInPipelineTests
{
    private const string Email = "jane.doe@example.com";
    private const string Card = "4111 1111 1111 1111";
    private const string OpenAiKey = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh3iJk6lMn9oPq2rSt5uVw8xYz1aBc4dEf7gHi0jKl3mNo6pQr9sTu2vWx5yZa8bCd1eFg4hIj7kLm0nOp3qRs6";

    private static StubHandler Json(string body, HttpStatusCode status = HttpStatusCode.OK, Action<HttpResponseMessage>? configure = null) => new((_, _) =>
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        configure?.Invoke(response);
        return Task.FromResult(response);
    });

    private static string ChatResponse(string text) =>
        $$$"""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":{{{System.Text.Json.JsonSerializer.Serialize(text)}}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}""";

    [Test]
    public async Task Every_request_message_part_and_the_response_text_are_redacted_and_counted()
    {
        var image = "data:image/png;base64," + Convert.ToBase64String(new byte[30_000]);
        var request = $$$"""
            {"model":"gpt-4o-mini","user":"{{{Email}}}","messages":[
              {"role":"system","content":"Support agent. Escalations go to {{{Email}}}."},
              {"role":"user","content":[{"type":"text","text":"My card is {{{Card}}}"},{"type":"image_url","image_url":{"url":"{{{image}}}"}},{"type":"text","text":"and my SSN is 536-22-8741"}]}]}
            """;
        await using var harness = new Harness(Json(ChatResponse($"Noted. I will email {Email} about card {Card}.")));
        using (await harness.Client.SendAsync(Harness.ChatRequest(request))) { }
        var payload = await harness.SinglePayloadAsync();
        var json = LlmPayloadJson.Serialize(payload);

        Assert.That(json, Does.Not.Contain(Email).And.Not.Contain(Card).And.Not.Contain("536-22-8741"));
        Assert.That(payload.Messages![0].Content, Is.EqualTo("Support agent. Escalations go to [EMAIL]."));
        Assert.That(payload.Messages[1].Content, Is.EqualTo("My card is [CREDIT_CARD]\n[image_url]\nand my SSN is [US_SSN]"));
        Assert.That(payload.Response!.Text, Is.EqualTo("Noted. I will email [EMAIL] about card [CREDIT_CARD]."));
        Assert.That(payload.ModelParameters!["user"].GetString(), Is.EqualTo("[EMAIL]"), "string parameters too");
        Assert.That(payload.Redaction!.Entities, Is.EquivalentTo(new Dictionary<string, int> { ["EMAIL"] = 3, ["CREDIT_CARD"] = 2, ["US_SSN"] = 1 }));
    }

    [Test]
    public async Task Streamed_output_is_redacted_after_assembly_even_when_the_PII_is_split_across_deltas()
    {
        string Chunk(string content) => $$$"""data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":{{{System.Text.Json.JsonSerializer.Serialize(content)}}}},"finish_reason":null}]}""" + "\n\n";
        const string toolArgs = "{\\\"phone\\\":\\\"+1 415 555 0132\\\",\\\"ssn\\\":\\\"536-22-8741\\\"}";
        var sse = Chunk("Write to jane.doe@") + Chunk("example.com today") +
            """data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"save","arguments":""" + "\"" + toolArgs + "\"" + """}}]},"finish_reason":null}]}""" + "\n\n" +
            """data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"reasoning_content":"The user wrote from jane.doe@example.com"},"finish_reason":"stop"}]}""" + "\n\ndata: [DONE]\n\n";
        await using var harness = new Harness(StubHandler.Sse(Encoding.UTF8.GetBytes(sse), chunkSize: 5));
        using (var response = await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody(stream: true))))
        {
            Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo(sse), "the caller still gets the original bytes");
        }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo("Write to [EMAIL] today"));
        Assert.That(payload.Response.Reasoning, Is.EqualTo("The user wrote from [EMAIL]"));
        Assert.That(payload.ToolCalls!.Single().Arguments, Does.Contain("[PHONE]").And.Contain("[US_SSN]").And.Not.Contain("555"));
    }

    [Test]
    public async Task Error_messages_and_bodies_are_redacted()
    {
        var body = $$$"""{"error":{"message":"Incorrect API key provided: {{{OpenAiKey}}}. Contact {{{Email}}}.","type":"invalid_request_error","code":"invalid_api_key"}}""";
        await using var harness = new Harness(Json(body, HttpStatusCode.Unauthorized));
        using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Error!.Message, Does.Contain("[OPENAI_API_KEY]").And.Contain("[EMAIL]"));
        Assert.That(payload.Error.Body, Does.Not.Contain(OpenAiKey).And.Not.Contain(Email));
    }

    /// <summary>A 200 whose body is an error: its code and type are the provider's (or a proxy's) text like its message.</summary>
    [TestCase(HttpStatusCode.OK)]
    [TestCase(HttpStatusCode.BadRequest)]
    public async Task Error_codes_and_types_are_redacted(HttpStatusCode status)
    {
        var body = $$$"""{"error":{"message":"Quota exceeded","type":"quota for {{{Email}}}","code":"{{{Email}}}"}}""";
        await using var harness = new Harness(Json(body, status));
        using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Code, Is.EqualTo("[EMAIL]"));
        Assert.That(payload.Error.Type, Is.EqualTo("quota for [EMAIL]"));
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain(Email));
    }

    /// <summary>A gateway's error body that echoes the request's headers: the cookie's value must not reach the payload.</summary>
    [Test]
    public async Task Cookie_values_echoed_in_an_error_body_are_redacted()
    {
        const string session = "Zx8vLm2Tq9wR4yU7iO0pA3sD6fG";
        var body = $$$"""{"error":{"message":"Bad request","type":"invalid_request_error"},"headers":{"cookie":"session={{{session}}}","set-cookie":"__cf_bm={{{session}}}; path=/"}}""";
        await using var harness = new Harness(Json(body, HttpStatusCode.BadRequest));
        using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Error!.Body, Does.Contain("\"cookie\":\"session=[SECRET_ASSIGNMENT]\""));
        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain(session));
    }

    [Test]
    public async Task Metadata_string_values_are_redacted()
    {
        await using var harness = new Harness(Json(ChatResponse("ok")));
        using (LlmObservabilityScope.Begin(userId: Email, sessionId: "s-1", tags: [$"owner:{Email}"], metadata: new Dictionary<string, string> { ["note"] = $"card {Card}" }))
        using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(payload.Metadata!.UserId, Is.EqualTo("[EMAIL]"));
        Assert.That(payload.Metadata.SessionId, Is.EqualTo("s-1"));
        Assert.That(payload.Metadata.Tags, Is.EqualTo(new[] { "owner:[EMAIL]" }));
        Assert.That(payload.Metadata.Custom!["note"], Is.EqualTo("card [CREDIT_CARD]"));
    }

    [Test]
    public async Task Credential_headers_never_appear_and_the_api_key_only_as_prefix_and_hash()
    {
        var inner = Json(ChatResponse("ok"), configure: r =>
        {
            r.Headers.Add("set-cookie", "session=SECRET-SET-COOKIE; HttpOnly");
            r.Headers.Add("x-ratelimit-remaining-requests", "99");
        });
        await using var harness = new Harness(inner);
        var request = Harness.ChatRequest(Harness.SimpleChatBody());
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", OpenAiKey);
        request.Headers.Add("api-key", "AZURE-KEY-VALUE-123");
        request.Headers.Add("x-api-key", "ANTHROPIC-KEY-VALUE-456");
        request.Headers.Add("proxy-authorization", "Basic UFJPWFktU0VDUkVU");
        request.Headers.Add("cookie", "session=SECRET-COOKIE");
        using (await harness.Client.SendAsync(request)) { }
        var json = LlmPayloadJson.Serialize(await harness.SinglePayloadAsync());

        foreach (var secret in new[] { OpenAiKey, OpenAiKey[8..40], "AZURE-KEY-VALUE-123", "ANTHROPIC-KEY-VALUE-456", "UFJPWFktU0VDUkVU", "SECRET-COOKIE", "SECRET-SET-COOKIE", "Bearer" })
            Assert.That(json, Does.Not.Contain(secret));
        Assert.That(json, Does.Contain("\"prefix\":\"sk-proj-\"").And.Contain("x-ratelimit-remaining-requests"));
    }

    [Test]
    public async Task Inline_data_blobs_become_a_size_note()
    {
        var audio = Convert.ToBase64String(new byte[12_000]);
        var request = $$"""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Here: data:audio/wav;base64,{{audio}} and raw {{audio}}"}]}""";
        await using var harness = new Harness(Json(ChatResponse("ok")));
        using (await harness.Client.SendAsync(Harness.ChatRequest(request))) { }
        var payload = await harness.SinglePayloadAsync();
        Assert.That(payload.Messages![0].Content, Is.EqualTo("Here: [data:audio/wav;base64, 11.7 KB] and raw [base64, 11.7 KB]"));
    }

    [Test]
    public async Task Strings_inside_object_and_array_parameters_are_redacted_and_the_rest_is_kept()
    {
        var request = $$$"""
            {"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true},
             "metadata":{"customer":"{{{Email}}}","plan":"pro"},"stop":["END","card {{{Card}}}"],"prediction":{"type":"content","content":"Dear {{{Email}}},"}}
            """;
        await using var harness = new Harness(Json(ChatResponse("ok")));
        using (await harness.Client.SendAsync(Harness.ChatRequest(request))) { }
        var payload = await harness.SinglePayloadAsync();
        var parameters = payload.ModelParameters!;

        Assert.That(LlmPayloadJson.Serialize(payload), Does.Not.Contain(Email).And.Not.Contain(Card));
        Assert.That(parameters["metadata"].GetRawText(), Is.EqualTo("""{"customer":"[EMAIL]","plan":"pro"}"""));
        Assert.That(parameters["stop"].GetRawText(), Is.EqualTo("""["END","card [CREDIT_CARD]"]"""));
        Assert.That(parameters["prediction"].GetProperty("content").GetString(), Is.EqualTo("Dear [EMAIL],"));
        Assert.That(parameters["stream_options"].GetRawText(), Is.EqualTo("""{"include_usage":true}"""), "without text, kept as sent");
        Assert.That(payload.Redaction!.Entities, Is.EquivalentTo(new Dictionary<string, int> { ["EMAIL"] = 2, ["CREDIT_CARD"] = 1 }));
    }

    /// <summary>
    /// A document holds an escaped lone surrogate, but no JSON writer writes one: a parameter holding one made the
    /// payload impossible to serialize, so every sink lost the call. It is kept with U+FFFD in its place.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public async Task A_parameter_with_a_lone_surrogate_is_kept_as_replacement_characters_and_the_payload_is_written(bool redaction)
    {
        var request = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"user":"u\udc00","stop":["a\ud800b","\ud83d\ude00"],"metadata":{"k":"\\ud800 is \ud800"}}""";
        await using var harness = new Harness(Json(ChatResponse("ok")), new LlmObservabilityOptions { Redaction = { Enabled = redaction } });
        using (await harness.Client.SendAsync(Harness.ChatRequest(request))) { }
        var payload = await harness.SinglePayloadAsync();

        Assert.That(() => LlmPayloadJson.Serialize(payload), Throws.Nothing);
        Assert.That(payload.ModelParameters!["user"].GetString(), Is.EqualTo("u\uFFFD"));
        Assert.That(payload.ModelParameters["stop"][0].GetString(), Is.EqualTo("a\uFFFDb"));
        Assert.That(payload.ModelParameters["stop"][1].GetString(), Is.EqualTo("😀"), "a whole pair is text");
        Assert.That(payload.ModelParameters["metadata"].GetProperty("k").GetString(), Is.EqualTo("\\ud800 is \uFFFD"), "an escaped backslash is not an escape");
    }

    [Test]
    public async Task Redaction_can_be_configured_per_entity_and_turned_off()
    {
        var options = new LlmObservabilityOptions();
        options.Redaction.EntityActions[PiiEntities.CreditCard] = PiiRedactionAction.Partial;
        options.Redaction.DisabledEntities.Add(PiiEntities.Email);
        await using (var harness = new Harness(Json(ChatResponse($"{Email} paid with {Card}")), options))
        {
            using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
            Assert.That((await harness.SinglePayloadAsync()).Response!.Text, Is.EqualTo($"{Email} paid with [CREDIT_CARD:…1111]"));
        }
        await using (var harness = new Harness(Json(ChatResponse($"{Email}")), new LlmObservabilityOptions { Redaction = { Enabled = false } }))
        {
            using (await harness.Client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
            Assert.That((await harness.SinglePayloadAsync()).Response!.Text, Is.EqualTo(Email));
        }
    }

    [Test]
    public void Unknown_entity_names_and_a_pseudonym_without_a_key_fail_validation()
    {
        var options = new LlmObservabilityOptions();
        options.Redaction.DisabledEntities.Add("EMAILS");
        options.Redaction.EntityActions[PiiEntities.Email] = PiiRedactionAction.Pseudonym;
        var errors = options.GetValidationErrors();
        Assert.That(errors, Has.Some.Contains("'EMAILS' is not a built-in entity"));
        Assert.That(errors, Has.Some.Contains("Pseudonym action needs a PseudonymKey"));
    }
}

/// <summary>Who gets message content: the options, a scope, a sink.</summary>
public class MessageLoggingPolicyTests
{
    private static async Task<(CollectingSink With, CollectingSink Without)> RunAsync(LlmObservabilityOptions options, bool? first, bool? second, bool? scope = null)
    {
        var a = new CollectingSink();
        var b = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([
            new LlmSinkRegistration(a, new LlmSinkOptions { Name = "a", LogMessages = first, BatchInterval = TimeSpan.Zero }),
            new LlmSinkRegistration(b, new LlmSinkOptions { Name = "b", LogMessages = second, BatchInterval = TimeSpan.Zero }),
        ], options);
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Json("openai/chat-response.json") });
        using (LlmObservabilityScope.Begin(logMessages: scope))
        using (await client.SendAsync(Harness.ChatRequest(Harness.SimpleChatBody()))) { }
        await dispatcher.FlushAsync();
        return (a, b);
    }

    [Test]
    public async Task One_sink_gets_bodies_and_another_does_not()
    {
        var (a, b) = await RunAsync(new LlmObservabilityOptions(), first: null, second: false);
        Assert.That(a.Payloads.Single().Messages, Is.Not.Null);
        Assert.That(a.Payloads.Single().Response!.Text, Does.StartWith("Hello!"));
        var trimmed = b.Payloads.Single();
        Assert.That(trimmed.Messages, Is.Null);
        Assert.That(trimmed.Response, Is.Null);
        Assert.That(trimmed.Redaction!.MessageLogging, Is.False);
        Assert.That(trimmed.TotalTokens, Is.EqualTo(29), "metadata still there");
        Assert.That(LlmPayloadJson.Serialize(trimmed), Does.Not.Contain("Say hello"));
    }

    [Test]
    public async Task With_logging_off_globally_a_sink_can_still_ask_for_bodies()
    {
        var (a, b) = await RunAsync(new LlmObservabilityOptions { LogMessages = false }, first: true, second: null);
        Assert.That(a.Payloads.Single().Messages, Is.Not.Null);
        Assert.That(b.Payloads.Single().Messages, Is.Null);
    }

    [Test]
    public async Task A_scope_that_turns_logging_off_beats_a_sink_that_asks_for_bodies()
    {
        var (a, b) = await RunAsync(new LlmObservabilityOptions(), first: true, second: null, scope: false);
        Assert.That(a.Payloads.Single().Messages, Is.Null);
        Assert.That(b.Payloads.Single().Messages, Is.Null);
    }

    [Test]
    public async Task A_scope_that_turns_logging_on_beats_a_global_off()
    {
        var (a, _) = await RunAsync(new LlmObservabilityOptions { LogMessages = false }, first: null, second: null, scope: true);
        Assert.That(a.Payloads.Single().Messages, Is.Not.Null);
    }
}
