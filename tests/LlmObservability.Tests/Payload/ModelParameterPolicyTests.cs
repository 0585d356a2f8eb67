using System.Text.Json;
using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Payload;

/// <summary>
/// Model parameters carry whatever request members are not the input, content among them (<c>prediction</c>, a
/// location, a vendor's extra document). Without message content only settings stay; with it, strings are capped like
/// message content. The same rule holds for the options, a scope and a sink that must not get content.
/// </summary>
public class ModelParameterPolicyTests
{
    private const string PredictionMarker = "PREDICTED-TEXT-";
    private static readonly string Prediction = string.Concat(Enumerable.Repeat(PredictionMarker + "lorem ipsum dolor sit amet ", 7_300)); // ~300 KB
    private static readonly string Id64 = new('a', 64);
    private static readonly string Id65 = new('b', 65);
    private static readonly string Document = new('d', 200);

    private static readonly string Request = $$$$"""
        {"model":"gpt-4o-mini","messages":[{"role":"user","content":"Rewrite it"}],"temperature":0.2,"max_completion_tokens":512,
         "service_tier":"flex","reasoning_effort":"low","tool_choice":"auto","parallel_tool_calls":false,
         "tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],
         "stop":["END"],"logit_bias":{"50256":-100},"metadata":{"tenant":"acme"},"stream_options":{},
         "prediction":{"type":"content","content":"{{{{Prediction}}}}"},
         "web_search_options":{"search_context_size":"low","user_location":{"type":"approximate","approximate":{"city":"Berlin","country":"DE"}}},
         "vendor_document":"{{{{Document}}}}","safety_identifier":"{{{{Id64}}}}","long_id":"{{{{Id65}}}}","many":[{{{{string.Join(",", Enumerable.Range(0, 33))}}}}]}
        """;

    private const int MaxContentChars = 1000;

    private static async Task<(CollectingSink A, CollectingSink B)> RunAsync(bool logMessages, bool? sinkA = null, bool? sinkB = null, bool? scope = null)
    {
        var a = new CollectingSink();
        var b = new CollectingSink();
        await using var dispatcher = new LlmLogDispatcher([
            new LlmSinkRegistration(a, new LlmSinkOptions { Name = "a", LogMessages = sinkA, BatchInterval = TimeSpan.Zero }),
            new LlmSinkRegistration(b, new LlmSinkOptions { Name = "b", LogMessages = sinkB, BatchInterval = TimeSpan.Zero }),
        ], new LlmObservabilityOptions { LogMessages = logMessages, MaxContentChars = MaxContentChars });
        using var client = new HttpClient(new LlmObservabilityHandler(dispatcher) { InnerHandler = StubHandler.Json("openai/chat-response.json") });
        using (LlmObservabilityScope.Begin(logMessages: scope))
        using (await client.SendAsync(Harness.ChatRequest(Request))) { }
        await dispatcher.FlushAsync();
        return (a, b);
    }

    private static void AssertSettingsOnly(StandardLoggingPayload payload)
    {
        var parameters = payload.ModelParameters!;
        var json = LlmPayloadJson.Serialize(payload);
        Assert.That(payload.Messages, Is.Null);
        Assert.That(json, Does.Not.Contain(PredictionMarker).And.Not.Contain("Berlin").And.Not.Contain(Document).And.Not.Contain(Id65));
        Assert.That(json.Length, Is.LessThan(4096), "no content, so no bulk");

        // Settings stay as sent.
        Assert.That(parameters["temperature"].GetDouble(), Is.EqualTo(0.2));
        Assert.That(parameters["max_completion_tokens"].GetInt32(), Is.EqualTo(512));
        Assert.That(parameters["tools_count"].GetInt32(), Is.EqualTo(1));
        foreach (var (name, value) in new[] { ("service_tier", "flex"), ("reasoning_effort", "low"), ("tool_choice", "auto"), ("safety_identifier", Id64) })
            Assert.That(parameters[name].GetString(), Is.EqualTo(value), name);
        Assert.That(parameters["parallel_tool_calls"].GetBoolean(), Is.False);
        Assert.That(parameters["stop"].GetRawText(), Is.EqualTo("""["END"]"""));
        Assert.That(parameters["logit_bias"].GetRawText(), Is.EqualTo("""{"50256":-100}"""));
        Assert.That(parameters["metadata"].GetRawText(), Is.EqualTo("""{"tenant":"acme"}"""));
        Assert.That(parameters["stream_options"].GetRawText(), Is.EqualTo("{}"));

        // Content becomes a note of its kind and size.
        Assert.That(parameters["prediction"].GetString(), Does.Match(@"^\[object, 29\d\.\d KB\]$"));
        Assert.That(parameters["web_search_options"].GetString(), Does.Match(@"^\[object, \d+ bytes\]$"), "a nested object is not a setting");
        Assert.That(parameters["vendor_document"].GetString(), Is.EqualTo("[string, 202 bytes]"));
        Assert.That(parameters["long_id"].GetString(), Is.EqualTo("[string, 67 bytes]"), "65 characters is one too many");
        Assert.That(parameters["many"].GetString(), Does.Match(@"^\[array, \d+ bytes\]$"), "33 items is one too many");
    }

    private static void AssertCapped(StandardLoggingPayload payload)
    {
        var parameters = payload.ModelParameters!;
        Assert.That(payload.Messages, Is.Not.Null);
        var content = parameters["prediction"].GetProperty("content").GetString()!;
        Assert.That(content, Is.EqualTo(Prediction[..MaxContentChars] + "…[truncated]"));
        Assert.That(parameters["prediction"].GetProperty("type").GetString(), Is.EqualTo("content"));
        Assert.That(parameters["web_search_options"].GetRawText(), Does.Contain("Berlin"), "short strings are kept whole");
        Assert.That(parameters["vendor_document"].GetString(), Is.EqualTo(Document));
        Assert.That(parameters["long_id"].GetString(), Is.EqualTo(Id65));
        Assert.That(LlmPayloadJson.Serialize(payload).Length, Is.LessThan(8192));
    }

    [Test]
    public async Task With_message_logging_off_only_settings_are_kept()
    {
        var (a, b) = await RunAsync(logMessages: false);
        AssertSettingsOnly(a.Payloads.Single());
        AssertSettingsOnly(b.Payloads.Single());
    }

    [Test]
    public async Task With_message_logging_on_parameter_strings_are_capped_like_message_content()
    {
        var (a, _) = await RunAsync(logMessages: true);
        AssertCapped(a.Payloads.Single());
    }

    [Test]
    public async Task A_sink_that_must_not_get_content_gets_settings_only()
    {
        var (a, b) = await RunAsync(logMessages: true, sinkB: false);
        AssertCapped(a.Payloads.Single());
        AssertSettingsOnly(b.Payloads.Single());
    }

    [Test]
    public async Task With_logging_off_globally_a_sink_that_asks_for_content_gets_capped_parameters_and_the_others_settings_only()
    {
        var (a, b) = await RunAsync(logMessages: false, sinkA: true);
        AssertCapped(a.Payloads.Single());
        AssertSettingsOnly(b.Payloads.Single());
    }

    [Test]
    public async Task A_scope_that_turns_logging_off_gives_every_sink_settings_only()
    {
        var (a, b) = await RunAsync(logMessages: true, sinkA: true, scope: false);
        AssertSettingsOnly(a.Payloads.Single());
        AssertSettingsOnly(b.Payloads.Single());
    }

    private static Dictionary<string, JsonElement> Parameters(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!;

    [Test]
    public void Empty_objects_are_settings_and_nested_ones_are_not()
    {
        // Bedrock's toolChoice: {"auto":{}} says what to do; {"tool":{"name":…}} nests.
        var parameters = Parameters("""{"auto":{"auto":{}},"named":{"tool":{"name":"lookup"}},"flags":[true,false,null],"n":2}""");
        var kept = ModelParameterPolicy.SettingsOnly(parameters)!;
        Assert.That(kept["auto"].GetRawText(), Is.EqualTo("""{"auto":{}}"""));
        Assert.That(kept["named"].GetString(), Is.EqualTo("[object, 26 bytes]"));
        Assert.That(kept["flags"].GetRawText(), Is.EqualTo("[true,false,null]"));
        Assert.That(kept["n"].GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public void Settings_only_and_short_strings_come_back_as_the_same_instance()
    {
        var parameters = Parameters("""{"temperature":0.2,"user":"u-1","stop":["a","b"]}""");
        Assert.That(ModelParameterPolicy.SettingsOnly(parameters), Is.SameAs(parameters));
        Assert.That(ModelParameterPolicy.Capped(parameters, 3), Is.SameAs(parameters));
    }

    [Test]
    public void A_cap_never_leaves_half_a_surrogate_pair()
    {
        var parameters = Parameters("""{"text":"ab\ud83d\ude00cd","nested":{"items":["ab\ud83d\ude00cd",1]}}""");
        var capped = ModelParameterPolicy.Capped(parameters, 3)!;
        Assert.That(capped["text"].GetString(), Is.EqualTo("ab…[truncated]"));
        Assert.That(capped["nested"].GetRawText(), Is.EqualTo("""{"items":["ab\u2026[truncated]",1]}"""));
        Assert.That(() => JsonSerializer.Serialize(capped), Throws.Nothing);
    }

    [Test]
    public void A_payload_made_elsewhere_loses_its_content_parameters_in_the_copy_without_content()
    {
        var payload = new StandardLoggingPayload { Id = "x", ModelParameters = Parameters($$$"""{"temperature":0.2,"prediction":{"content":"{{{Document}}}"}}""") };
        var trimmed = payload.WithoutContent();
        Assert.That(trimmed.ModelParameters!["prediction"].GetString(), Is.EqualTo("[object, 214 bytes]"));
        Assert.That(trimmed.ModelParameters["temperature"].GetDouble(), Is.EqualTo(0.2));
        Assert.That(trimmed.Redaction!.MessageLogging, Is.False);
        Assert.That(new StandardLoggingPayload { Id = "y", ModelParameters = Parameters("""{"n":1}""") } is var clean && ReferenceEquals(clean.WithoutContent(), clean), "nothing to take out");
    }

    /// <summary>Some adapters keep values as the document has them, where a string need not be valid UTF-8 (found by fuzzing).</summary>
    [Test]
    public void A_string_that_is_not_valid_UTF8_is_a_note_and_never_throws()
    {
        byte[] json = [.. "{\"v\":\""u8, 0xA1, .. Enumerable.Repeat((byte)'a', 70), .. "\"}"u8];
        using var document = JsonDocument.Parse(json);
        var parameters = new Dictionary<string, JsonElement> { ["v"] = document.RootElement.GetProperty("v").Clone(), ["n"] = JsonDocument.Parse("1").RootElement };
        Assert.That(ModelParameterPolicy.SettingsOnly(parameters)!["v"].GetString(), Is.EqualTo("[string, 73 bytes]"));
        Assert.That(ModelParameterPolicy.Capped(parameters, 10)!["v"].GetString(), Is.EqualTo("[string, 73 bytes]"));
        Assert.That(ModelParameterPolicy.Capped(parameters, 100), Is.SameAs(parameters), "short enough by its JSON length: left to redaction");
    }
}
