using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;

namespace LlmObservability.Providers;

/// <summary>
/// OpenAI's legacy Completions (<c>POST …/v1/completions</c>), also served by vLLM, Ollama, DeepSeek's
/// <c>/beta/completions</c> and Mistral's <c>/v1/fim/completions</c>: the prompt(s) and parameters, whole
/// <c>text_completion</c> bodies, and SSE streams of them ending in <c>[DONE]</c>. Usage is OpenAI's.
/// </summary>
internal sealed class OpenAiCompletionsAdapter : ProviderAdapter
{
    public static readonly OpenAiCompletionsAdapter Instance = new();

    private static readonly HashSet<string> NotParameters = new(StringComparer.Ordinal) { "prompt", "suffix", "model", "stream" };

    public override string CallType => "text_completion";

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri) => OpenAiChatAdapter.MatchEndpoint(this, uri, "/completions");

    public override ProviderRoute? MatchTrusted(HttpRequestMessage request, Uri uri) => OpenAiChatAdapter.MatchEndpoint(this, uri, "/completions", trusted: true);

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = Json.String(root, "model");
        record.Stream = Json.Bool(root, "stream") ?? false;
        record.ModelParameters = OpenAiChatAdapter.ReadParameters(root, NotParameters);
        var messages = new List<LlmMessage>();
        foreach (var prompt in OpenAiEmbeddingsAdapter.Inputs(Json.Get(root, "prompt")))
        {
            messages.Add(new LlmMessage { Role = "user", Content = CaptureLimits.Cap(prompt, limits.MaxContentChars) });
        }
        // The text after the insertion point of a fill-in-the-middle request.
        if (Json.String(root, "suffix") is { } suffix) messages.Add(new LlmMessage { Role = "user", Name = "suffix", Content = CaptureLimits.Cap(suffix, limits.MaxContentChars) });
        if (messages.Count > 0) record.Messages = messages;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        ReadChoices(root, record, limits, "message");
        OpenAiChatAdapter.ReadUsage(root, record);
    }

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new ChunkParser(record, limits);

    /// <summary>Ids, finish reasons and the first choice's text (Mistral's FIM answers in a chat-shaped message or delta).</summary>
    private static bool ReadChoices(JsonElement root, CallRecord record, CaptureLimits limits, string messageName)
    {
        record.ResponseId ??= Json.NonEmpty(root, "id");
        record.ResponseModel ??= Json.NonEmpty(root, "model");
        var sawText = false;
        if (Json.Array(root, "choices") is not { } choices) return false;
        foreach (var choice in choices.EnumerateArray())
        {
            record.AddFinishReason(Json.String(choice, "finish_reason"));
            if ((Json.Long(choice, "index") ?? 0) != 0) continue;
            var text = Json.String(choice, "text") ?? (Json.Object(choice, messageName) is { } message ? Json.String(message, "content") : null);
            if (string.IsNullOrEmpty(text)) continue;
            record.Output(limits.MaxContentChars).Append(text);
            sawText = true;
        }
        return sawText;
    }

    private sealed class ChunkParser(CallRecord callRecord, CaptureLimits limits) : OpenAiChatAdapter.OpenAiChunkParser(callRecord)
    {
        protected override void OnChunk(JsonElement root)
        {
            LastEventHadContent = ReadChoices(root, Record, limits, "delta");
            OpenAiChatAdapter.ReadUsage(root, Record);
        }
    }
}
