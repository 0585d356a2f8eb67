using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Tests.Payload;

public class PayloadJsonTests
{
    // The design's table, schema version 1, plus response_id (an addition: readers of version 1 ignore a field they do not
    // know). Content fields are absent when message logging is off, so they are listed apart.
    private static readonly string[] AlwaysPresent =
    [
        "schema_version", "id", "trace_id", "span_id", "parent_span_id", "attempt",
        "call_type", "provider", "api_base", "endpoint", "stream",
        "requested_model", "response_model", "model_parameters",
        "start_time", "completion_start_time", "end_time", "ttft_ms", "latency_ms", "output_tokens_per_second",
        "prompt_tokens", "completion_tokens", "total_tokens", "cached_prompt_tokens", "cache_creation_tokens", "reasoning_tokens", "usage_estimated",
        "cost", "status", "http_status", "finish_reasons", "error",
        "metadata", "service_name", "environment", "request_id", "response_id", "rate_limit", "api_key", "redaction",
    ];

    [Test]
    public void Every_field_of_schema_1_is_present_in_snake_case_with_nulls_for_unknowns()
    {
        using var document = JsonDocument.Parse(LlmPayloadJson.Serialize(PayloadFactory.Create()));
        var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.That(names, Is.EquivalentTo(AlwaysPresent));
        Assert.That(document.RootElement.GetProperty("schema_version").GetInt32(), Is.EqualTo(1));
        Assert.That(document.RootElement.GetProperty("cost").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(document.RootElement.GetProperty("ttft_ms").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(document.RootElement.GetProperty("status").GetString(), Is.EqualTo("success"));
    }

    [Test]
    public void Content_fields_appear_when_present()
    {
        var payload = PayloadFactory.Create() with
        {
            Messages = [new LlmMessage { Role = "user", Content = "hi" }],
            Response = new LlmResponseOutput { Text = "hello" },
            ToolCalls = [new LlmToolCall { Id = "1", Name = "f", Arguments = "{}" }],
            Cost = new LlmCost { Total = 0.00505m, Input = 0.0025m, Output = 0.002m, CacheRead = 0.00055m },
        };
        using var document = JsonDocument.Parse(LlmPayloadJson.Serialize(payload));
        var root = document.RootElement;
        Assert.That(root.GetProperty("messages")[0].GetProperty("content").GetString(), Is.EqualTo("hi"));
        Assert.That(root.GetProperty("response").GetProperty("text").GetString(), Is.EqualTo("hello"));
        Assert.That(root.GetProperty("tool_calls")[0].GetProperty("name").GetString(), Is.EqualTo("f"));
        Assert.That(root.GetProperty("cost").GetProperty("total").GetDecimal(), Is.EqualTo(0.00505m));
        Assert.That(root.GetProperty("cost").GetProperty("cache_read").GetDecimal(), Is.EqualTo(0.00055m));
    }

    [Test]
    public void Timestamps_are_ISO_8601_UTC_with_milliseconds()
    {
        var payload = PayloadFactory.Create() with { StartTime = new DateTimeOffset(2026, 11, 22, 12, 30, 5, 7, TimeSpan.FromHours(2)) };
        using var document = JsonDocument.Parse(LlmPayloadJson.Serialize(payload));
        Assert.That(document.RootElement.GetProperty("start_time").GetString(), Is.EqualTo("2026-11-22T10:30:05.007Z"));
        Assert.That(document.RootElement.GetProperty("end_time").GetString(), Is.EqualTo("2026-11-22T10:00:01.000Z"));
    }

    [Test]
    public void A_payload_round_trips()
    {
        var payload = PayloadFactory.Create(LlmCallStatus.Failure) with { Error = new LlmError { Type = "rate_limit_error", Code = "429" }, FinishReasons = ["stop"] };
        var back = LlmPayloadJson.Deserialize(LlmPayloadJson.SerializeToUtf8Bytes(payload))!;
        Assert.That(back.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(back.Error, Is.EqualTo(payload.Error));
        Assert.That(back.FinishReasons, Is.EqualTo(payload.FinishReasons));
        Assert.That(back.StartTime, Is.EqualTo(payload.StartTime));
    }
}
