using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Redaction;

/// <summary>
/// Applies redaction to a payload's content, once, before the payload is made and shared with the sinks: every text a person or a model
/// wrote (messages and every part of them, response text, reasoning, refusals, tool-call arguments, error messages,
/// bodies, codes and types, metadata values, model parameters' strings) loses its inline data blobs and then its PII and secrets. The
/// payload records how many matches of each entity were replaced.
/// </summary>
internal sealed class PayloadRedaction(LlmRedactionOptions options)
{
    private readonly PiiRedactor _redactor = new(options.BuildRedactorOptions());
    private readonly int _maxInline = options.MaxInlineDataChars;

    private static readonly SearchValues<char> Base64Chars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-");

    // Counts of one Apply; copied into the payload only when something was replaced.
    [ThreadStatic]
    private static Dictionary<string, int>? t_counts;

    /// <summary>
    /// Redacts every text of a payload's content in place of the parts, before the payload is made, and returns how many
    /// matches of each entity were replaced. Only what a replacement changed is copied (a message, the response, a tool
    /// call, ...); clean text, which most calls carry, keeps its strings and lists.
    /// </summary>
    public IReadOnlyDictionary<string, int> Apply(ref PayloadContent content)
    {
        var counts = t_counts ??= new Dictionary<string, int>(StringComparer.Ordinal);
        counts.Clear();
        content.Messages = RedactMessages(content.Messages, counts);
        if (content.Response is { } response)
        {
            var utf8 = response.TextUtf8;
            var (text, textUtf8) = R(utf8 is null ? response.Text : null, utf8, counts);
            var (reasoning, refusal) = (R(response.Reasoning, counts), R(response.Refusal, counts));
            if (!ReferenceEquals(textUtf8, utf8) || (utf8 is null && !ReferenceEquals(text, response.Text))
                || !ReferenceEquals(reasoning, response.Reasoning) || !ReferenceEquals(refusal, response.Refusal))
                content.Response = response with { Text = text, TextUtf8 = textUtf8, Reasoning = reasoning, Refusal = refusal };
        }
        content.ToolCalls = RedactCalls(content.ToolCalls, counts);
        if (content.Error is { } error)
        {
            // The code and type come from the provider's body too, and a provider or proxy may put anything there.
            var (message, body) = (R(error.Message, counts), R(error.Body, counts));
            var (code, type) = (R(error.Code, counts), R(error.Type, counts));
            if (!ReferenceEquals(message, error.Message) || !ReferenceEquals(body, error.Body) || !ReferenceEquals(code, error.Code) || !ReferenceEquals(type, error.Type))
                content.Error = error with { Message = message, Body = body, Code = code, Type = type };
        }
        content.Metadata = RedactMetadata(content.Metadata, counts);
        content.ModelParameters = RedactParameters(content.ModelParameters, counts);
        return counts.Count == 0 ? NoEntities : new Dictionary<string, int>(counts, StringComparer.Ordinal);
    }

    /// <summary>The entity counts of a payload in which nothing was replaced.</summary>
    internal static readonly IReadOnlyDictionary<string, int> NoEntities = System.Collections.ObjectModel.ReadOnlyDictionary<string, int>.Empty;

    private string? R(string? text, Dictionary<string, int> counts) => text is null ? null : _redactor.Redact(StripInlineData(text), counts);

    /// <summary>
    /// Redacts text held as UTF-8 (see <see cref="Utf8Text"/>) through a pooled buffer: the new text when something was
    /// replaced, null when the text is clean and stays the bytes it is.
    /// </summary>
    private string? RedactUtf8(byte[] utf8, Dictionary<string, int> counts)
    {
        var chars = ArrayPool<char>.Shared.Rent(utf8.Length); // never more chars than bytes
        try
        {
            var text = chars.AsSpan(0, Encoding.UTF8.GetChars(utf8, chars));
            return StripInlineDataOrNull(text) is { } stripped ? _redactor.Redact(stripped, counts) : _redactor.RedactOrNull(text, counts);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>A text held as a string or as UTF-8, redacted: (the string, the bytes) to keep; the same ones when clean.</summary>
    private (string? Text, byte[]? Utf8) R(string? text, byte[]? utf8, Dictionary<string, int> counts) =>
        utf8 is null ? (R(text, counts), null) : RedactUtf8(utf8, counts) is { } redacted ? (redacted, null) : (null, utf8);

    private IReadOnlyList<LlmMessage>? RedactMessages(IReadOnlyList<LlmMessage>? messages, Dictionary<string, int> counts) =>
        MapChanged(messages, (Redaction: this, Counts: counts), static (message, s) =>
        {
            var utf8 = message.ContentUtf8;
            var (content, contentUtf8) = s.Redaction.R(utf8 is null ? message.Content : null, utf8, s.Counts);
            var (name, calls) = (s.Redaction.R(message.Name, s.Counts), s.Redaction.RedactCalls(message.ToolCalls, s.Counts));
            var contentKept = utf8 is null ? ReferenceEquals(content, message.Content) : ReferenceEquals(contentUtf8, utf8);
            return contentKept && ReferenceEquals(name, message.Name) && ReferenceEquals(calls, message.ToolCalls)
                ? message
                : message with { Content = content, ContentUtf8 = contentUtf8, Name = name, ToolCalls = calls };
        });

    private IReadOnlyList<LlmToolCall>? RedactCalls(IReadOnlyList<LlmToolCall>? calls, Dictionary<string, int> counts) =>
        MapChanged(calls, (Redaction: this, Counts: counts), static (call, s) =>
            s.Redaction.R(call.Arguments, s.Counts) is var arguments && ReferenceEquals(arguments, call.Arguments) ? call : call with { Arguments = arguments });

    /// <summary>
    /// The list with every item mapped, or the list itself when no item changed (mapping gives back the same instance):
    /// a new array is made only from the first change on.
    /// </summary>
    private static IReadOnlyList<T>? MapChanged<T, TState>(IReadOnlyList<T>? list, TState state, Func<T, TState, T> map) where T : class
    {
        if (list is null) return null;
        T[]? copy = null;
        for (var i = 0; i < list.Count; i++)
        {
            var item = map(list[i], state);
            if (copy is null && !ReferenceEquals(item, list[i]))
            {
                copy = new T[list.Count];
                for (var j = 0; j < i; j++) copy[j] = list[j];
            }
            if (copy is not null) copy[i] = item;
        }
        return copy ?? list;
    }

    private LlmCallMetadata? RedactMetadata(LlmCallMetadata? metadata, Dictionary<string, int> counts)
    {
        if (metadata is null) return null;
        var (userId, sessionId) = (R(metadata.UserId, counts), R(metadata.SessionId, counts));
        var tags = MapChanged(metadata.Tags, (Redaction: this, Counts: counts), static (tag, s) => s.Redaction.R(tag, s.Counts)!);
        Dictionary<string, string>? custom = null;
        if (metadata.Custom is { } values)
        {
            foreach (var (key, value) in values)
            {
                var redacted = R(value, counts)!;
                if (custom is null && ReferenceEquals(redacted, value)) continue;
                custom ??= new Dictionary<string, string>(values, StringComparer.Ordinal);
                custom[key] = redacted;
            }
        }
        if (ReferenceEquals(userId, metadata.UserId) && ReferenceEquals(sessionId, metadata.SessionId) && ReferenceEquals(tags, metadata.Tags) && custom is null) return metadata;
        return metadata with { UserId = userId, SessionId = sessionId, Tags = tags, Custom = custom ?? metadata.Custom };
    }

    /// <summary>
    /// Parameters can carry PII too: strings (OpenAI's <c>user</c>, Anthropic's <c>user_id</c>) and the strings inside
    /// objects and arrays (OpenAI's <c>metadata</c> and <c>prediction</c>, stop sequences).
    /// </summary>
    private Dictionary<string, JsonElement>? RedactParameters(Dictionary<string, JsonElement>? parameters, Dictionary<string, int> counts)
    {
        if (parameters is null) return null;
        Dictionary<string, JsonElement>? result = null;
        foreach (var (key, value) in parameters)
        {
            if (!HoldsText(value)) continue;
            JsonElement replacement;
            try
            {
                if (value.ValueKind == JsonValueKind.String)
                {
                    var text = value.GetString();
                    var redacted = R(text, counts);
                    if (ReferenceEquals(redacted, text)) continue;
                    replacement = JsonSerializer.SerializeToElement(redacted, ProviderJsonContext.Default.String);
                }
                else
                {
                    var buffer = new ArrayBufferWriter<byte>();
                    var changed = false;
                    using (var writer = new Utf8JsonWriter(buffer)) WriteRedacted(value, writer, counts, ref changed);
                    if (!changed) continue;
                    replacement = JsonElement.Parse(buffer.WrittenSpan);
                }
            }
            catch (InvalidOperationException)
            {
                // Not valid UTF-8, so it cannot be checked for PII: it is not kept.
                replacement = JsonSerializer.SerializeToElement("[unreadable text]", ProviderJsonContext.Default.String);
            }
            result ??= new Dictionary<string, JsonElement>(parameters, StringComparer.Ordinal);
            result[key] = replacement;
        }
        return result ?? parameters;
    }

    /// <summary>Whether the value is a string or holds one (names aside): most parameters are numbers, flags and options without text.</summary>
    private static bool HoldsText(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => true,
        JsonValueKind.Object => value.EnumerateObject().Any(static property => HoldsText(property.Value)),
        JsonValueKind.Array => value.EnumerateArray().Any(HoldsText),
        _ => false,
    };

    /// <summary>Writes the value with each string in it redacted; <paramref name="changed"/> is set when one was.</summary>
    private void WriteRedacted(JsonElement value, Utf8JsonWriter writer, Dictionary<string, int> counts, ref bool changed)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in value.EnumerateObject())
                {
                    writer.WritePropertyName(property.Name);
                    WriteRedacted(property.Value, writer, counts, ref changed);
                }
                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in value.EnumerateArray()) WriteRedacted(item, writer, counts, ref changed);
                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                var text = value.GetString()!;
                var redacted = R(text, counts)!;
                changed |= !ReferenceEquals(redacted, text);
                writer.WriteStringValue(redacted);
                break;
            default:
                value.WriteTo(writer);
                break;
        }
    }

    /// <summary>Replaces data URIs and long base64 runs with a note of their size. Returns the same string when there are none.</summary>
    internal string StripInlineData(string text) => StripInlineDataOrNull(text) ?? text;

    /// <summary>The text with data URIs and long base64 runs replaced by a note of their size, or null when there are none.</summary>
    private string? StripInlineDataOrNull(ReadOnlySpan<char> text)
    {
        if (_maxInline <= 0 || text.Length <= _maxInline) return null;
        StringBuilder? output = null;
        var copied = 0;
        // Only runs longer than _maxInline matter, and such a run starting at or after `from` covers `from + _maxInline`:
        // probing that one character skips _maxInline characters of prose at a time instead of visiting every word.
        // `from` is always 0 or just after a character that is not base64, so no run crosses it.
        var from = 0;
        while (from + _maxInline < text.Length)
        {
            var probe = from + _maxInline;
            if (!Base64Chars.Contains(text[probe]))
            {
                from = probe + 1;
                continue;
            }
            var before = text[from..probe].LastIndexOfAnyExcept(Base64Chars);
            var start = before < 0 ? from : from + before + 1;
            var after = text[probe..].IndexOfAnyExcept(Base64Chars);
            var end = after < 0 ? text.Length : probe + after;
            if (end - start > _maxInline)
            {
                // Include a "data:<mime>;base64," prefix just before the run in what is replaced: the last "data:" in the
                // 128 characters up to the run's first one.
                var noteStart = start;
                string note;
                var window = Math.Max(0, start - 127);
                var prefixAt = text[window..(start + 1)].LastIndexOf("data:", StringComparison.Ordinal) is var at and >= 0 ? window + at : -1;
                // (Not inside the run replaced just before: "…AAAAdata:image/png;base64,BBBB…" keeps its first run whole.)
                if (prefixAt >= copied && text[prefixAt..start].EndsWith(";base64,", StringComparison.Ordinal))
                {
                    noteStart = prefixAt;
                    note = $"[{text[prefixAt..(start - 1)]}, {Size(end - start)}]";
                }
                else
                {
                    note = $"[base64, {Size(end - start)}]";
                }
                output ??= new StringBuilder(text.Length);
                output.Append(text[copied..noteStart]).Append(note);
                copied = end;
            }
            from = end + 1;
        }
        if (output is null) return null;
        output.Append(text[copied..]);
        return output.ToString();
    }

    private static string Size(int base64Chars) => SizeText(base64Chars * 3 / 4);

    /// <summary>A size as the notes show it: <c>812 bytes</c>, <c>48.2 KB</c>.</summary>
    internal static string SizeText(int bytes) =>
        bytes >= 1024 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KB") : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");
}

/// <summary>The parts of a payload that redaction reads and may replace.</summary>
internal record struct PayloadContent(
    IReadOnlyList<LlmMessage>? Messages,
    LlmResponseOutput? Response,
    IReadOnlyList<LlmToolCall>? ToolCalls,
    LlmError? Error,
    LlmCallMetadata? Metadata,
    Dictionary<string, JsonElement>? ModelParameters);
