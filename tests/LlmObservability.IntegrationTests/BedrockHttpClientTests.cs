using System.Buffers.Binary;
using System.Net;
using System.Text;
using System.Text.Json;
using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Raw HttpClient calls to Bedrock Runtime's Converse and ConverseStream through the handler, against a Kestrel
/// emulator. The client decodes the event stream itself (by the prelude lengths) and the payload must say the same.
/// </summary>
public class BedrockHttpClientTests : ObservedClientTests
{
    private const string Model = "us.anthropic.claude-3-5-sonnet-20240620-v1:0";
    private BedrockEmulator _server = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _server = await BedrockEmulator.StartNewAsync();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _server.DisposeAsync();
    }


    private HttpRequestMessage Request(string model, string operation, string body) =>
        new(HttpMethod.Post, $"{_server.BaseUrl}/model/{Uri.EscapeDataString(model)}/{operation}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private const string Body = """{"messages":[{"role":"user","content":[{"text":"Hello"}]}],"system":[{"text":"Be brief."}],"inferenceConfig":{"maxTokens":300,"temperature":0.3}}""";
    private const string ToolBody = """{"messages":[{"role":"user","content":[{"text":"Weather in Seattle and Portland?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}]}}""";

    /// <summary>What a client assembles from ConverseStream events.</summary>
    private sealed class Seen
    {
        public StringBuilder Text { get; } = new();
        public StringBuilder Reasoning { get; } = new();
        public SortedDictionary<long, (string Id, string Name, StringBuilder Input)> ToolUses { get; } = [];
        public string? StopReason { get; set; }
        public JsonElement? Usage { get; set; }
        public List<string> EventTypes { get; } = [];

        public long Count(string name) => Usage!.Value.TryGetProperty(name, out var value) ? value.GetInt64() : 0;
    }

    private static async Task<Seen> ReadEventStreamAsync(HttpResponseMessage response)
    {
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/vnd.amazon.eventstream"));
        var body = await response.Content.ReadAsByteArrayAsync();
        var seen = new Seen();
        for (var offset = 0; offset < body.Length;)
        {
            var total = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset));
            var headersLength = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset + 4));
            var eventType = EventType(body.AsSpan(offset + 12, headersLength));
            using var document = JsonDocument.Parse(body.AsMemory(offset + 12 + headersLength, total - headersLength - 16));
            var e = document.RootElement;
            seen.EventTypes.Add(eventType);
            switch (eventType)
            {
                case "contentBlockStart" when e.GetProperty("start").TryGetProperty("toolUse", out var toolUse):
                    seen.ToolUses[e.GetProperty("contentBlockIndex").GetInt64()] = (toolUse.GetProperty("toolUseId").GetString()!, toolUse.GetProperty("name").GetString()!, new StringBuilder());
                    break;
                case "contentBlockDelta":
                    var delta = e.GetProperty("delta");
                    if (delta.TryGetProperty("text", out var text)) seen.Text.Append(text.GetString());
                    if (delta.TryGetProperty("toolUse", out var input)) seen.ToolUses[e.GetProperty("contentBlockIndex").GetInt64()].Input.Append(input.GetProperty("input").GetString());
                    if (delta.TryGetProperty("reasoningContent", out var reasoning) && reasoning.TryGetProperty("text", out var thought)) seen.Reasoning.Append(thought.GetString());
                    break;
                case "messageStop":
                    seen.StopReason = e.GetProperty("stopReason").GetString();
                    break;
                case "metadata":
                    seen.Usage = e.GetProperty("usage").Clone();
                    break;
            }
            offset += total;
        }
        return seen;
    }

    /// <summary>The <c>:event-type</c> string header (type 7: u16 length + UTF-8); the emulator sends only string headers.</summary>
    private static string EventType(ReadOnlySpan<byte> headers)
    {
        while (headers.Length > 0)
        {
            var name = Encoding.UTF8.GetString(headers.Slice(1, headers[0]));
            headers = headers[(1 + headers[0])..];
            Assert.That(headers[0], Is.EqualTo(7));
            var length = BinaryPrimitives.ReadUInt16BigEndian(headers[1..]);
            var value = Encoding.UTF8.GetString(headers.Slice(3, length));
            if (name == ":event-type") return value;
            headers = headers[(3 + length)..];
        }
        return "";
    }

    [Test]
    public async Task A_plain_converse_is_recorded_with_what_the_client_read()
    {
        using var response = await Http.SendAsync(Request(Model, "converse", Body));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = document.RootElement;
        var usage = root.GetProperty("usage");
        var blocks = root.GetProperty("output").GetProperty("message").GetProperty("content").EnumerateArray().ToArray();
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("bedrock"));
            Assert.That(payload.CallType, Is.EqualTo("converse"));
            Assert.That(payload.ApiBase, Is.EqualTo(_server.BaseUrl));
            Assert.That(payload.RequestedModel, Is.EqualTo(Model));
            Assert.That(payload.Response!.Text, Is.EqualTo(string.Concat(blocks.Where(b => b.TryGetProperty("text", out _)).Select(b => b.GetProperty("text").GetString()))));
            Assert.That(payload.Response.Reasoning, Is.EqualTo(blocks[0].GetProperty("reasoningContent").GetProperty("reasoningText").GetProperty("text").GetString()));
            Assert.That(payload.PromptTokens, Is.EqualTo(usage.GetProperty("inputTokens").GetInt64()));
            Assert.That(payload.CompletionTokens, Is.EqualTo(usage.GetProperty("outputTokens").GetInt64()));
            Assert.That(payload.TotalTokens, Is.EqualTo(usage.GetProperty("totalTokens").GetInt64()));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(usage.GetProperty("cacheReadInputTokens").GetInt64()));
            Assert.That(payload.CacheCreationTokens, Is.EqualTo(usage.GetProperty("cacheWriteInputTokens").GetInt64()));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { root.GetProperty("stopReason").GetString() }));
            Assert.That(payload.RequestId, Is.EqualTo(response.Headers.GetValues("x-amzn-RequestId").Single()));
            Assert.That(payload.ModelParameters!["maxTokens"].GetInt32(), Is.EqualTo(300));
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "Be brief."), ("user", "Hello") }));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
        Assert.That(_server.ModelIds.Single(), Is.EqualTo(Model));
        Assert.That(_server.Requests.Single().Body.GetRawText(), Is.EqualTo(Body));
    }

    [Test]
    public async Task A_converse_stream_assembles_the_same_text_reasoning_and_usage_the_client_decoded()
    {
        using var response = await Http.SendAsync(Request(Model, "converse-stream", Body), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadEventStreamAsync(response);
        var payload = await SinglePayloadAsync();

        Assert.That(seen.EventTypes, Is.EqualTo(new[]
        {
            "messageStart", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "contentBlockDelta", "contentBlockDelta", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
        }));
        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()).And.EqualTo("Hello! How can I help?"));
            Assert.That(payload.Response.Reasoning, Is.EqualTo(seen.Reasoning.ToString()));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { seen.StopReason }));
            Assert.That(payload.PromptTokens, Is.EqualTo(seen.Count("inputTokens")));
            Assert.That(payload.CompletionTokens, Is.EqualTo(seen.Count("outputTokens")));
            Assert.That(payload.TotalTokens, Is.EqualTo(seen.Count("totalTokens")));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
            Assert.That(payload.Error, Is.Null);
        });
    }

    [Test]
    public async Task Streamed_tool_use_matches_what_the_client_decoded()
    {
        using var response = await Http.SendAsync(Request(Model, "converse-stream", ToolBody), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadEventStreamAsync(response);
        var payload = await SinglePayloadAsync();

        Assert.That(seen.ToolUses, Has.Count.EqualTo(2));
        Assert.That(payload.ToolCalls!.Select(c => (c.Id!, c.Name!, c.Arguments!)), Is.EqualTo(seen.ToolUses.Values.Select(t => (t.Id, t.Name, t.Input.ToString()))));
        Assert.That(payload.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(1));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { "tool_use" }));
    }

    [Test]
    public async Task A_plain_tool_use_matches_what_the_client_read()
    {
        using var response = await Http.SendAsync(Request(Model, "converse", ToolBody));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var toolUses = document.RootElement.GetProperty("output").GetProperty("message").GetProperty("content").EnumerateArray()
            .Where(b => b.TryGetProperty("toolUse", out _)).Select(b => b.GetProperty("toolUse"))
            .Select(t => (t.GetProperty("toolUseId").GetString()!, t.GetProperty("name").GetString()!, t.GetProperty("input").GetRawText())).ToArray();
        var payload = await SinglePayloadAsync();

        Assert.That(payload.ToolCalls!.Select(c => (c.Id!, c.Name!, c.Arguments!)), Is.EqualTo(toolUses));
    }

    [Test]
    public async Task A_throttled_call_is_a_failure_typed_from_the_errortype_header()
    {
        using var response = await Http.SendAsync(Request("throttled", "converse-stream", Body));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var payload = await SinglePayloadAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo("ThrottlingException"));
        Assert.That(payload.Error.Message, Is.EqualTo(document.RootElement.GetProperty("message").GetString()));
        Assert.That(payload.RequestId, Is.EqualTo(response.Headers.GetValues("x-amzn-RequestId").Single()));
    }
}
