using System.Net;
using System.Text;
using System.Text.Json;
using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Raw HttpClient calls to the Gemini API wire format through the handler, against a Kestrel emulator; each test reads
/// the response the way a client would and checks that the payload says the same.
/// </summary>
public class GeminiHttpClientTests : ObservedClientTests
{
    private const string ApiKey = "AIzaSyD-integration-0123456789abcdefgh";
    private GeminiEmulator _server = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _server = await GeminiEmulator.StartNewAsync();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _server.DisposeAsync();
    }


    private HttpRequestMessage Request(string modelAndMethod, string body, string query = "")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"{_server.BaseUrl}/v1beta/models/{modelAndMethod}{query}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-goog-api-key", ApiKey);
        return request;
    }

    private const string Body = """{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"What is the capital of France?"}]}],"generationConfig":{"temperature":0.2,"maxOutputTokens":256}}""";
    private const string ToolBody = """{"contents":[{"role":"user","parts":[{"text":"Weather and time in Paris?"}]}],"tools":[{"functionDeclarations":[{"name":"get_weather"},{"name":"get_time"}]}]}""";

    /// <summary>What a client assembles from GenerateContentResponse objects.</summary>
    private sealed class Seen
    {
        public StringBuilder Text { get; } = new();
        public StringBuilder Thoughts { get; } = new();
        public List<(string Name, string Args)> Calls { get; } = [];
        public List<string> FinishReasons { get; } = [];
        public JsonElement? Usage { get; set; }
        public string? ModelVersion { get; set; }

        public void Read(JsonElement response)
        {
            ModelVersion ??= response.GetProperty("modelVersion").GetString();
            if (response.TryGetProperty("usageMetadata", out var usage)) Usage = usage.Clone();
            foreach (var candidate in response.GetProperty("candidates").EnumerateArray())
            {
                if (candidate.TryGetProperty("finishReason", out var reason)) FinishReasons.Add(reason.GetString()!);
                foreach (var part in candidate.GetProperty("content").GetProperty("parts").EnumerateArray())
                {
                    if (part.TryGetProperty("functionCall", out var call)) Calls.Add((call.GetProperty("name").GetString()!, call.GetProperty("args").GetRawText()));
                    else if (part.TryGetProperty("thought", out var thought) && thought.GetBoolean()) Thoughts.Append(part.GetProperty("text").GetString());
                    else if (part.TryGetProperty("text", out var text)) Text.Append(text.GetString());
                }
            }
        }

        public long Count(string name) => Usage!.Value.TryGetProperty(name, out var value) ? value.GetInt64() : 0;
    }

    private static async Task<Seen> ReadSseAsync(HttpResponseMessage response)
    {
        var seen = new Seen();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            using var document = JsonDocument.Parse(line["data: ".Length..]);
            seen.Read(document.RootElement);
        }
        return seen;
    }

    [Test]
    public async Task A_plain_generateContent_is_recorded_with_what_the_client_read()
    {
        using var response = await Http.SendAsync(Request("gemini-2.5-flash:generateContent", Body));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var seen = new Seen();
        seen.Read(document.RootElement);
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Provider, Is.EqualTo("gemini"));
            Assert.That(payload.CallType, Is.EqualTo("generate_content"));
            Assert.That(payload.ApiBase, Is.EqualTo(_server.BaseUrl + "/v1beta"));
            Assert.That(payload.RequestedModel, Is.EqualTo("gemini-2.5-flash"));
            Assert.That(payload.ResponseModel, Is.EqualTo(seen.ModelVersion));
            Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()));
            Assert.That(payload.Response.Reasoning, Is.EqualTo(seen.Thoughts.ToString()));
            Assert.That(payload.PromptTokens, Is.EqualTo(seen.Count("promptTokenCount")));
            Assert.That(payload.CompletionTokens, Is.EqualTo(seen.Count("candidatesTokenCount")));
            Assert.That(payload.TotalTokens, Is.EqualTo(seen.Count("totalTokenCount")));
            Assert.That(payload.CachedPromptTokens, Is.EqualTo(seen.Count("cachedContentTokenCount")));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(seen.Count("thoughtsTokenCount")));
            Assert.That(payload.FinishReasons, Is.EqualTo(seen.FinishReasons));
            Assert.That(payload.Messages!.Select(m => (m.Role, m.Content)), Is.EqualTo(new[] { ("system", "Be brief."), ("user", "What is the capital of France?") }));
            Assert.That(payload.ModelParameters!["maxOutputTokens"].GetInt32(), Is.EqualTo(256));
            Assert.That(payload.ApiKey!.Prefix, Is.EqualTo(ApiKey[..8]));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
        Assert.That(_server.Requests.Single().Body.GetRawText(), Is.EqualTo(Body), "the server got the caller's bytes");
        Assert.That(response.Headers.GetValues("x-llm-call-id").Single(), Is.EqualTo(payload.Id));
    }

    [Test]
    public async Task A_streamed_generateContent_assembles_the_same_text_thoughts_and_final_usage_the_client_read()
    {
        using var response = await Http.SendAsync(Request("gemini-2.5-flash:streamGenerateContent", Body, "?alt=sse"), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadSseAsync(response);
        var payload = await SinglePayloadAsync();

        Assert.Multiple(() =>
        {
            Assert.That(payload.Stream, Is.True);
            Assert.That(payload.ApiBase, Is.EqualTo(_server.BaseUrl + "/v1beta?alt=sse"));
            Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()).And.EqualTo("The capital of France is Paris. It has been since 508 AD."));
            Assert.That(payload.Response.Reasoning, Is.EqualTo(seen.Thoughts.ToString()));
            Assert.That(payload.PromptTokens, Is.EqualTo(seen.Count("promptTokenCount")));
            Assert.That(payload.CompletionTokens, Is.EqualTo(seen.Count("candidatesTokenCount")));
            Assert.That(payload.ReasoningTokens, Is.EqualTo(seen.Count("thoughtsTokenCount")));
            Assert.That(payload.TotalTokens, Is.EqualTo(seen.Count("totalTokenCount")));
            Assert.That(payload.FinishReasons, Is.EqualTo(seen.FinishReasons));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
            Assert.That(payload.TtftMs, Is.Not.Null.And.LessThanOrEqualTo(payload.LatencyMs));
        });
    }

    [Test]
    public async Task Streamed_function_calls_match_what_the_client_read()
    {
        using var response = await Http.SendAsync(Request("gemini-2.5-flash:streamGenerateContent", ToolBody, "?alt=sse"), HttpCompletionOption.ResponseHeadersRead);
        var seen = await ReadSseAsync(response);
        var payload = await SinglePayloadAsync();

        Assert.That(seen.Calls, Has.Count.EqualTo(2));
        Assert.That(payload.ToolCalls!.Select(c => (c.Name!, c.Arguments!)), Is.EqualTo(seen.Calls));
        Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()));
        Assert.That(payload.ModelParameters!["tools_count"].GetInt32(), Is.EqualTo(2));
        Assert.That(payload.CompletionTokens, Is.EqualTo(seen.Count("candidatesTokenCount")));
    }

    [Test]
    public async Task Plain_function_calls_match_what_the_client_read()
    {
        using var response = await Http.SendAsync(Request("gemini-2.5-flash:generateContent", ToolBody));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var seen = new Seen();
        seen.Read(document.RootElement);
        var payload = await SinglePayloadAsync();

        Assert.That(payload.ToolCalls!.Select(c => (c.Name!, c.Arguments!)), Is.EqualTo(seen.Calls));
        Assert.That(payload.ReasoningTokens, Is.EqualTo(seen.Count("thoughtsTokenCount")));
    }

    [Test]
    public async Task A_stream_without_alt_sse_is_one_json_array_read_whole()
    {
        using var response = await Http.SendAsync(Request("gemini-2.5-flash:streamGenerateContent", Body));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var seen = new Seen();
        foreach (var chunk in document.RootElement.EnumerateArray()) seen.Read(chunk);
        var payload = await SinglePayloadAsync();

        Assert.That(payload.Response!.Text, Is.EqualTo(seen.Text.ToString()));
        Assert.That(payload.TotalTokens, Is.EqualTo(seen.Count("totalTokenCount")));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
    }

    [Test]
    public async Task A_rate_limited_call_is_a_failure_with_googles_status()
    {
        using var response = await Http.SendAsync(Request("rate-limited:generateContent", Body));
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = document.RootElement.GetProperty("error");
        var payload = await SinglePayloadAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));
        Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure));
        Assert.That(payload.Error!.Type, Is.EqualTo(error.GetProperty("status").GetString()));
        Assert.That(payload.Error.Code, Is.EqualTo(error.GetProperty("code").GetInt32().ToString()));
        Assert.That(payload.Error.Message, Is.EqualTo(error.GetProperty("message").GetString()));
        Assert.That(payload.RequestedModel, Is.EqualTo("rate-limited"));
    }
}
