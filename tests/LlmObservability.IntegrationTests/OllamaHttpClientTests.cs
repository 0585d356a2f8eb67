using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Raw HttpClient calls to Ollama's native API through the handler, against a Kestrel emulator. The client addresses
/// <c>http://ollama:11434</c>, as an app next to an Ollama container does; the connection goes to the emulator on
/// 127.0.0.1. Each test reads the NDJSON or JSON the way a client would and checks the payload says the same.
/// </summary>
public class OllamaHttpClientTests : ObservedClientTests
{
    private const string OllamaBase = "http://ollama:11434";
    private OllamaEmulator _server = null!;

    // Whatever host the URL names, connect to the emulator on loopback (the port is read when a request connects).
    protected override HttpMessageHandler CreateTransport() => new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, _server.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        },
    };

    [SetUp]
    public async Task StartAsync()
    {
        _server = await OllamaEmulator.StartNewAsync();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _server.DisposeAsync();
    }


    private static HttpRequestMessage Request(string url, string body) => new(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };

    private const string ChatBody = """{"model":"qwen3","messages":[{"role":"user","content":"Hi"}],"options":{"temperature":0.1,"num_ctx":4096}}""";
    private const string ToolBody = """{"model":"qwen3","messages":[{"role":"user","content":"Weather in Toronto?"}],"tools":[{"type":"function","function":{"name":"get_current_weather"}},{"type":"function","function":{"name":"get_time"}}]}""";

    /// <summary>What a client assembles from Ollama response objects.</summary>
    private sealed class Seen(bool chat)
    {
        public StringBuilder Text { get; } = new();
        public StringBuilder Thinking { get; } = new();
        public List<(string Name, string Args)> Calls { get; } = [];
        public string? Model { get; private set; }
        public string? DoneReason { get; private set; }
        public long PromptEvalCount { get; private set; }
        public long EvalCount { get; private set; }
        public bool Done { get; private set; }

        public void Read(JsonElement response)
        {
            Model ??= response.GetProperty("model").GetString();
            var source = chat ? response.GetProperty("message") : response;
            if (source.TryGetProperty(chat ? "content" : "response", out var content)) Text.Append(content.GetString());
            if (source.TryGetProperty("thinking", out var thinking)) Thinking.Append(thinking.GetString());
            if (source.TryGetProperty("tool_calls", out var calls))
            {
                foreach (var call in calls.EnumerateArray())
                {
                    var function = call.GetProperty("function");
                    Calls.Add((function.GetProperty("name").GetString()!, function.GetProperty("arguments").GetRawText()));
                }
            }
            if (!response.GetProperty("done").GetBoolean()) return;
            Done = true;
            DoneReason = response.TryGetProperty("done_reason", out var reason) ? reason.GetString() : null;
            PromptEvalCount = response.GetProperty("prompt_eval_count").GetInt64();
            EvalCount = response.GetProperty("eval_count").GetInt64();
        }
    }

    private static async Task<Seen> ReadNdjsonAsync(HttpResponseMessage response, bool chat = true)
    {
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/x-ndjson"));
        var seen = new Seen(chat);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            using var document = JsonDocument.Parse(line);
            seen.Read(document.RootElement);
        }
        return seen;
    }

    [Test]
    public async Task A_streamed_chat_assembles_the_same_content_thinking_and_counts_the_client_read()
    {
        using var response = await Http.SendAsync(Request(OllamaBase + "/api/chat", ChatBody), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadNdjsonAsync(response);
        var payload = await SinglePayloadAsync();

        Assert.That(seen.Done, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("ollama"));
            Assert.That(payload.CallType, Is.EqualTo("chat_completion"));
            Assert.That(payload.ApiBase, Is.EqualTo(OllamaBase));
            Assert.That(payload.Endpoint, Is.EqualTo("/api/chat"));
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.RequestedModel, Is.EqualTo("qwen3"));
            Assert.That(payload.ResponseModel, Is.EqualTo(seen.Model));
            Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()).And.EqualTo("Hello! How can I help?"));
            Assert.That(payload.Response.Reasoning, Is.EqualTo(seen.Thinking.ToString()));
            Assert.That(payload.PromptTokens, Is.EqualTo(seen.PromptEvalCount));
            Assert.That(payload.CompletionTokens, Is.EqualTo(seen.EvalCount));
            Assert.That(payload.FinishReasons, Is.EqualTo(new[] { seen.DoneReason }));
            Assert.That(payload.ModelParameters!["num_ctx"].GetInt32(), Is.EqualTo(4096));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
        Assert.That(_server.Requests.Single().Body.GetRawText(), Is.EqualTo(ChatBody));
    }

    [Test]
    public async Task Streamed_tool_calls_match_what_the_client_read()
    {
        using var response = await Http.SendAsync(Request(OllamaBase + "/api/chat", ToolBody), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadNdjsonAsync(response);
        var payload = await SinglePayloadAsync();

        Assert.That(seen.Calls, Has.Count.EqualTo(2));
        Assert.That(payload.ToolCalls!.Select(c => (c.Name!, c.Arguments!)), Is.EqualTo(seen.Calls));
        Assert.That(payload.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(2));
        Assert.That(payload.CompletionTokens, Is.EqualTo(seen.EvalCount));
    }

    [Test]
    public async Task A_plain_chat_with_tool_calls_matches_what_the_client_read()
    {
        var body = ToolBody.Replace("]}", "],\"stream\":false}");
        using var response = await Http.SendAsync(Request(OllamaBase + "/api/chat", body));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var seen = new Seen(chat: true);
        seen.Read(document.RootElement);
        var payload = await SinglePayloadAsync();

        Assert.That(payload.Stream, Is.False);
        Assert.That(payload.ToolCalls!.Select(c => (c.Name!, c.Arguments!)), Is.EqualTo(seen.Calls));
        Assert.That(payload.PromptTokens, Is.EqualTo(seen.PromptEvalCount));
        Assert.That(payload.Response, Is.Null);
    }

    [Test]
    public async Task A_streamed_generate_through_a_proxy_mount_is_a_text_completion()
    {
        // An Ollama behind a proxy under /ollama (as Open WebUI mounts it), on a host and port that are not Ollama's.
        var url = _server.BaseUrl + "/ollama/api/generate";
        using var response = await Http.SendAsync(Request(url, """{"model":"llama3.2","prompt":"Why is the sky blue?","system":"Be brief."}"""), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadNdjsonAsync(response, chat: false);
        var payload = await SinglePayloadAsync();

        Assert.That(payload.CallType, Is.EqualTo("text_completion"));
        Assert.That(payload.ApiBase, Is.EqualTo(_server.BaseUrl + "/ollama"));
        Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()));
        Assert.That(payload.FinishReasons, Is.EqualTo(new[] { seen.DoneReason }));
        Assert.That(payload.CompletionTokens, Is.EqualTo(seen.EvalCount));
        Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "Be brief."), ("user", "Why is the sky blue?") }));
    }

    [Test]
    public async Task An_unknown_model_is_a_failure_with_ollamas_message()
    {
        using var response = await Http.SendAsync(Request(OllamaBase + "/api/chat", """{"model":"llama3.3","messages":[]}"""));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var payload = await SinglePayloadAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Message, Is.EqualTo(document.RootElement.GetProperty("error").GetString()));
    }

    [Test]
    public async Task An_api_chat_on_a_host_without_an_ollama_signature_passes_through_unrecorded()
    {
        using var response = await Http.SendAsync(Request(_server.BaseUrl + "/api/chat", ChatBody));
        await response.Content.ReadAsStringAsync();
        await Dispatcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Headers.Contains("x-llm-call-id"), Is.False);
        Assert.That(Sink.Payloads, Is.Empty);
    }
}
