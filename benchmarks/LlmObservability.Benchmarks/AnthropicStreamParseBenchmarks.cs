using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Parsing one streamed Anthropic message, the off-path work a streamed call costs once its reads are framed: the
/// 50-delta counterpart of the OpenAI stream fixture (<c>message_start</c>, a text block of 50 <c>text_delta</c>s with a
/// <c>ping</c>, its stop, <c>message_delta</c> with the usage, <c>message_stop</c>), shaped as the Messages API sends it.
/// The baseline reads every event through a <see cref="System.Text.Json.JsonDocument"/>, as every event was read
/// before <see cref="AnthropicEventReader"/>; the stream parser now reads the deltas, stops, pings and the end with it.
/// </summary>
[MemoryDiagnoser]
public class AnthropicStreamParseBenchmarks
{
    private static readonly ProviderRoute Route = new(AnthropicMessagesAdapter.Instance, "anthropic", "https://api.anthropic.com", "/v1/messages");
    private static readonly CaptureLimits Limits = new(256 * 1024, 4096);

    /// <summary>The events as the SSE framer hands them to the parser: (event name, data).</summary>
    public static readonly (string Type, byte[] Data)[] Events = BuildEvents();

    [Benchmark(Baseline = true)]
    public object DocumentPath() => Parse(AnthropicMessagesAdapter.CreateDocumentStreamParser);

    [Benchmark]
    public object FastPath() => Parse(AnthropicMessagesAdapter.Instance.CreateStreamParser);

    private static CallRecord Parse(Func<CallRecord, CaptureLimits, StreamParser> create)
    {
        var record = new CallRecord(Route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5" };
        var parser = create(record, Limits);
        foreach (var (type, data) in Events) parser.OnEvent(type, data);
        parser.OnEnd();
        if (!parser.SawEnd || record.CompletionTokens != 50) throw new InvalidOperationException("the stream was not read whole");
        record.Release();
        return record;
    }

    private static (string, byte[])[] BuildEvents()
    {
        var events = new List<(string, byte[])>();
        void Add(string type, string data) => events.Add((type, Encoding.UTF8.GetBytes(data)));
        Add("message_start", """{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":500,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1,"service_tier":"standard"}}}""");
        Add("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""");
        Add("ping", """{"type": "ping"}""");
        for (var i = 0; i < 50; i++)
        {
            Add("content_block_delta", $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" token{{{i.ToString("D2", CultureInfo.InvariantCulture)}}}"}}""");
        }
        Add("content_block_stop", """{"type":"content_block_stop","index":0}""");
        Add("message_delta", """{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":50}}""");
        Add("message_stop", """{"type":"message_stop"}""");
        return [.. events];
    }
}
