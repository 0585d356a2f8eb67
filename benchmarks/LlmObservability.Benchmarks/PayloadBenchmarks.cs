using System.Text;
using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>The off-path work per call: building a payload (parse, cost) from a captured chat call (~2 KB each way), and serializing it.</summary>
[MemoryDiagnoser]
public class PayloadBenchmarks
{
    private static readonly byte[] RequestBody = ChatFixtures.RequestBody;
    private static readonly byte[] ResponseBody = ChatFixtures.ResponseBody;

    private readonly PayloadBuilder _builder = new(new LlmObservabilityOptions(), TimeProvider.System, LlmObservability.Pricing.PriceCatalog.CreateDefault(), estimator: null);
    private readonly ProviderRoute _route = new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
    private StandardLoggingPayload _payload = null!;

    [GlobalSetup]
    public void Setup() => _payload = BuildPayload();

    [Benchmark]
    public StandardLoggingPayload BuildPayload()
    {
        var record = new CallRecord(_route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5", RequestBody = RequestBody, HttpStatus = 200, End = CallEnd.Completed };
        record.AppendResponseBody(ResponseBody, 1024 * 1024);
        var payload = record.Build(_builder);
        record.Release();
        return payload;
    }

    [Benchmark]
    public byte[] SerializePayload() => LlmPayloadJson.SerializeToUtf8Bytes(_payload);
}
