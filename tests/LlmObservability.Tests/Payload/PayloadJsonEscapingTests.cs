using System.Text;
using System.Text.Json;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using LlmObservability.Sinks.Http;

namespace LlmObservability.Tests.Payload;

/// <summary>
/// Logs are read by people (a JSON-lines file, the console at Debug, an S3 object) as well as parsed: the payload's
/// JSON writes text as readable UTF-8 and escapes only what JSON requires (quotes, backslashes, control characters),
/// plus what the relaxed encoder always escapes (characters outside the BMP, U+2028/U+2029). Before, System.Text.Json's
/// default escaping wrote every apostrophe as <c>\u0027</c>, a quoted error body as <c>{\u0022error\u0022:…}</c> and
/// every accented or CJK letter as six bytes of <c>\uXXXX</c>.
/// </summary>
public sealed class PayloadJsonEscapingTests
{
    private const string Text = "it's \"quoted\" <a&b> café 日本語 back\\slash\nnew line\ttab esc\u001b emoji 😀 LS\u2028";

    // What JSON requires escaped, and the encoder's always-escaped characters; nothing else.
    private const string Expected = """
        "it's \"quoted\" <a&b> café 日本語 back\\slash\nnew line\ttab esc\u001B emoji \uD83D\uDE00 LS\u2028"
        """;

    private const string ErrorBody = """{"error":{"message":"You've exceeded your quota","type":"insufficient_quota"}}""";

    private static StandardLoggingPayload Payload() => PayloadFactory.Create() with
    {
        Messages = [new LlmMessage { Role = "user", Content = Text }, new LlmMessage { Role = "assistant", ContentUtf8 = Encoding.UTF8.GetBytes(Text) }],
        Response = new LlmResponseOutput { Text = Text },
        Error = new LlmError { Type = "insufficient_quota", Message = "You've exceeded your quota", Body = ErrorBody },
        Metadata = new LlmCallMetadata { UserId = "o'brien", Tags = ["équipe"] },
    };

    [Test]
    public void Text_is_written_readably_and_only_what_JSON_requires_is_escaped()
    {
        var json = LlmPayloadJson.Serialize(Payload());

        Assert.That(json, Does.Contain("\"content\":" + Expected.Trim()), "a message held as a string");
        Assert.That(json, Does.Contain("\"role\":\"assistant\",\"content\":" + Expected.Trim()), "a message held as UTF-8");
        Assert.That(json, Does.Contain("\"response\":{\"text\":" + Expected.Trim() + "}"));
        Assert.That(json, Does.Contain("""
            "body":"{\"error\":{\"message\":\"You've exceeded your quota\",\"type\":\"insufficient_quota\"}}"
            """.Trim()));
        Assert.That(json, Does.Contain("\"user_id\":\"o'brien\""));
        Assert.That(json, Does.Contain("\"tags\":[\"équipe\"]"));
        Assert.That(json, Does.Not.Contain("\\u0027").And.Not.Contain("\\u0022").And.Not.Contain("\\u00E9"));
        Assert.That(json, Does.Not.Contain("\n").And.Not.Contain("\r"), "one record, one line");
    }

    [Test]
    public void The_bytes_are_the_strings_UTF_8_and_read_back_to_the_same_payload()
    {
        var payload = Payload();
        var json = LlmPayloadJson.Serialize(payload);
        var bytes = LlmPayloadJson.SerializeToUtf8Bytes(payload);

        Assert.That(bytes, Is.EqualTo(Encoding.UTF8.GetBytes(json)));
        var back = LlmPayloadJson.Deserialize(bytes)!;
        Assert.That(back.Messages![0].Content, Is.EqualTo(Text));
        Assert.That(back.Messages[1].Content, Is.EqualTo(Text));
        Assert.That(back.Response!.Text, Is.EqualTo(Text));
        Assert.That(back.Error!.Body, Is.EqualTo(ErrorBody));
        Assert.That(back.Metadata!.UserId, Is.EqualTo("o'brien"));
        Assert.That(LlmPayloadJson.Serialize(back), Is.EqualTo(json));
    }

    [Test]
    public async Task A_JSON_lines_file_holds_the_same_readable_line()
    {
        var directory = Directory.CreateTempSubdirectory("llmobs-escaping-").FullName;
        try
        {
            var sink = new JsonLinesFileSink(directory);
            await sink.WriteBatchAsync([Payload(), Payload()], CancellationToken.None);

            var lines = await File.ReadAllLinesAsync(Directory.GetFiles(directory).Single(), Encoding.UTF8);
            Assert.That(lines, Has.Length.EqualTo(2));
            Assert.That(lines[0], Does.Contain("\"content\":" + Expected.Trim()));
            Assert.That(lines[0], Does.Contain("\"user_id\":\"o'brien\""));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Span attributes are checked through a real span, in TelemetryTests.</summary>
    [Test]
    public void The_LiteLLM_shaped_JSON_escapes_the_same_way()
    {
        var liteLlm = Encoding.UTF8.GetString(LiteLlmPayload.SerializeToUtf8Bytes(Payload()));
        Assert.That(liteLlm, Does.Contain(Expected.Trim()));
        Assert.That(liteLlm, Does.Not.Contain("\\u0027"));
        Assert.That(JsonDocument.Parse(liteLlm).RootElement.GetProperty("messages")[0].GetProperty("content").GetString(), Is.EqualTo(Text));
    }
}
