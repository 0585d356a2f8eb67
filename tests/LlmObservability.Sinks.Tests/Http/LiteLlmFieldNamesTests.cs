using System.Text.Json;
using LlmObservability.Sinks.Http;
using LlmObservability.Sinks.Tests.Support;

namespace LlmObservability.Sinks.Tests.Http;

/// <summary>
/// The LiteLLM field-name mode produces LiteLLM's StandardLoggingPayload (litellm/types/utils.py): every key of the
/// TypedDict present, with the documented types and our values in the right places.
/// </summary>
public class LiteLlmFieldNamesTests
{
    // The keys of LiteLLM's StandardLoggingPayload TypedDict.
    private static readonly string[] PayloadKeys =
    [
        "id", "trace_id", "litellm_call_id", "call_type", "stream", "response_cost", "cost_breakdown",
        "response_cost_failure_debug_info", "status", "status_fields", "custom_llm_provider", "total_tokens",
        "prompt_tokens", "completion_tokens", "startTime", "endTime", "completionStartTime", "response_time",
        "model_map_information", "model", "model_id", "model_group", "api_base", "metadata", "cache_hit", "cache_key",
        "saved_cache_cost", "request_tags", "end_user", "requester_ip_address", "user_agent", "messages", "response",
        "error_str", "error_information", "model_parameters", "hidden_params", "guardrail_information",
        "standard_built_in_tools_params",
    ];

    // The keys of StandardLoggingMetadata (with StandardLoggingUserAPIKeyMetadata).
    private static readonly string[] MetadataKeys =
    [
        "user_api_key_hash", "user_api_key_alias", "user_api_key_spend", "user_api_key_max_budget",
        "user_api_key_budget_reset_at", "user_api_key_user_spend", "user_api_key_user_max_budget", "user_api_key_team_spend",
        "user_api_key_team_max_budget", "user_api_key_org_id", "user_api_key_org_alias", "user_api_key_team_id",
        "user_api_key_project_id", "user_api_key_project_alias", "user_api_key_user_id", "user_api_key_user_email",
        "user_api_key_team_alias", "user_api_key_end_user_id", "user_api_key_request_route", "user_api_key_auth_metadata",
        "spend_logs_metadata", "requester_ip_address", "user_agent", "requester_metadata", "requester_custom_headers",
        "prompt_management_metadata", "mcp_tool_call_metadata", "vector_store_request_metadata", "applied_guardrails",
        "usage_object", "cold_storage_object_key", "team_alias", "team_id",
    ];

    private static readonly string[] HiddenParamsKeys =
    [
        "model_id", "cache_key", "api_base", "response_cost", "litellm_overhead_time_ms", "additional_headers",
        "batch_models", "litellm_model_name", "usage_object",
    ];

    [Test]
    public async Task A_successful_call_has_LiteLLMs_shape_and_values()
    {
        var (record, payload) = await SendOneAsync(Payloads.Chat());

        Assert.That(Keys(record), Is.EquivalentTo(PayloadKeys));
        Assert.That(Keys(record.GetProperty("metadata")), Is.EquivalentTo(MetadataKeys));
        Assert.That(Keys(record.GetProperty("hidden_params")), Is.EquivalentTo(HiddenParamsKeys));
        Assert.Multiple(() =>
        {
            Assert.That(record.GetProperty("id").GetString(), Is.EqualTo(payload.Id));
            Assert.That(record.GetProperty("trace_id").GetString(), Is.EqualTo(payload.TraceId));
            Assert.That(record.GetProperty("call_type").GetString(), Is.EqualTo("acompletion"));
            Assert.That(record.GetProperty("stream").GetBoolean(), Is.True);
            Assert.That(record.GetProperty("status").GetString(), Is.EqualTo("success"));
            Assert.That(record.GetProperty("status_fields").GetProperty("llm_api_status").GetString(), Is.EqualTo("success"));
            Assert.That(record.GetProperty("custom_llm_provider").GetString(), Is.EqualTo("openai"));
            Assert.That(record.GetProperty("response_cost").GetDouble(), Is.EqualTo(0.0000165).Within(1e-12));
            Assert.That(record.GetProperty("cost_breakdown").GetProperty("output_cost").GetDouble(), Is.EqualTo(0.0000102).Within(1e-12));
            Assert.That(record.GetProperty("response_cost_failure_debug_info").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(record.GetProperty("prompt_tokens").GetInt64(), Is.EqualTo(42));
            Assert.That(record.GetProperty("completion_tokens").GetInt64(), Is.EqualTo(17));
            Assert.That(record.GetProperty("total_tokens").GetInt64(), Is.EqualTo(59));
            // Epoch seconds as floats.
            Assert.That(record.GetProperty("startTime").GetDouble(), Is.EqualTo(payload.StartTime.ToUnixTimeMilliseconds() / 1000.0).Within(1e-6));
            Assert.That(record.GetProperty("endTime").GetDouble(), Is.EqualTo(payload.EndTime.ToUnixTimeMilliseconds() / 1000.0).Within(1e-6));
            Assert.That(record.GetProperty("completionStartTime").GetDouble(), Is.EqualTo(payload.CompletionStartTime!.Value.ToUnixTimeMilliseconds() / 1000.0).Within(1e-6));
            Assert.That(record.GetProperty("response_time").GetDouble(), Is.EqualTo(0.35).Within(1e-6), "streamed: time to first token");
            Assert.That(record.GetProperty("model").GetString(), Is.EqualTo("gpt-4o-mini"));
            Assert.That(record.GetProperty("model_group").GetString(), Is.EqualTo("gpt-4o-mini"));
            Assert.That(record.GetProperty("model_map_information").GetProperty("model_map_key").GetString(), Is.EqualTo("gpt-4o-mini"));
            Assert.That(record.GetProperty("api_base").GetString(), Is.EqualTo("https://api.openai.com/v1"));
            Assert.That(record.GetProperty("cache_hit").GetBoolean(), Is.False);
            Assert.That(record.GetProperty("saved_cache_cost").GetDouble(), Is.Zero);
            Assert.That(record.GetProperty("request_tags").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "checkout" }));
            Assert.That(record.GetProperty("end_user").GetString(), Is.EqualTo("u-42"));
            Assert.That(record.GetProperty("error_str").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(record.GetProperty("error_information").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(record.GetProperty("model_parameters").GetProperty("temperature").GetDouble(), Is.EqualTo(0.2));
            Assert.That(record.GetProperty("model_parameters").GetProperty("max_tokens").GetInt32(), Is.EqualTo(256));

            var messages = record.GetProperty("messages");
            Assert.That(messages.GetArrayLength(), Is.EqualTo(2));
            Assert.That(messages[1].GetProperty("role").GetString(), Is.EqualTo("user"));
            Assert.That(messages[1].GetProperty("content").GetString(), Is.EqualTo("Say hello."));

            var response = record.GetProperty("response");
            Assert.That(response.GetProperty("object").GetString(), Is.EqualTo("chat.completion"));
            Assert.That(response.GetProperty("model").GetString(), Is.EqualTo("gpt-4o-mini-2024-07-18"));
            Assert.That(response.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Hello!"));
            Assert.That(response.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), Is.EqualTo("stop"));
            Assert.That(response.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt64(), Is.EqualTo(10));

            var metadata = record.GetProperty("metadata");
            Assert.That(metadata.GetProperty("user_api_key_hash").GetString(), Is.EqualTo(payload.ApiKey!.Sha256));
            Assert.That(metadata.GetProperty("user_api_key_end_user_id").GetString(), Is.EqualTo("u-42"));
            Assert.That(metadata.GetProperty("user_api_key_request_route").GetString(), Is.EqualTo("/chat/completions"));
            Assert.That(metadata.GetProperty("user_api_key_team_id").ValueKind, Is.EqualTo(JsonValueKind.Null));
            var requester = metadata.GetProperty("requester_metadata");
            Assert.That(requester.GetProperty("tenant").GetString(), Is.EqualTo("acme"));
            Assert.That(requester.GetProperty("session_id").GetString(), Is.EqualTo("s-7"));
            Assert.That(requester.GetProperty("service_name").GetString(), Is.EqualTo("checkout-api"));

            var hidden = record.GetProperty("hidden_params");
            Assert.That(hidden.GetProperty("additional_headers").GetProperty("x_ratelimit_remaining_tokens").GetInt64(), Is.EqualTo(149984));
            Assert.That(hidden.GetProperty("additional_headers").GetProperty("x_ratelimit_reset_tokens").GetString(), Is.EqualTo("6ms"));
            Assert.That(hidden.GetProperty("litellm_model_name").GetString(), Is.EqualTo("gpt-4o-mini-2024-07-18"));
        });
    }

    [Test]
    public async Task A_failed_call_carries_error_str_and_error_information_and_an_unknown_cost_is_zero_with_the_reason()
    {
        var (record, payload) = await SendOneAsync(Payloads.RateLimited());

        Assert.That(Keys(record), Is.EquivalentTo(PayloadKeys));
        Assert.Multiple(() =>
        {
            Assert.That(record.GetProperty("status").GetString(), Is.EqualTo("failure"));
            Assert.That(record.GetProperty("error_str").GetString(), Is.EqualTo(payload.Error!.Message));
            var info = record.GetProperty("error_information");
            Assert.That(info.GetProperty("error_code").GetString(), Is.EqualTo("429"));
            Assert.That(info.GetProperty("error_class").GetString(), Is.EqualTo("rate_limit_exceeded"));
            Assert.That(info.GetProperty("llm_provider").GetString(), Is.EqualTo("openai"));
            Assert.That(record.GetProperty("response_cost").GetDouble(), Is.Zero);
            Assert.That(record.GetProperty("cost_breakdown").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(record.GetProperty("response_cost_failure_debug_info").GetProperty("error_str").GetString(), Does.Contain("No price"));
            Assert.That(record.GetProperty("response").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(record.GetProperty("completionStartTime").GetDouble(), Is.EqualTo(record.GetProperty("endTime").GetDouble()), "no first token: the end, as LiteLLM does");
            Assert.That(record.GetProperty("response_time").GetDouble(), Is.EqualTo(1.2).Within(1e-6));
        });
    }

    private static async Task<(JsonElement Record, Payload.StandardLoggingPayload Payload)> SendOneAsync(Payload.StandardLoggingPayload payload)
    {
        await using var receiver = await LogReceiver.StartAsync();
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.FieldNames = HttpSinkFieldNames.LiteLlm);
        harness.Enqueue([payload]);
        await harness.Dispatcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (receiver.Records.Single(), payload);
    }

    private static IEnumerable<string> Keys(JsonElement element) => element.EnumerateObject().Select(p => p.Name);
}
