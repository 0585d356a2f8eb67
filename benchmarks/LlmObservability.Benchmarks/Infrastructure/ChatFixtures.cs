using System.Globalization;
using System.Text;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// The wire bytes every benchmark sends and receives: an OpenAI chat completion of about 2 KB each way, and a streamed
/// one of 50 <c>chat.completion.chunk</c> events, a final usage event and <c>[DONE]</c>, shaped as OpenAI sends them
/// with <c>stream_options.include_usage</c>.
/// </summary>
internal static class ChatFixtures
{
    /// <summary>Where the requests go; the handler recognises the path on any host (OpenAI-compatible servers).</summary>
    public const string ChatPath = "/v1/chat/completions";

    /// <summary>Content events in the streamed response (the usage event and <c>[DONE]</c> come after them).</summary>
    public const int StreamChunkCount = 50;

    // The texts are realistic chat prose without PII (ChatTextGenerator), as most calls carry: long runs of one letter
    // would be taken for inline base64 data and replaced by a note, which is not what a real call costs.
    private static readonly string UserText = Json(ChatTextGenerator.Generate(seed: 44, targetLength: 1880, piiEvery: 0));
    private static readonly string StreamingUserText = Json(ChatTextGenerator.Generate(seed: 44, targetLength: 1840, piiEvery: 0));
    private static readonly string AssistantText = Json(ChatTextGenerator.Generate(seed: 45, targetLength: 1740, piiEvery: 0));

    public static readonly byte[] RequestBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"gpt-4o-mini","temperature":0.2,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":{{UserText}}}]}""");

    public static readonly byte[] StreamingRequestBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"gpt-4o-mini","temperature":0.2,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":{{StreamingUserText}}}]}""");

    public static readonly byte[] ResponseBody = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-1","object":"chat.completion","created":1741569952,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"""
        + AssistantText
        + ""","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":500,"completion_tokens":450,"total_tokens":950,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}}}""");

    /// <summary>The same conversation as an Anthropic Messages request (system prompt at the top level), about 2 KB.</summary>
    public static readonly byte[] AnthropicRequestBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"claude-sonnet-4-5","max_tokens":1024,"temperature":0.2,"system":"You are a helpful assistant.","messages":[{"role":"user","content":{{UserText}}}]}""");

    /// <summary>The same answer as a whole Anthropic message, about 2 KB.</summary>
    public static readonly byte[] AnthropicResponseBody = Encoding.UTF8.GetBytes(
        """{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"""
        + AssistantText
        + """}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":500,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":450,"service_tier":"standard"}}""");

    /// <summary>The same conversation as an OpenAI Responses request (instructions, one input message), about 2 KB.</summary>
    public static readonly byte[] ResponsesRequestBody = Encoding.UTF8.GetBytes(
        $$"""{"model":"gpt-4.1-mini","instructions":"You are a helpful assistant.","input":[{"role":"user","content":{{UserText}}}],"temperature":0.2,"max_output_tokens":1024,"store":false}""");

    /// <summary>The same answer as a whole Responses object, with the members the API echoes beside the output, about 2.8 KB.</summary>
    public static readonly byte[] ResponsesResponseBody = Encoding.UTF8.GetBytes(
        """{"id":"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b","object":"response","created_at":1741476542,"status":"completed","background":false,"error":null,"incomplete_details":null,"instructions":"You are a helpful assistant.","max_output_tokens":1024,"model":"gpt-4.1-mini-2025-04-14","output":[{"id":"msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"""
        + AssistantText
        + """}],"role":"assistant"}],"parallel_tool_calls":true,"previous_response_id":null,"reasoning":{"effort":null,"summary":null},"service_tier":"default","store":false,"temperature":0.2,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_p":1.0,"truncation":"disabled","usage":{"input_tokens":500,"input_tokens_details":{"cached_tokens":0},"output_tokens":450,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":950},"user":null,"metadata":{}}""");

    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>Each SSE event (<c>data: …\n\n</c>) as its own array, in the order the server sends them.</summary>
    public static readonly byte[][] StreamEvents = BuildStreamEvents();

    /// <summary>The whole event stream, as the caller receives it.</summary>
    public static readonly byte[] StreamBody = StreamEvents.SelectMany(e => e).ToArray();

    /// <summary>Request plus response body bytes of one call: what passes through the handler.</summary>
    public static int BytesPerCall(bool streaming) =>
        streaming ? StreamingRequestBody.Length + StreamBody.Length : RequestBody.Length + ResponseBody.Length;

    private static byte[][] BuildStreamEvents()
    {
        const string Head = """{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_06737a9306","choices":[""";
        var events = new List<byte[]>();
        for (var i = 0; i < StreamChunkCount; i++)
        {
            string choice;
            if (i == 0) choice = """{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}""";
            else if (i == StreamChunkCount - 1) choice = """{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}""";
            else choice = $$"""{"index":0,"delta":{"content":" token{{i.ToString("D2", CultureInfo.InvariantCulture)}}"},"logprobs":null,"finish_reason":null}""";
            events.Add(Event(Head + choice + """],"usage":null}"""));
        }
        events.Add(Event(Head + """],"usage":{"prompt_tokens":500,"completion_tokens":48,"total_tokens":548,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}"""));
        events.Add(Event("[DONE]"));
        return [.. events];
    }

    private static byte[] Event(string data) => Encoding.UTF8.GetBytes("data: " + data + "\n\n");
}
