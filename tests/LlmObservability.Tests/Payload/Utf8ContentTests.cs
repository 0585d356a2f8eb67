using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Providers;
using LlmObservability.Redaction;
using LlmObservability.Telemetry;

namespace LlmObservability.Tests.Payload;

/// <summary>
/// Message and output text kept as the UTF-8 it arrived in (<see cref="Utf8Text"/>) must be indistinguishable from the
/// same text held as a string: the same JSON byte for byte, the same property values, equality, and redaction.
/// </summary>
[TestFixture]
public sealed class Utf8ContentTests
{
    // Texts whose JSON needs escaping or whose UTF-8 is more than one byte a character.
    private static readonly string[] Texts =
    [
        "",
        "plain prose, nothing to escape.",
        "line one\nline two\r\n\ttabbed \"quoted\" back\\slash /slash",
        "<script>alert('x') & more</script> + 'single'",
        "accents: café, naïve, Ærøskøbing; CJK 漢字かな; Cyrillic Привет",
        "emoji 👩‍💻🚀 and a flag 🇫🇷, math 𝔸",
        "control \u0001\u001f and DEL \u007f, NBSP\u00a0, LS\u2028PS\u2029",
    ];

    [TestCaseSource(nameof(Texts))]
    public void A_JSON_string_read_as_UTF_8_is_the_text_GetString_reads(string text)
    {
        foreach (var json in new[] { JsonSerializer.Serialize(text), EscapeEverything(text) }) AssertReadsAsGetString(json);
    }

    [Test]
    public void Random_text_in_every_escaping_reads_the_same_as_GetString()
    {
        // Printable ASCII, controls, quotes and backslashes, accented and CJK letters, and surrogate pairs.
        string[] pieces = ["a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\u0001", "\u001f", "é", "ß", "漢", "€", "\u2028", "😀", "👩‍💻", "<", "&", "'", "+"];
        var relaxed = new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        for (var seed = 0; seed < 500; seed++)
        {
            var random = new Random(seed);
            var text = new StringBuilder();
            for (var i = random.Next(0, 60); i > 0; i--) text.Append(pieces[random.Next(pieces.Length)]);
            foreach (var json in new[] { JsonSerializer.Serialize(text.ToString()), JsonSerializer.Serialize(text.ToString(), relaxed), EscapeEverything(text.ToString()) })
            {
                AssertReadsAsGetString(json);
            }
        }
    }

    private static void AssertReadsAsGetString(string json)
    {
        using var document = JsonDocument.Parse(json);
        var utf8 = Utf8Text.FromJsonString(document.RootElement);
        Assert.That(utf8, Is.Not.Null, json);
        Assert.That(Encoding.UTF8.GetString(utf8!), Is.EqualTo(document.RootElement.GetString()), json);
    }

    [Test]
    public void Text_that_is_not_valid_Unicode_is_left_to_the_string_reader()
    {
        using var loneSurrogate = JsonDocument.Parse("\"before \\ud800 after\"");
        Assert.That(Utf8Text.FromJsonString(loneSurrogate.RootElement), Is.Null);
        using var number = JsonDocument.Parse("42");
        Assert.That(Utf8Text.FromJsonString(number.RootElement), Is.Null);
        Assert.That(Utf8Text.FromChars("ok \ud800".AsSpan()), Is.Null);
        Assert.That(Utf8Text.FromChars("ok é".AsSpan()), Is.EqualTo(Encoding.UTF8.GetBytes("ok é")));
    }

    [TestCaseSource(nameof(Texts))]
    public void The_payload_JSON_is_the_same_byte_for_byte_whichever_form_the_text_is_in(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var asString = PayloadFactory.Create() with
        {
            Messages = [new LlmMessage { Role = "user", Content = text, Name = "n" }, new LlmMessage { Role = "tool", Content = null, ToolCallId = "c1" }],
            Response = new LlmResponseOutput { Text = text, Reasoning = "why" },
        };
        var asUtf8 = asString with
        {
            Messages = [new LlmMessage { Role = "user", ContentUtf8 = utf8, Name = "n" }, asString.Messages![1]],
            Response = new LlmResponseOutput { TextUtf8 = utf8, Reasoning = "why" },
        };

        Assert.That(LlmPayloadJson.Serialize(asUtf8), Is.EqualTo(LlmPayloadJson.Serialize(asString)));
        // The span attributes are built in the GenAI conventions' shapes, from either form alike.
        Assert.That(SpanContent.InputMessages(asUtf8.Messages), Is.EqualTo(SpanContent.InputMessages(asString.Messages)));
        Assert.That(SpanContent.OutputMessages(asUtf8), Is.EqualTo(SpanContent.OutputMessages(asString)));
        Assert.That(asUtf8.Messages[0].Content, Is.EqualTo(text));
        Assert.That(asUtf8.Response!.Text, Is.EqualTo(text));
        Assert.That(asUtf8.Messages[0], Is.EqualTo(asString.Messages[0]));
        Assert.That(asUtf8.Messages[0].GetHashCode(), Is.EqualTo(asString.Messages[0].GetHashCode()));
        Assert.That(asUtf8.Response, Is.EqualTo(asString.Response));
    }

    [Test]
    public void The_JSON_is_unchanged_in_form_and_reads_back()
    {
        var payload = PayloadFactory.Create() with
        {
            Messages = [new LlmMessage { Role = "assistant", ContentUtf8 = "hé"u8.ToArray(), ToolCalls = [new LlmToolCall { Id = "1", Type = "function", Name = "f", Arguments = "{}" }] }],
            Response = new LlmResponseOutput { TextUtf8 = "ok"u8.ToArray() },
        };
        var json = LlmPayloadJson.Serialize(payload);
        Assert.That(json, Does.Contain("""
            "messages":[{"role":"assistant","content":"hé","tool_calls":[{"id":"1","type":"function","name":"f","arguments":"{}"}]}]
            """.Trim()));
        Assert.That(json, Does.Contain("""
            "response":{"text":"ok"}
            """.Trim()));

        var back = LlmPayloadJson.Deserialize(json)!;
        Assert.That(back.Messages![0].Content, Is.EqualTo("hé"));
        Assert.That(back.Messages[0].ToolCalls![0].Name, Is.EqualTo("f"));
        Assert.That(back.Response!.Text, Is.EqualTo("ok"));
        Assert.That(LlmPayloadJson.Serialize(back), Is.EqualTo(json));
    }

    [Test]
    public void Setting_either_form_replaces_the_other()
    {
        var message = new LlmMessage { Role = "user", ContentUtf8 = "bytes"u8.ToArray() };
        var replaced = message with { Content = "string" };
        Assert.That(replaced.Content, Is.EqualTo("string"));
        Assert.That(replaced.ContentUtf8, Is.Null);
        Assert.That(LlmPayloadJson.Serialize(PayloadFactory.Create() with { Messages = [replaced] }), Does.Contain("\"content\":\"string\""));
        Assert.That((message with { Role = "system" }).Content, Is.EqualTo("bytes"));
        Assert.That(message, Is.Not.EqualTo(replaced));
    }

    [Test]
    public void Clean_UTF_8_text_is_kept_as_the_same_bytes_and_PII_in_it_is_replaced_and_counted()
    {
        var redaction = new PayloadRedaction(new LlmRedactionOptions());
        var clean = Encoding.UTF8.GetBytes("Bonjour, où est la gare ? Merci 🙏");
        var withPii = Encoding.UTF8.GetBytes("Écrivez à jane.doe@example.com ou au +33 6 12 34 56 78, merci.");
        var base64 = Encoding.UTF8.GetBytes("image: data:image/png;base64," + new string('A', 600) + " end");
        var messages = new List<LlmMessage>
        {
            new() { Role = "user", ContentUtf8 = clean },
            new() { Role = "user", ContentUtf8 = withPii },
            new() { Role = "user", ContentUtf8 = base64 },
        };
        var response = new LlmResponseOutput { TextUtf8 = clean };
        var content = new PayloadContent(messages, response, null, null, null, null);

        var entities = redaction.Apply(ref content);

        Assert.Multiple(() =>
        {
            Assert.That(content.Messages![0], Is.SameAs(messages[0]));
            Assert.That(content.Messages[0].ContentUtf8, Is.SameAs(clean));
            Assert.That(content.Response, Is.SameAs(response));
            Assert.That(content.Messages[1].Content, Is.EqualTo("Écrivez à [EMAIL] ou au [PHONE], merci."));
            Assert.That(content.Messages[1].ContentUtf8, Is.Null);
            Assert.That(content.Messages[2].Content, Is.EqualTo("image: [data:image/png;base64, 450 bytes] end"));
            Assert.That(entities, Is.EqualTo(new Dictionary<string, int> { ["EMAIL"] = 1, ["PHONE"] = 1 }));
        });

        var dirtyResponse = new PayloadContent(null, new LlmResponseOutput { TextUtf8 = withPii, Refusal = "no" }, null, null, null, null);
        redaction.Apply(ref dirtyResponse);
        Assert.That(dirtyResponse.Response!.Text, Is.EqualTo("Écrivez à [EMAIL] ou au [PHONE], merci."));
        Assert.That(dirtyResponse.Response.TextUtf8, Is.Null);
        Assert.That(dirtyResponse.Response.Refusal, Is.EqualTo("no"));
    }

    [Test]
    public void The_chat_adapter_keeps_request_and_response_text_as_UTF_8_unless_it_is_cut_at_the_cap()
    {
        const string user = "Où est \"la gare\"?\nMerci 🙏";
        var request = JsonSerializer.Serialize(new { model = "gpt-4o-mini", messages = new[] { new { role = "user", content = user } } });
        var response = JsonSerializer.Serialize(new
        {
            id = "chatcmpl-1", model = "gpt-4o-mini", choices = new[] { new { index = 0, message = new { role = "assistant", content = "À gauche." }, finish_reason = "stop" } },
        });

        var (message, output) = Parse(request, response, maxContentChars: 1000);
        Assert.That(message.ContentUtf8, Is.Not.Null);
        Assert.That(message.Content, Is.EqualTo(user));
        Assert.That(output.TextUtf8, Is.Not.Null);
        Assert.That(output.Text, Is.EqualTo("À gauche."));

        var (cutMessage, cutOutput) = Parse(request, response, maxContentChars: 5);
        Assert.That(cutMessage.ContentUtf8, Is.Null);
        Assert.That(cutMessage.Content, Is.EqualTo("Où es…[truncated]"));
        Assert.That(cutOutput.TextUtf8, Is.Null);
        Assert.That(cutOutput.Text, Is.EqualTo("À gau…[truncated]"));
    }

    [Test]
    public void The_accumulator_hands_out_UTF_8_only_for_text_it_holds_whole()
    {
        var single = new TextAccumulator(100);
        single.AppendUtf8("héllo"u8.ToArray());
        Assert.That(single.Length, Is.EqualTo(5));
        Assert.That(single.ToUtf8(), Is.EqualTo("héllo"u8.ToArray()));

        var pieces = new TextAccumulator(100);
        pieces.AppendUtf8("hé"u8.ToArray());
        pieces.Append(" wörld".AsSpan());
        Assert.That(pieces.ToUtf8(), Is.EqualTo("hé wörld"u8.ToArray()));
        Assert.That(pieces.ToString(), Is.EqualTo("hé wörld"));

        var cut = new TextAccumulator(4);
        cut.AppendUtf8("abcdef"u8.ToArray());
        Assert.That(cut.ToUtf8(), Is.Null);
        Assert.That(cut.ToString(), Is.EqualTo("abcd…[truncated]"));

        var lone = new TextAccumulator(100);
        lone.Append("a".AsSpan());
        lone.Append("\ud83d".AsSpan());
        Assert.That(lone.ToUtf8(), Is.Null);
        Assert.That(lone.ToString(), Is.EqualTo("a\ud83d"));

        var asString = new TextAccumulator(100);
        asString.Append("kept");
        Assert.That(asString.ToUtf8(), Is.Null, "a single string piece stays the string it is");
        Assert.That(asString.ToString(), Is.EqualTo("kept"));
    }

    private static (LlmMessage Message, LlmResponseOutput Output) Parse(string request, string response, int maxContentChars)
    {
        var options = new LlmObservabilityOptions { MaxContentChars = maxContentChars };
        var builder = new PayloadBuilder(options, TimeProvider.System, prices: null, estimator: null);
        var route = new ProviderRoute(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
        var record = new CallRecord(route) { Id = "x", RequestBody = Encoding.UTF8.GetBytes(request), HttpStatus = 200, End = CallEnd.Completed };
        record.AppendResponseBody(Encoding.UTF8.GetBytes(response), 1 << 20);
        var payload = record.Build(builder);
        record.Release();
        return (payload.Messages![0], payload.Response!);
    }

    private static string EscapeEverything(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text) builder.Append($"\\u{(int)c:x4}");
        return builder.Append('"').ToString();
    }
}
