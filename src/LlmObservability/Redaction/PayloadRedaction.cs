using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using LlmObservability.Payload;
using LlmObservability.Providers;

namespace LlmObservability.Redaction;

/// <summary>
/// Applies redaction to a built payload, once, before it is shared with the sinks: every text a person or a model
/// wrote (messages and every part of them, response text, reasoning, refusals, tool-call arguments, error messages and
/// bodies, metadata values, string model parameters) loses its inline data blobs and then its PII and secrets. The
/// payload records how many matches of each entity were replaced.
/// </summary>
internal sealed class PayloadRedaction(LlmRedactionOptions options)
{
    private readonly PiiRedactor _redactor = new(options.BuildRedactorOptions());
    private readonly int _maxInline = options.MaxInlineDataChars;

    private static readonly SearchValues<char> Base64Chars = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-");

    public StandardLoggingPayload Apply(StandardLoggingPayload payload)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        string? R(string? text) => text is null ? null : _redactor.Redact(StripInlineData(text), counts);

        var redacted = payload with
        {
            Messages = payload.Messages?.Select(m => m with
            {
                Content = R(m.Content),
                Name = R(m.Name),
                ToolCalls = RedactCalls(m.ToolCalls, R),
            }).ToArray(),
            Response = payload.Response is { } response ? response with { Text = R(response.Text), Reasoning = R(response.Reasoning), Refusal = R(response.Refusal) } : null,
            ToolCalls = RedactCalls(payload.ToolCalls, R),
            Error = payload.Error is { } error ? error with { Message = R(error.Message), Body = R(error.Body) } : null,
            Metadata = payload.Metadata is { } metadata ? metadata with
            {
                UserId = R(metadata.UserId),
                SessionId = R(metadata.SessionId),
                Tags = metadata.Tags?.Select(t => R(t)!).ToArray(),
                Custom = metadata.Custom?.ToDictionary(kv => kv.Key, kv => R(kv.Value)!, StringComparer.Ordinal),
            } : null,
            ModelParameters = RedactParameters(payload.ModelParameters, R),
        };
        return redacted with
        {
            Redaction = new LlmRedactionSummary { MessageLogging = payload.Redaction?.MessageLogging ?? payload.Messages is not null, Entities = counts },
        };
    }

    private static LlmToolCall[]? RedactCalls(IReadOnlyList<LlmToolCall>? calls, Func<string?, string?> redact) =>
        calls?.Select(c => c with { Arguments = redact(c.Arguments) }).ToArray();

    /// <summary>String parameters can carry PII too (OpenAI's <c>user</c>, Anthropic's <c>user_id</c>).</summary>
    private static Dictionary<string, JsonElement>? RedactParameters(IReadOnlyDictionary<string, JsonElement>? parameters, Func<string?, string?> redact)
    {
        if (parameters is null) return null;
        var result = new Dictionary<string, JsonElement>(parameters.Count, StringComparer.Ordinal);
        foreach (var (key, value) in parameters)
        {
            if (value.ValueKind != JsonValueKind.String)
            {
                result[key] = value;
                continue;
            }
            string? text;
            try
            {
                text = value.GetString();
            }
            catch (InvalidOperationException)
            {
                // Not valid UTF-8, so it cannot be checked for PII: it is not kept.
                result[key] = JsonSerializer.SerializeToElement("[unreadable text]", ProviderJsonContext.Default.String);
                continue;
            }
            var redacted = redact(text);
            result[key] = ReferenceEquals(redacted, text) ? value : JsonSerializer.SerializeToElement(redacted, ProviderJsonContext.Default.String);
        }
        return result;
    }

    /// <summary>Replaces data URIs and long base64 runs with a note of their size. Returns the same string when there are none.</summary>
    internal string StripInlineData(string text)
    {
        if (_maxInline <= 0 || text.Length <= _maxInline) return text;
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
            var before = text.AsSpan(from, probe - from).LastIndexOfAnyExcept(Base64Chars);
            var start = before < 0 ? from : from + before + 1;
            var after = text.AsSpan(probe).IndexOfAnyExcept(Base64Chars);
            var end = after < 0 ? text.Length : probe + after;
            if (end - start > _maxInline)
            {
                // Include a "data:<mime>;base64," prefix just before the run in what is replaced.
                var noteStart = start;
                string note;
                var prefixAt = text.LastIndexOf("data:", start, Math.Min(start + 1, 128), StringComparison.Ordinal);
                // (Not inside the run replaced just before: "…AAAAdata:image/png;base64,BBBB…" keeps its first run whole.)
                if (prefixAt >= copied && text.AsSpan(prefixAt, start - prefixAt).EndsWith(";base64,", StringComparison.Ordinal))
                {
                    noteStart = prefixAt;
                    note = $"[{text[prefixAt..(start - 1)]}, {Size(end - start)}]";
                }
                else
                {
                    note = $"[base64, {Size(end - start)}]";
                }
                output ??= new StringBuilder(text.Length);
                output.Append(text, copied, noteStart - copied).Append(note);
                copied = end;
            }
            from = end + 1;
        }
        if (output is null) return text;
        output.Append(text, copied, text.Length - copied);
        return output.ToString();
    }

    private static string Size(int base64Chars)
    {
        var bytes = base64Chars * 3 / 4;
        return bytes >= 1024 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KB") : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");
    }
}
