using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Tests.Providers;

/// <summary>Which requests the Anthropic adapter claims, and the usage facts it leaves on the record for the cost calculation.</summary>
public class AnthropicMessagesAdapterTests
{
    private static readonly CaptureLimits Limits = new(MaxContentChars: 10_000, MaxErrorBodyChars: 1_000);

    private static HttpRequestMessage Post(string url, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("{}") };
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    private static readonly (string, string) Version = ("anthropic-version", "2023-06-01");
    private static readonly (string, string) XApiKey = ("x-api-key", "sk-ant-api03-key");

    [TestCase("https://api.anthropic.com/v1/messages", "https://api.anthropic.com")]
    [TestCase("https://api.anthropic.com/v1/messages/", "https://api.anthropic.com")]
    [TestCase("https://API.ANTHROPIC.COM/V1/Messages", "https://api.anthropic.com")]
    public void Api_anthropic_com_is_recognised_from_the_path_alone(string url, string apiBase)
    {
        var route = ProviderDetector.Detect(Post(url));
        Assert.That(route, Is.Not.Null);
        Assert.That(route!.Adapter, Is.SameAs(AnthropicMessagesAdapter.Instance));
        Assert.That(route.Provider, Is.EqualTo("anthropic"));
        Assert.That(route.ApiBase, Is.EqualTo(apiBase));
        Assert.That(route.Endpoint, Is.EqualTo("/v1/messages").IgnoreCase);
        Assert.That(AnthropicMessagesAdapter.Instance.CallType, Is.EqualTo("messages"));
    }

    [Test]
    public void Another_host_is_recognised_by_the_anthropic_version_header()
    {
        var route = ProviderDetector.Detect(Post("http://127.0.0.1:4000/anthropic/v1/messages", Version));
        Assert.That(route!.Adapter, Is.SameAs(AnthropicMessagesAdapter.Instance));
        Assert.That(route.Provider, Is.EqualTo("anthropic"));
        Assert.That(route.ApiBase, Is.EqualTo("http://127.0.0.1:4000/anthropic"));
        Assert.That(route.Endpoint, Is.EqualTo("/v1/messages"));
    }

    [Test]
    public void Another_host_is_recognised_by_the_x_api_key_header_and_secret_query_values_are_masked()
    {
        var route = ProviderDetector.Detect(Post("https://gateway.example.com/v1/messages?api_key=s3cret&team=a", XApiKey));
        Assert.That(route!.Adapter, Is.SameAs(AnthropicMessagesAdapter.Instance));
        Assert.That(route.ApiBase, Is.EqualTo("https://gateway.example.com?api_key=***&team=a"));
    }

    [TestCase("https://gateway.example.com/v1/messages", Description = "a messages path on another host without Anthropic's headers (an SMS or chat API)")]
    [TestCase("https://api.anthropic.com/v1/messages/count_tokens")]
    [TestCase("https://api.anthropic.com/v1/messages/batches")]
    [TestCase("https://api.anthropic.com/v1/messages/batches/msgbatch_01/cancel")]
    [TestCase("https://api.anthropic.com/v1/complete")]
    [TestCase("https://api.anthropic.com/v2/messages")]
    [TestCase("https://api.openai.com/v1/threads/thread_abc123/messages")]
    public void Other_paths_are_not_claimed(string url)
    {
        var request = Post(url);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "token");
        Assert.That(ProviderDetector.Detect(request), Is.Null);
    }

    [Test]
    public void Only_POST_is_a_call()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "https://api.anthropic.com/v1/messages");
        Assert.That(ProviderDetector.Detect(request), Is.Null);
    }

    [Test]
    public void Anthropic_headers_do_not_steal_other_wire_formats()
    {
        // Anthropic's own OpenAI-compatible endpoint speaks the OpenAI format.
        var route = ProviderDetector.Detect(Post("https://api.anthropic.com/v1/chat/completions", Version, XApiKey));
        Assert.That(route!.Adapter, Is.SameAs(OpenAiChatAdapter.Instance));
        Assert.That(ProviderDetector.Detect(Post("https://api.anthropic.com/v1/models", Version)), Is.Null);
    }

    [Test]
    public void A_whole_message_leaves_the_one_hour_cache_writes_on_the_record()
    {
        var record = Record();
        Parse(record, Fixture.Text("anthropic/messages-response.json"));

        Assert.Multiple(() =>
        {
            Assert.That(record.ResponseId, Is.EqualTo("msg_01XFDUDYJgAACzvnptvVoYEL"));
            Assert.That(record.PromptTokens, Is.EqualTo(12));
            Assert.That(record.CachedPromptTokens, Is.EqualTo(2048));
            Assert.That(record.CacheCreationTokens, Is.EqualTo(1500), "all lifetimes");
            Assert.That(record.CacheCreation1hTokens, Is.EqualTo(1200), "cache_creation.ephemeral_1h_input_tokens");
            Assert.That(record.CompletionTokens, Is.EqualTo(48));
            Assert.That(record.TotalTokens, Is.EqualTo(3608));
        });
    }

    [Test]
    public void Without_cache_creation_input_tokens_the_lifetimes_add_up_to_the_cache_writes()
    {
        var record = Record();
        Parse(record, """{"usage":{"input_tokens":3,"output_tokens":5,"cache_creation":{"ephemeral_5m_input_tokens":100,"ephemeral_1h_input_tokens":40}}}""");
        Assert.That(record.CacheCreationTokens, Is.EqualTo(140));
        Assert.That(record.CacheCreation1hTokens, Is.EqualTo(40));
        Assert.That(record.CachedPromptTokens, Is.Null, "not reported stays unknown");
        Assert.That(record.TotalTokens, Is.EqualTo(148));
    }

    [Test]
    public void A_stream_leaves_the_one_hour_cache_writes_and_the_message_id_on_the_record()
    {
        var record = Record();
        var parser = AnthropicMessagesAdapter.Instance.CreateStreamParser(record, Limits);
        using (var reader = new SseReader(parser)) reader.Feed(Fixture.Bytes("anthropic/messages-stream-thinking.sse"));
        parser.OnEnd();

        Assert.That(parser.SawEnd, Is.True, "message_stop is the stream's end marker");
        Assert.That(record.ResponseId, Is.EqualTo("msg_01SvtCyGwAYRbMqQF5ZqyRF7"));
        Assert.That(record.CacheCreationTokens, Is.EqualTo(2000));
        Assert.That(record.CacheCreation1hTokens, Is.EqualTo(2000));
        Assert.That(record.ReasoningTokens, Is.EqualTo(270));
    }

    [Test]
    public void Stream_usage_in_message_delta_replaces_the_start_values_it_repeats()
    {
        var record = Record();
        var parser = AnthropicMessagesAdapter.Instance.CreateStreamParser(record, Limits);
        Send(parser, """{"type":"message_start","message":{"id":"m","model":"claude","usage":{"input_tokens":10,"cache_read_input_tokens":0,"output_tokens":1}}}""");
        Send(parser, """{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":30}}""");
        Send(parser, """{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"input_tokens":12,"cache_read_input_tokens":6,"output_tokens":50}}""");

        Assert.That(record.PromptTokens, Is.EqualTo(12));
        Assert.That(record.CachedPromptTokens, Is.EqualTo(6));
        Assert.That(record.CompletionTokens, Is.EqualTo(50));
        Assert.That(record.TotalTokens, Is.EqualTo(68));
        Assert.That(record.FinishReasons, Is.EqualTo(new[] { "max_tokens" }), "a repeated stop reason is recorded once");
        Assert.That(parser.SawEnd, Is.False);
    }

    [Test]
    public void Server_tool_use_is_a_tool_call_of_its_own_kind()
    {
        var record = Record();
        Parse(record, """
            {"content":[
              {"type":"server_tool_use","id":"srvtoolu_01","name":"web_search","input":{"query":"weather Paris"}},
              {"type":"web_search_tool_result","tool_use_id":"srvtoolu_01","content":[{"type":"web_search_result","url":"https://example.com","title":"Weather","encrypted_content":"abc"}]},
              {"type":"text","text":"It is raining."}],
             "stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2,"server_tool_use":{"web_search_requests":1}}}
            """);
        Assert.That(record.ToolCalls!.ToList(), Is.EqualTo(new[]
        {
            new LlmToolCall { Id = "srvtoolu_01", Type = "server_tool_use", Name = "web_search", Arguments = """{"query":"weather Paris"}""" },
        }));
        Assert.That(record.OutputText!.ToString(), Is.EqualTo("It is raining."));
    }

    private static CallRecord Record()
    {
        var route = ProviderRoute.Create(AnthropicMessagesAdapter.Instance, "anthropic", new Uri("https://api.anthropic.com/v1/messages"), 0);
        return new CallRecord(route) { Id = "test" };
    }

    private static void Parse(CallRecord record, string json)
    {
        using var document = JsonDocument.Parse(json);
        AnthropicMessagesAdapter.Instance.ParseResponse(document.RootElement, record, Limits);
    }

    private static void Send(StreamParser parser, string json) => parser.OnEvent(null, System.Text.Encoding.UTF8.GetBytes(json));
}
