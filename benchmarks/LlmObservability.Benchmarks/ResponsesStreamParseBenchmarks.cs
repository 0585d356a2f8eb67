using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Parsing one streamed OpenAI Responses call, the off-path work a streamed call costs once its reads are framed: 58
/// events shaped as the Responses API sends them (<c>response.created</c>, <c>response.in_progress</c>, the message's
/// <c>output_item.added</c> and <c>content_part.added</c>, 50 <c>output_text.delta</c>s, <c>output_text.done</c>,
/// <c>content_part.done</c>, <c>output_item.done</c>, <c>response.completed</c> with the usage). The baseline reads
/// every event through a <see cref="System.Text.Json.JsonDocument"/>, as every event was read before
/// <see cref="ResponsesEventReader"/>; the stream parser now reads the deltas and the part events with it.
/// <see cref="FastEventsOnly"/> feeds the fast path only the events its reader takes: what <see cref="FastPath"/> takes
/// more is the five events it leaves to the document (the response's start, progress and end, the item's start and end).
/// </summary>
[MemoryDiagnoser]
public class ResponsesStreamParseBenchmarks
{
    private static readonly ProviderRoute Route = new(OpenAiResponsesAdapter.Instance, "openai", "https://api.openai.com", "/v1/responses");
    private static readonly CaptureLimits Limits = new(256 * 1024, 4096);

    /// <summary>The events as the SSE framer hands them to the parser: (event name, data).</summary>
    public static readonly (string Type, byte[] Data)[] Events = BuildEvents();

    private static readonly (string Type, byte[] Data)[] FastEvents =
        [.. Events.Where(e => ResponsesEventReader.ForThisThread.TryRead(e.Data, out _))];

    [Benchmark(Baseline = true)]
    public object DocumentPath() => Parse(OpenAiResponsesAdapter.CreateDocumentStreamParser, Events);

    [Benchmark]
    public object FastPath() => Parse(OpenAiResponsesAdapter.Instance.CreateStreamParser, Events);

    [Benchmark]
    public object FastEventsOnly() => Parse(OpenAiResponsesAdapter.Instance.CreateStreamParser, FastEvents, whole: false);

    private static CallRecord Parse(Func<CallRecord, CaptureLimits, StreamParser> create, (string Type, byte[] Data)[] events, bool whole = true)
    {
        if (events.Length != (whole ? 58 : 53)) throw new InvalidOperationException("the fast reader does not take the events it should");
        var record = new CallRecord(Route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5" };
        var parser = create(record, Limits);
        foreach (var (type, data) in events) parser.OnEvent(type, data);
        parser.OnEnd();
        if (whole && (!parser.SawEnd || record.CompletionTokens != 50)) throw new InvalidOperationException("the stream was not read whole");
        record.Release();
        return record;
    }

    private static (string, byte[])[] BuildEvents()
    {
        const string Id = "resp_67c9fdcecf488190bdd9a0409de3a1ec07b8b0ad4e5eb654";
        const string ItemId = "msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654";
        var events = new List<(string, byte[])>();
        var sequence = 0;
        void Add(string type, string data) => events.Add((type, Encoding.UTF8.GetBytes(data.Replace("SEQ", (sequence++).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))));
        string Response(string status, string output, string usage) =>
            $$$"""{"id":"{{{Id}}}","object":"response","created_at":1741290958,"status":"{{{status}}}","background":false,"error":null,"incomplete_details":null,"instructions":null,"max_output_tokens":null,"max_tool_calls":null,"model":"gpt-4.1-2025-04-14","output":[{{{output}}}],"parallel_tool_calls":true,"previous_response_id":null,"prompt_cache_key":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null,"service_tier":"default","store":true,"temperature":1.0,"text":{"format":{"type":"text"},"verbosity":"medium"},"tool_choice":"auto","tools":[],"top_logprobs":0,"top_p":1.0,"truncation":"disabled","usage":{{{usage}}},"user":null,"metadata":{}}""";
        var text = string.Concat(Enumerable.Range(0, 50).Select(i => " token" + i.ToString("D2", CultureInfo.InvariantCulture)));
        var message = $$$"""{"id":"{{{ItemId}}}","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"{{{text}}}"}],"role":"assistant"}""";
        Add("response.created", $$$"""{"type":"response.created","sequence_number":SEQ,"response":{{{Response("in_progress", "", "null")}}}}""");
        Add("response.in_progress", $$$"""{"type":"response.in_progress","sequence_number":SEQ,"response":{{{Response("in_progress", "", "null")}}}}""");
        Add("response.output_item.added", $$$"""{"type":"response.output_item.added","sequence_number":SEQ,"output_index":0,"item":{"id":"{{{ItemId}}}","type":"message","status":"in_progress","content":[],"role":"assistant"}}""");
        Add("response.content_part.added", $$$"""{"type":"response.content_part.added","sequence_number":SEQ,"item_id":"{{{ItemId}}}","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}}""");
        for (var i = 0; i < 50; i++)
        {
            // The obfuscation pads each event to a random length; here a fixed pattern of lengths.
            var obfuscation = "ZpQv1ALmQWq3Xk"[..(2 + i % 12)];
            Add("response.output_text.delta", $$$"""{"type":"response.output_text.delta","sequence_number":SEQ,"item_id":"{{{ItemId}}}","output_index":0,"content_index":0,"delta":" token{{{i.ToString("D2", CultureInfo.InvariantCulture)}}}","logprobs":[],"obfuscation":"{{{obfuscation}}}"}""");
        }
        Add("response.output_text.done", $$$"""{"type":"response.output_text.done","sequence_number":SEQ,"item_id":"{{{ItemId}}}","output_index":0,"content_index":0,"text":"{{{text}}}","logprobs":[]}""");
        Add("response.content_part.done", $$$"""{"type":"response.content_part.done","sequence_number":SEQ,"item_id":"{{{ItemId}}}","output_index":0,"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":"{{{text}}}"}}""");
        Add("response.output_item.done", $$$"""{"type":"response.output_item.done","sequence_number":SEQ,"output_index":0,"item":{{{message}}}}""");
        Add("response.completed", $$$"""{"type":"response.completed","sequence_number":SEQ,"response":{{{Response("completed", message, """{"input_tokens":500,"input_tokens_details":{"cached_tokens":0},"output_tokens":50,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":550}""")}}}}""");
        return [.. events];
    }
}
