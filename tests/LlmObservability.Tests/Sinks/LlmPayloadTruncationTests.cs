using System.Text;
using System.Text.RegularExpressions;
using LlmObservability.Payload;
using LlmObservability.Sinks;

namespace LlmObservability.Tests.Sinks;

public class LlmPayloadTruncationTests
{
    private static readonly Regex MarkerAtEnd = new(@"…\[truncated (\d+) bytes\]$");

    [Test]
    public void A_payload_that_fits_is_serialized_as_it_is()
    {
        var payload = WithText(response: "short", message: "hello");
        var bytes = LlmPayloadTruncation.SerializeWithin(payload, 64 * 1024, LlmPayloadJson.SerializeToUtf8Bytes, out var truncated);

        Assert.That(truncated, Is.False);
        Assert.That(bytes, Is.EqualTo(LlmPayloadJson.SerializeToUtf8Bytes(payload)));
    }

    [Test]
    public void The_longest_field_is_cut_first_and_the_marker_counts_the_bytes_removed()
    {
        var payload = WithText(response: new string('r', 10_000), message: new string('m', 2_000));
        var bytes = LlmPayloadTruncation.SerializeWithin(payload, 6_000, LlmPayloadJson.SerializeToUtf8Bytes, out var truncated);
        var result = LlmPayloadJson.Deserialize(bytes)!;

        Assert.That(truncated, Is.True);
        Assert.That(bytes, Has.Length.LessThanOrEqualTo(6_000).And.Length.GreaterThan(5_900), "no more is cut than needed");
        Assert.That(result.Messages![0].Content, Is.EqualTo(new string('m', 2_000)), "the shorter field is untouched");
        var text = result.Response!.Text!;
        var match = MarkerAtEnd.Match(text);
        Assert.That(match.Success, Is.True, text);
        Assert.That(match.Index + int.Parse(match.Groups[1].Value), Is.EqualTo(10_000), "kept + removed = original");
        Assert.That(payload.Response!.Text, Has.Length.EqualTo(10_000), "the shared payload is not changed");
    }

    [Test]
    public void Several_fields_are_cut_when_one_is_not_enough()
    {
        var payload = WithText(response: new string('r', 3_000), message: new string('m', 3_000), errorBody: new string('e', 3_000));
        var bytes = LlmPayloadTruncation.SerializeWithin(payload, 3_000, LlmPayloadJson.SerializeToUtf8Bytes, out _);
        var result = LlmPayloadJson.Deserialize(bytes)!;

        Assert.That(bytes, Has.Length.LessThanOrEqualTo(3_000));
        Assert.That(new[] { result.Response!.Text, result.Messages![0].Content, result.Error!.Body }, Has.All.Match(MarkerAtEnd.ToString()));
    }

    [Test]
    public void A_cut_never_splits_a_surrogate_pair()
    {
        var emoji = string.Concat(Enumerable.Repeat("😀", 3_000)); // 4 UTF-8 bytes each, 12 bytes escaped in JSON
        var payload = WithText(response: emoji, message: "hi");
        var bytes = LlmPayloadTruncation.SerializeWithin(payload, 8_000, LlmPayloadJson.SerializeToUtf8Bytes, out _);
        var text = LlmPayloadJson.Deserialize(bytes)!.Response!.Text!;

        Assert.That(bytes, Has.Length.LessThanOrEqualTo(8_000).And.Length.GreaterThan(7_500), "escaped text is cut no more than needed either");
        Assert.That(MarkerAtEnd.IsMatch(text), Is.True);
        var kept = text[..MarkerAtEnd.Match(text).Index];
        Assert.That(kept.Length % 2, Is.Zero);
        Assert.That(kept, Is.EqualTo(string.Concat(Enumerable.Repeat("😀", kept.Length / 2))));
        Assert.That(int.Parse(MarkerAtEnd.Match(text).Groups[1].Value), Is.EqualTo(Encoding.UTF8.GetByteCount(emoji) - Encoding.UTF8.GetByteCount(kept)));
    }

    [Test]
    public void Tool_call_arguments_are_cut_too()
    {
        var payload = PayloadFactory.Create() with
        {
            ToolCalls = [new LlmToolCall { Id = "call_1", Type = "function", Name = "lookup", Arguments = new string('a', 5_000) }],
        };
        var bytes = LlmPayloadTruncation.SerializeWithin(payload, 2_000, LlmPayloadJson.SerializeToUtf8Bytes, out var truncated);

        Assert.That(truncated, Is.True);
        Assert.That(LlmPayloadJson.Deserialize(bytes)!.ToolCalls![0].Arguments, Does.Match(MarkerAtEnd.ToString()));
    }

    [Test]
    public void A_payload_with_no_text_to_cut_comes_back_whole_rather_than_dropped()
    {
        var payload = PayloadFactory.Create();
        var bytes = LlmPayloadTruncation.SerializeWithin(payload, 10, LlmPayloadJson.SerializeToUtf8Bytes, out var truncated);

        Assert.That(truncated, Is.False);
        Assert.That(bytes, Is.EqualTo(LlmPayloadJson.SerializeToUtf8Bytes(payload)));
        Assert.That(LlmPayloadTruncation.TryTruncate(payload, 100, out var same), Is.False);
        Assert.That(same, Is.SameAs(payload));
    }

    private static StandardLoggingPayload WithText(string response, string message, string? errorBody = null) => PayloadFactory.Create() with
    {
        Messages = [new LlmMessage { Role = "user", Content = message }],
        Response = new LlmResponseOutput { Text = response },
        Error = errorBody is null ? null : new LlmError { Type = "server_error", Body = errorBody },
    };
}
