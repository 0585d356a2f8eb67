using System.Text.Json;
using BenchmarkDotNet.Attributes;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Benchmarks;

/// <summary>
/// The off-path work per call: building a payload (parse, cost) from a captured chat call (~2 KB each way), and
/// serializing it. The same build for an Anthropic Messages call, through the fast body reader
/// (<see cref="AnthropicBodyReader"/>) and, as its baseline in the same run, through the <see cref="System.Text.Json.JsonDocument"/>
/// path every Anthropic body took before it. And the same pair for an OpenAI Responses call, through
/// <see cref="ResponsesBodyReader"/> and through the <see cref="System.Text.Json.JsonDocument"/> path.
/// </summary>
[MemoryDiagnoser]
public class PayloadBenchmarks
{
    private static readonly byte[] RequestBody = ChatFixtures.RequestBody;
    private static readonly byte[] ResponseBody = ChatFixtures.ResponseBody;

    private readonly PayloadBuilder _builder = NewBuilder(fastPaths: true);
    private readonly PayloadBuilder _documentBuilder = NewBuilder(fastPaths: false);
    private readonly ProviderRoute _route = new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");
    private readonly ProviderRoute _anthropicRoute = new(AnthropicMessagesAdapter.Instance, "anthropic", "https://api.anthropic.com", "/v1/messages");
    private readonly ProviderRoute _responsesRoute = new(OpenAiResponsesAdapter.Instance, "openai", "https://api.openai.com", "/v1/responses");
    private StandardLoggingPayload _payload = null!;

    [GlobalSetup]
    public void Setup()
    {
        _payload = BuildPayload();
        // Both Anthropic builds must record the same call, and the fast one must take both bodies.
        var fast = LlmPayloadJson.SerializeToUtf8Bytes(BuildAnthropicPayload());
        var document = LlmPayloadJson.SerializeToUtf8Bytes(BuildAnthropicPayloadDocumentPath());
        if (!fast.AsSpan().SequenceEqual(document)) throw new InvalidOperationException("the Anthropic builds differ");
        var record = new CallRecord(_anthropicRoute) { Id = "id" };
        var limits = new CaptureLimits(new LlmObservabilityOptions().MaxContentChars, 4096);
        if (!AnthropicBodyReader.TryReadRequest(ChatFixtures.AnthropicRequestBody, record, limits) || !AnthropicBodyReader.TryReadResponse(ChatFixtures.AnthropicResponseBody, record, limits))
        {
            throw new InvalidOperationException("the fast reader declined the Anthropic bodies");
        }
        record.Release();

        // Likewise for the Responses builds.
        fast = LlmPayloadJson.SerializeToUtf8Bytes(BuildResponsesPayload());
        document = LlmPayloadJson.SerializeToUtf8Bytes(BuildResponsesPayloadDocumentPath());
        if (!fast.AsSpan().SequenceEqual(document)) throw new InvalidOperationException("the Responses builds differ");
        record = new CallRecord(_responsesRoute) { Id = "id" };
        if (!ResponsesBodyReader.TryReadRequest(ChatFixtures.ResponsesRequestBody, record, limits) || !ResponsesBodyReader.TryReadResponse(ChatFixtures.ResponsesResponseBody, record, limits))
        {
            throw new InvalidOperationException("the fast reader declined the Responses bodies");
        }
        record.Release();
    }

    [Benchmark]
    public StandardLoggingPayload BuildPayload() => Build(_builder, _route, RequestBody, ResponseBody);

    [Benchmark]
    public byte[] SerializePayload() => LlmPayloadJson.SerializeToUtf8Bytes(_payload);

    /// <summary>The same payload with System.Text.Json's default escaping (every non-ASCII and HTML-sensitive character as <c>\uXXXX</c>), which <see cref="LlmPayloadJson"/> used before it wrote readable UTF-8.</summary>
    [Benchmark]
    public byte[] SerializePayloadDefaultEscaping() => JsonSerializer.SerializeToUtf8Bytes(_payload, LlmPayloadJsonContext.Default.StandardLoggingPayload);

    [Benchmark]
    public StandardLoggingPayload BuildAnthropicPayloadDocumentPath() => Build(_documentBuilder, _anthropicRoute, ChatFixtures.AnthropicRequestBody, ChatFixtures.AnthropicResponseBody);

    [Benchmark]
    public StandardLoggingPayload BuildAnthropicPayload() => Build(_builder, _anthropicRoute, ChatFixtures.AnthropicRequestBody, ChatFixtures.AnthropicResponseBody);

    [Benchmark]
    public StandardLoggingPayload BuildResponsesPayloadDocumentPath() => Build(_documentBuilder, _responsesRoute, ChatFixtures.ResponsesRequestBody, ChatFixtures.ResponsesResponseBody);

    [Benchmark]
    public StandardLoggingPayload BuildResponsesPayload() => Build(_builder, _responsesRoute, ChatFixtures.ResponsesRequestBody, ChatFixtures.ResponsesResponseBody);

    private static StandardLoggingPayload Build(PayloadBuilder builder, ProviderRoute route, byte[] request, byte[] response)
    {
        var record = new CallRecord(route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5", RequestBody = request, HttpStatus = 200, End = CallEnd.Completed };
        record.AppendResponseBody(response, 1024 * 1024);
        var payload = record.Build(builder);
        record.Release();
        return payload;
    }

    private static PayloadBuilder NewBuilder(bool fastPaths) =>
        new(new LlmObservabilityOptions(), TimeProvider.System, LlmObservability.Pricing.PriceCatalog.CreateDefault(), estimator: null) { FastPaths = fastPaths };
}
