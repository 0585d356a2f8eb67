using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Payload;
using static LlmObservability.Providers.CaptureLimits;

namespace LlmObservability.Providers;

/// <summary>
/// Ollama's native API: <c>POST /api/chat</c> (call type <c>chat_completion</c>) and <c>POST /api/generate</c> (call type
/// <c>text_completion</c>). Both stream newline-delimited JSON (<c>application/x-ndjson</c>) unless the request says
/// <c>"stream": false</c>; the last object has <c>"done": true</c>, <c>done_reason</c>, the token counts and timings.
/// </summary>
/// <remarks>
/// <para>
/// Detection. <c>/api/chat</c> and <c>/api/generate</c> are generic paths (many application back-ends have an
/// <c>/api/chat</c> of their own), so the path alone is not enough. A request is Ollama's when its path ends with one of
/// them and at least one of these holds: the port is Ollama's default 11434; the host name contains <c>ollama</c>
/// (ollama.com, a container or service named <c>ollama</c>); the path goes through an <c>/ollama/</c> segment (the way
/// proxies such as Open WebUI mount it). An Ollama behind some other host and port on a plain <c>/api/chat</c> is not
/// recognised until routes can be configured; a miss costs a log line, a false match would log someone else's traffic.
/// </para>
/// <para>
/// Usage: <c>prompt_eval_count</c> is the prompt tokens Ollama evaluated for this call (a prefix reused from its KV
/// cache is not evaluated again, and no cached count is reported), <c>eval_count</c> the generated tokens including any
/// thinking. The durations (<c>total_duration</c>, <c>load_duration</c>, <c>prompt_eval_duration</c>,
/// <c>eval_duration</c>, in nanoseconds) are the server's own timings and are not copied into the payload, which
/// measures latency and TTFT from the client's side.
/// </para>
/// </remarks>
internal sealed class OllamaAdapter : ProviderAdapter
{
    /// <summary><c>/api/chat</c>; its <see cref="Match"/> also answers for <c>/api/generate</c> with <see cref="Generate"/>.</summary>
    public static readonly OllamaAdapter Instance = new(chat: true);

    /// <summary><c>/api/generate</c>.</summary>
    public static readonly OllamaAdapter Generate = new(chat: false);

    private const int DefaultPort = 11434;

    // Request members that are input or routing; options are flattened, tools counted.
    private static readonly HashSet<string> NotParameters = new(StringComparer.Ordinal)
    {
        "model", "messages", "prompt", "suffix", "system", "images", "context", "template", "stream", "options", "tools", "format",
    };

    private readonly bool _chat;

    private OllamaAdapter(bool chat) => _chat = chat;

    public override string CallType => _chat ? "chat_completion" : "text_completion";

    public override ProviderRoute? Match(HttpRequestMessage request, Uri uri) => MatchPath(uri, trusted: false);

    public override ProviderRoute? MatchTrusted(HttpRequestMessage request, Uri uri) => MatchPath(uri, trusted: true);

    private static ProviderRoute? MatchPath(Uri uri, bool trusted)
    {
        var path = uri.AbsolutePath;
        OllamaAdapter adapter;
        int suffixLength;
        if (ProviderDetector.EndsWithSegment(path, "/api/chat"))
        {
            adapter = Instance;
            suffixLength = "/api/chat".Length;
        }
        else if (ProviderDetector.EndsWithSegment(path, "/api/generate"))
        {
            adapter = Generate;
            suffixLength = "/api/generate".Length;
        }
        else
        {
            return null;
        }
        if (!trusted
            && uri.Port != DefaultPort
            && !uri.Host.Contains("ollama", StringComparison.OrdinalIgnoreCase)
            && !path.Contains("/ollama/", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        // api_base is what precedes /api/…, as Ollama clients configure it (http://localhost:11434).
        return ProviderRoute.Create(adapter, "ollama", uri, path.TrimEnd('/').Length - suffixLength);
    }

    public override StreamFraming StreamFramingFor(ReadOnlySpan<char> mediaType) =>
        mediaType.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase) ? StreamFraming.NewlineDelimitedJson : StreamFraming.None;

    public override void ParseRequest(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        record.RequestedModel = Json.String(root, "model");
        record.Stream = Json.Bool(root, "stream") ?? true; // Ollama streams unless told not to
        record.ModelParameters = ReadParameters(root);
        if (_chat)
        {
            if (Json.Array(root, "messages") is { } messages)
            {
                var list = new List<LlmMessage>(messages.GetArrayLength());
                foreach (var message in messages.EnumerateArray()) list.Add(ReadMessage(message, limits));
                record.Messages = list;
            }
            return;
        }
        var prompt = new List<LlmMessage>(2);
        if (Json.String(root, "system") is { Length: > 0 } system) prompt.Add(new LlmMessage { Role = "system", Content = Cap(system, limits.MaxContentChars), IsSystemInstruction = true });
        if (Json.String(root, "prompt") is { } text) prompt.Add(new LlmMessage { Role = "user", Content = Cap(WithImages(text, root), limits.MaxContentChars) });
        if (prompt.Count > 0) record.Messages = prompt;
    }

    public override void ParseResponse(JsonElement root, CallRecord record, CaptureLimits limits) => ReadChunk(root, record, limits);

    public override StreamParser CreateStreamParser(CallRecord record, CaptureLimits limits) => new LineParser(this, record, limits);

    /// <summary>
    /// <c>options</c> flattened (temperature, num_ctx, top_p, num_predict, seed, stop, ...); <c>tools</c> as
    /// <c>tools_count</c>; <c>format</c> as <c>json</c> or <c>json_schema</c>; other top-level settings (think,
    /// keep_alive, raw) as they are.
    /// </summary>
    private static Dictionary<string, JsonElement>? ReadParameters(JsonElement root)
    {
        Dictionary<string, JsonElement>? parameters = null;
        if (Json.Object(root, "options") is { } options)
        {
            foreach (var option in options.EnumerateObject())
            {
                if (option.Value.ValueKind != JsonValueKind.Null) (parameters ??= new(StringComparer.Ordinal))[option.Name] = option.Value.Clone();
            }
        }
        foreach (var property in root.EnumerateObject())
        {
            if (NotParameters.Contains(property.Name) || property.Value.ValueKind == JsonValueKind.Null) continue;
            (parameters ??= new(StringComparer.Ordinal))[property.Name] = property.Value.Clone();
        }
        if (Json.Array(root, "tools") is { } tools)
        {
            (parameters ??= new(StringComparer.Ordinal))["tools_count"] = JsonSerializer.SerializeToElement(tools.GetArrayLength(), ProviderJsonContext.Default.Int32);
        }
        switch (Json.Get(root, "format"))
        {
            case { ValueKind: JsonValueKind.String } format when format.GetString() is { Length: > 0 } name:
                (parameters ??= new(StringComparer.Ordinal))["format"] = JsonSerializer.SerializeToElement(name, ProviderJsonContext.Default.String);
                break;
            case { ValueKind: JsonValueKind.Object }:
                (parameters ??= new(StringComparer.Ordinal))["format"] = JsonSerializer.SerializeToElement("json_schema", ProviderJsonContext.Default.String);
                break;
        }
        return parameters;
    }

    private static LlmMessage ReadMessage(JsonElement message, CaptureLimits limits)
    {
        List<LlmToolCall>? toolCalls = null;
        if (Json.Array(message, "tool_calls") is { } calls)
        {
            var accumulator = new ToolCallAccumulator(limits.MaxContentChars);
            foreach (var call in calls.EnumerateArray()) ReadToolCall(call, accumulator.Add());
            toolCalls = accumulator.ToList();
        }
        return new LlmMessage
        {
            Role = Json.String(message, "role"),
            Content = Cap(WithImages(Json.String(message, "content"), message), limits.MaxContentChars),
            Name = Json.String(message, "tool_name"),
            ToolCallId = Json.String(message, "tool_call_id"),
            ToolCalls = toolCalls,
        };
    }

    /// <summary>Text followed by an <c>[image]</c> note per attached image.</summary>
    private static string? WithImages(string? text, JsonElement obj)
    {
        if (Json.Array(obj, "images") is not { } images || images.GetArrayLength() == 0) return text;
        var builder = new StringBuilder(text);
        for (var i = 0; i < images.GetArrayLength(); i++)
        {
            if (builder.Length > 0) builder.Append('\n');
            builder.Append("[image]");
        }
        return builder.ToString();
    }

    /// <summary>A tool call: <c>{"id"?, "function": {"index"?, "name", "arguments": {...}}}</c>, arguments kept as JSON text.</summary>
    private static void ReadToolCall(JsonElement call, ToolCallAccumulator.Builder builder)
    {
        builder.Id ??= Json.String(call, "id");
        builder.Type ??= "function";
        if (Json.Object(call, "function") is not { } function) return;
        builder.Name ??= Json.String(function, "name");
        switch (Json.Get(function, "arguments"))
        {
            case { ValueKind: JsonValueKind.String } text:
                builder.Arguments.Append(text.GetString());
                break;
            case { } arguments:
                builder.Arguments.Append(arguments.GetRawText());
                break;
        }
    }

    /// <summary>Reads one response object (a whole body or one stream line). True when it carried content.</summary>
    private bool ReadChunk(JsonElement root, CallRecord record, CaptureLimits limits)
    {
        if (root.ValueKind != JsonValueKind.Object) return false;
        record.ResponseModel ??= Json.String(root, "model");
        var hadContent = false;
        var source = _chat ? Json.Object(root, "message") : root;
        if (source is { } message)
        {
            if (Json.String(message, _chat ? "content" : "response") is { Length: > 0 } text)
            {
                record.Output(limits.MaxContentChars).Append(text);
                hadContent = true;
            }
            if (Json.String(message, "thinking") is { Length: > 0 } thinking)
            {
                (record.ReasoningText ??= new TextAccumulator(limits.MaxContentChars)).Append(thinking);
                hadContent = true;
            }
            if (Json.Array(message, "tool_calls") is { } calls && calls.GetArrayLength() > 0)
            {
                // Each call arrives whole in one line. Newer servers number them (function.index, left out when 0)
                // across the whole response; older ones do not, and each call is simply the next one.
                record.ToolCalls ??= new ToolCallAccumulator(limits.MaxContentChars);
                foreach (var call in calls.EnumerateArray())
                {
                    if (call.ValueKind != JsonValueKind.Object) continue;
                    var index = Json.Object(call, "function") is { } function ? Json.Long(function, "index") : null;
                    ReadToolCall(call, index is >= 0 and < int.MaxValue ? record.ToolCalls[(int)index.Value] : record.ToolCalls.Add());
                }
                hadContent = true;
            }
        }
        if (Json.Bool(root, "done") == true) record.AddFinishReason(Json.String(root, "done_reason"));
        record.PromptTokens = Json.Long(root, "prompt_eval_count") ?? record.PromptTokens;
        record.CompletionTokens = Json.Long(root, "eval_count") ?? record.CompletionTokens;
        return hadContent;
    }

    /// <summary>Assembles a response from its NDJSON lines; the line with <c>"done": true</c> is the end.</summary>
    private sealed class LineParser(OllamaAdapter adapter, CallRecord record, CaptureLimits limits) : JsonChunkParser(adapter, record)
    {
        protected override void OnChunk(JsonElement root)
        {
            LastEventHadContent = adapter.ReadChunk(root, Record, limits);
            if (Json.Bool(root, "done") == true) SawEnd = true;
        }
    }
}
