using System.Globalization;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;

namespace LlmObservability.Providers;

/// <summary>
/// OpenAI Embeddings (<c>POST …/v1/embeddings</c>), on api.openai.com and OpenAI-compatible hosts: model, input count
/// and parameters from the request (the input texts as user messages; token arrays only as a count), and from the
/// response the served model, the number of embeddings and the usage (<c>prompt_tokens</c>, <c>total_tokens</c>; no
/// output tokens). The vectors are never kept: a JSON response is skimmed as it passes
/// (<see cref="StreamFraming.SkimmedJson"/>), which hands over the body with its arrays replaced by their lengths, so
/// a batch far larger than the capture cap still yields its usage.
/// </summary>
internal sealed class OpenAiEmbeddingsAdapter : ProviderAdapter
{
    public static readonly OpenAiEmbeddingsAdapter Instance = new();

    private static readonly HashSet<string> NotParameters = new(StringComparer.Ordinal) { "input", "model" };

    public override string CallType => "embedding";

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri) => OpenAiChatAdapter.MatchEndpoint(this, uri, "/embeddings");

    public override ProviderRoute? MatchTrusted(HttpRequestMessage request, Uri uri) => OpenAiChatAdapter.MatchEndpoint(this, uri, "/embeddings", trusted: true);

    public override StreamFraming StreamFramingFor(ReadOnlySpan<char> mediaType) =>
        mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ? StreamFraming.SkimmedJson : StreamFraming.None;

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = Json.String(root, "model");
        record.ModelParameters = OpenAiChatAdapter.ReadParameters(root, NotParameters);
        var input = Json.Get(root, "input");
        var messages = new List<LlmMessage>();
        foreach (var text in Inputs(input)) messages.Add(new LlmMessage { Role = "user", Content = CaptureLimits.Cap(text, limits.MaxContentChars) });
        if (input is not null)
        {
            (record.ModelParameters ??= new Dictionary<string, JsonElement>(StringComparer.Ordinal))["input_count"] =
                JsonSerializer.SerializeToElement(messages.Count, ProviderJsonContext.Default.Int32);
        }
        if (messages.Count > 0) record.Messages = messages;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object) return;
        record.ResponseModel = Json.NonEmpty(root, "model") ?? record.ResponseModel;
        // A whole body has the data array (its length is all that is read); a skimmed one has the length in its place.
        var count = Json.Get(root, "data") switch
        {
            { ValueKind: JsonValueKind.Array } data => data.GetArrayLength(),
            { ValueKind: JsonValueKind.Number } length when length.TryGetInt64(out var n) => n,
            _ => (long?)null,
        };
        if (count is long embeddings) record.Output(limits.MaxContentChars).Append(string.Create(CultureInfo.InvariantCulture, $"[{embeddings} embedding{(embeddings == 1 ? "" : "s")}]"));
        if (Json.Object(root, "usage") is { } usage)
        {
            record.PromptTokens = Json.Long(usage, "prompt_tokens") ?? Json.Long(usage, "input_tokens") ?? record.PromptTokens;
            record.TotalTokens = Json.Long(usage, "total_tokens") ?? record.TotalTokens;
            record.CompletionTokens = 0; // embeddings produce no output tokens
        }
    }

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new SkimmedBodyParser(record, limits);

    /// <summary>
    /// The texts of an <c>input</c> (or legacy <c>prompt</c>): a string, an array of strings, a token array or an array
    /// of token arrays. Token arrays are named by their length, never listed.
    /// </summary>
    internal static IEnumerable<string> Inputs(JsonElement? input)
    {
        switch (input)
        {
            case { ValueKind: JsonValueKind.String } text:
                yield return text.GetString()!;
                break;
            case { ValueKind: JsonValueKind.Array } items:
                if (items.GetArrayLength() > 0 && items[0].ValueKind == JsonValueKind.Number)
                {
                    yield return TokensNote(items);
                    break;
                }
                foreach (var item in items.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String) yield return item.GetString()!;
                    else if (item.ValueKind == JsonValueKind.Array) yield return TokensNote(item);
                }
                break;
        }
    }

    private static string TokensNote(JsonElement tokens) => string.Create(CultureInfo.InvariantCulture, $"[{tokens.GetArrayLength()} tokens]");

    /// <summary>
    /// Receives the one event of a skimmed JSON body: the response with its arrays replaced by their lengths. Only 2xx
    /// bodies are skimmed, so one whose root holds an error (a gateway's 200 error body) is read as an error body here,
    /// as a whole body is by the payload builder.
    /// </summary>
    private sealed class SkimmedBodyParser(CallRecord record, CaptureLimits limits) : StreamParser
    {
        public override void OnEvent(string? eventType, ReadOnlyMemory<byte> data)
        {
            SawEnd = true;
            using var document = JsonDocument.Parse(data);
            var root = document.RootElement;
            if (Instance.HasErrorAtRoot(root)) Instance.ReadErrorInSuccessBody(root, data.Span, record, limits);
            else Instance.ParseResponse(root, record, limits);
        }
    }
}
