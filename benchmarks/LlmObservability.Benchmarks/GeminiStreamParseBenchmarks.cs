using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Parsing one streamed Gemini call (<c>streamGenerateContent?alt=sse</c>), the off-path work a streamed call costs
/// once its reads are framed: 50 <c>GenerateContentResponse</c> chunks shaped as Google's API sends them (a thought,
/// 48 pieces of text, a last piece with the finish reason; each chunk with its running <c>usageMetadata</c>, model
/// version and response ID). The baseline reads every chunk through a <see cref="System.Text.Json.JsonDocument"/>, as
/// every chunk was read before <see cref="GeminiResponseReader"/>; the stream parser now reads them all with it.
/// </summary>
[MemoryDiagnoser]
public class GeminiStreamParseBenchmarks
{
    private static readonly ProviderRoute Route = new(GeminiGenerateContentAdapter.Instance, "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash:streamGenerateContent");
    private static readonly CaptureLimits Limits = new(256 * 1024, 4096);

    /// <summary>The chunks as the SSE framer hands them to the parser (Gemini's events have no name).</summary>
    public static readonly byte[][] Chunks = BuildChunks();

    /// <summary>Both paths must record the same call, or the comparison means nothing.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var fast = Describe(Parse(GeminiGenerateContentAdapter.Instance.CreateStreamParser, release: false));
        var document = Describe(Parse(GeminiGenerateContentAdapter.CreateDocumentStreamParser, release: false));
        if (fast != document) throw new InvalidOperationException($"the two paths record different calls:\n{fast}\n{document}");
        foreach (var chunk in Chunks)
        {
            var probe = new CallRecord(Route) { Id = "probe" };
            if (!GeminiResponseReader.ForThisThread.TryRead(chunk, probe, Limits, out _, out _)) throw new InvalidOperationException("the fast reader declines a chunk it should take");
            probe.Release();
        }
    }

    [Benchmark(Baseline = true)]
    public object DocumentPath() => Parse(GeminiGenerateContentAdapter.CreateDocumentStreamParser);

    [Benchmark]
    public object FastPath() => Parse(GeminiGenerateContentAdapter.Instance.CreateStreamParser);

    private static CallRecord Parse(Func<CallRecord, CaptureLimits, StreamParser> create, bool release = true)
    {
        var record = new CallRecord(Route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5" };
        var parser = create(record, Limits);
        foreach (var chunk in Chunks) parser.OnEvent(null, chunk);
        parser.OnEnd();
        if (!parser.SawEnd || record.CompletionTokens != 50) throw new InvalidOperationException("the stream was not read whole");
        if (release) record.Release();
        return record;
    }

    private static string Describe(CallRecord record)
    {
        var text = $"id={record.ResponseId} model={record.ResponseModel} finish={string.Join(",", record.FinishReasons ?? [])} "
            + $"tokens={record.PromptTokens}/{record.CompletionTokens}/{record.TotalTokens}/{record.CachedPromptTokens}/{record.ReasoningTokens} "
            + $"reasoning={record.ReasoningText} output={record.OutputText}";
        record.Release();
        return text;
    }

    private static byte[][] BuildChunks()
    {
        const string Tail = """, "modelVersion": "gemini-2.5-flash", "responseId": "tTCwacuEBMvnitYP06qsgQY"}""";
        string Usage(int candidates) =>
            $$$"""{"promptTokenCount": 58, {{{(candidates > 0 ? $"\"candidatesTokenCount\": {candidates}, " : "")}}}"totalTokenCount": {{{108 + candidates}}}, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 58}], "thoughtsTokenCount": 50}""";
        var chunks = new List<byte[]>
        {
            Encoding.UTF8.GetBytes($$$"""{"candidates": [{"content": {"parts": [{"text": "**Listing the tokens**\n\nThe user wants fifty tokens, one by one.\n\n\n", "thought": true}], "role": "model"}, "index": 0}], "usageMetadata": {{{Usage(0)}}}{{{Tail}}}"""),
        };
        for (var i = 1; i < 50; i++)
        {
            var finish = i == 49 ? "\"finishReason\": \"STOP\", " : "";
            chunks.Add(Encoding.UTF8.GetBytes(
                $$$"""{"candidates": [{"content": {"parts": [{"text": " token{{{i.ToString("D2", CultureInfo.InvariantCulture)}}}"}], "role": "model"}, {{{finish}}}"index": 0}], "usageMetadata": {{{Usage(i == 49 ? 50 : i)}}}{{{Tail}}}"""));
        }
        return [.. chunks];
    }
}
