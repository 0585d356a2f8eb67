using System.Net.Http.Headers;
using System.Text.Json;
using LlmObservability.Capture;

namespace LlmObservability.Providers;

/// <summary>
/// Azure OpenAI (provider <c>azure_openai</c>): the same wire formats as OpenAI on Azure's routes, so each instance
/// wraps the OpenAI adapter of its operation and adds only what Azure changes: detection, the deployment as the
/// requested model when the body names none, and Azure's request-id header. Routes:
/// <list type="bullet">
/// <item><c>…/openai/deployments/{deployment}/chat/completions|completions|embeddings|responses?api-version=…</c> on any
/// host (Azure resources, custom domains, API Management gateways all keep this path);</item>
/// <item><c>…/openai/v1/{operation}</c> and <c>…/openai/{operation}</c> (the v1 API and the preview Responses route,
/// whose deployment is the body's <c>model</c>) on <c>*.openai.azure.com</c>, <c>*.cognitiveservices.azure.com</c> and
/// <c>*.services.ai.azure.com</c>.</item>
/// </list>
/// The served model is what the response says (<c>model</c>), never the deployment name. Usage is OpenAI's.
/// </summary>
internal sealed class AzureOpenAiAdapter : ProviderAdapter
{
    public static readonly AzureOpenAiAdapter Chat = new(OpenAiChatAdapter.Instance);
    public static readonly AzureOpenAiAdapter Completions = new(OpenAiCompletionsAdapter.Instance);
    public static readonly AzureOpenAiAdapter Embeddings = new(OpenAiEmbeddingsAdapter.Instance);
    public static readonly AzureOpenAiAdapter Responses = new(OpenAiResponsesAdapter.Instance);

    /// <summary>The detection-table entry: matches every Azure OpenAI route and hands it to the flavour of its operation.</summary>
    public static AzureOpenAiAdapter Instance => Chat;

    private const string ProviderName = "azure_openai";
    private const string Deployments = "/openai/deployments/";

    // The operation a path ends with, and the flavour that reads it. Chat first: it also ends with "/completions".
    private static readonly (string Operation, AzureOpenAiAdapter Adapter)[] Operations =
    [
        ("/chat/completions", Chat),
        ("/completions", Completions),
        ("/embeddings", Embeddings),
        ("/responses", Responses),
    ];

    private static readonly string[] AzureHostSuffixes = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"];

    private readonly ProviderAdapter _inner;

    private AzureOpenAiAdapter(ProviderAdapter inner) => _inner = inner;

    public override string CallType => _inner.CallType;

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri)
    {
        var path = uri.AbsolutePath.TrimEnd('/');
        foreach (var (operation, adapter) in Operations)
        {
            if (!path.EndsWith(operation, StringComparison.OrdinalIgnoreCase)) continue;
            var endpointStart = path.Length - operation.Length;
            var deploymentsAt = path.IndexOf(Deployments, StringComparison.OrdinalIgnoreCase);
            if (deploymentsAt >= 0)
            {
                var nameStart = deploymentsAt + Deployments.Length;
                // Exactly one segment between /deployments/ and the operation: the deployment name.
                if (endpointStart <= nameStart || path.AsSpan(nameStart, endpointStart - nameStart).Contains('/')) return null;
                return ProviderRoute.Create(adapter, ProviderName, uri, endpointStart) with { Model = Uri.UnescapeDataString(path[nameStart..endpointStart]) };
            }
            if (!IsAzureHost(uri.Host)) return null;
            var before = path.AsSpan(0, endpointStart);
            if (before.EndsWith("/openai/v1", StringComparison.OrdinalIgnoreCase) || before.EndsWith("/openai", StringComparison.OrdinalIgnoreCase))
            {
                return ProviderRoute.Create(adapter, ProviderName, uri, endpointStart);
            }
            return null;
        }
        return null;
    }

    private static bool IsAzureHost(string host)
    {
        foreach (var suffix in AzureHostSuffixes)
        {
            if (host.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    public override StreamFraming StreamFramingFor(ReadOnlySpan<char> mediaType) => _inner.StreamFramingFor(mediaType);

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        _inner.ParseRequest(root, record, limits);
        UseDeploymentModel(record);
    }

    /// <summary>Deployment routes need no model in the body: the deployment is what was asked for.</summary>
    private static void UseDeploymentModel(CallRecord record)
    {
        if (string.IsNullOrEmpty(record.RequestedModel)) record.RequestedModel = record.Route.Model;
    }

    public override bool TryParseRequest(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits)
    {
        if (!_inner.TryParseRequest(body, record, limits)) return false;
        UseDeploymentModel(record);
        return true;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits) => _inner.ParseResponse(root, record, limits);

    public override bool TryParseResponse(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits) => _inner.TryParseResponse(body, record, limits);

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => _inner.CreateStreamParser(record, limits);

    /// <summary>OpenAI's error shape; a content-filter refusal names the policy in <c>innererror.code</c> when the error has no type.</summary>
    public override void ParseError(JsonElement root, CallRecord record)
    {
        _inner.ParseError(root, record);
        if (record.ErrorType is null
            && Json.Object(root, "error") is { } error
            && Json.Object(error, "innererror") is { } inner
            && Json.String(inner, "code") is { } innerCode)
        {
            record.ErrorType = innerCode;
        }
    }

    /// <summary>The common headers, plus <c>apim-request-id</c>, the id Azure support asks for, when no other id came.</summary>
    public override void ReadResponseHeaders(HttpResponseHeaders headers, CallRecord record)
    {
        _inner.ReadResponseHeaders(headers, record);
        if (record.RequestId is null && headers.NonValidated.TryGetValues("apim-request-id", out var values) && values.Count > 0)
        {
            record.RequestId = values.ToString();
        }
    }
}
