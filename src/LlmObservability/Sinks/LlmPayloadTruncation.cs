using System.Globalization;
using System.Text;
using LlmObservability.Payload;

namespace LlmObservability.Sinks;

/// <summary>
/// Fits one payload into a size limit for sinks whose destination caps a request or object: the longest text fields
/// (message contents, tool-call arguments, response text, reasoning, refusal, error body and message) are cut from
/// their end and marked with <c>…[truncated N bytes]</c>, longest first, until the serialized payload fits. Nothing else
/// is touched, and the shared payload is never changed: a trimmed copy is returned.
/// </summary>
public static class LlmPayloadTruncation
{
    /// <summary>The marker that replaces cut text, for <paramref name="removedBytes"/> UTF-8 bytes removed.</summary>
    public static string Marker(long removedBytes) =>
        string.Create(CultureInfo.InvariantCulture, $"…[truncated {removedBytes} bytes]");

    /// <summary>
    /// Serializes <paramref name="payload"/> with <paramref name="serialize"/>; when the result is longer than
    /// <paramref name="maxBytes"/>, cuts text fields (no more than needed) and serializes again until it fits. If it
    /// still does not fit with every text field cut, that smallest form is returned (the destination then decides),
    /// never nothing.
    /// </summary>
    /// <param name="payload">The payload to write.</param>
    /// <param name="maxBytes">The most bytes the serialized payload may take.</param>
    /// <param name="serialize">The sink's own serialization (its field names and framing decide the size).</param>
    /// <param name="truncated">True when text was cut.</param>
    /// <returns>The serialized payload.</returns>
    public static byte[] SerializeWithin(StandardLoggingPayload payload, int maxBytes, Func<StandardLoggingPayload, byte[]> serialize, out bool truncated)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(serialize);
        truncated = false;
        var bytes = serialize(payload);
        if (bytes.Length <= maxBytes) return bytes;
        long available = TextField.Collect(payload).Sum(f => (long)f.Text.Length);
        if (available == 0) return bytes;

        // Find a cut (in characters) that fits, then narrow it down so no more is cut than needed. A character is at
        // least one byte of JSON, so the excess in bytes is a first guess that fits for plain text; escaped text
        // (non-ASCII as \uXXXX) takes several bytes a character, and the search corrects for it.
        long tooSmall = 0;
        long fits = -1;
        byte[]? best = null;
        var smallest = bytes;
        var cut = Math.Min(bytes.Length - (long)maxBytes, available);
        for (var round = 0; round < 40; round++)
        {
            TryTruncate(payload, cut, out var smaller);
            var candidate = serialize(smaller);
            if (candidate.Length < smallest.Length) smallest = candidate;
            if (candidate.Length <= maxBytes)
            {
                fits = cut;
                best = candidate;
            }
            else
            {
                tooSmall = cut;
            }

            if (fits < 0)
            {
                if (cut >= available) break; // even with every text field cut it does not fit
                cut = Math.Min(available, Math.Max(cut * 2, cut + (candidate.Length - maxBytes)));
            }
            else
            {
                if (fits - tooSmall <= Math.Max(16, fits / 128)) break;
                cut = tooSmall + ((fits - tooSmall) / 2);
            }
        }
        truncated = true;
        return best ?? smallest;
    }

    /// <summary>
    /// Makes a copy of <paramref name="payload"/> with at least <paramref name="characters"/> characters of text removed
    /// (net of the markers added), cutting the longest fields first. Returns false when the payload has too little text
    /// left to remove that much; <paramref name="truncated"/> then holds the copy with every text field cut to its marker.
    /// </summary>
    public static bool TryTruncate(StandardLoggingPayload payload, long characters, out StandardLoggingPayload truncated)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var fields = TextField.Collect(payload);
        var cuts = new Dictionary<int, int>(); // field index → characters kept
        var need = characters;
        while (need > 0)
        {
            var longest = -1;
            var longestLength = 0;
            for (var i = 0; i < fields.Count; i++)
            {
                var length = cuts.TryGetValue(i, out var kept) ? kept : fields[i].Text.Length;
                if (length > longestLength)
                {
                    longest = i;
                    longestLength = length;
                }
            }
            if (longest < 0) break;

            var field = fields[longest].Text;
            // Enough to cover what is still needed plus this field's marker (its digits included).
            var take = (int)Math.Min(longestLength, need + MarkerReserve);
            var keep = longestLength - take;
            if (keep > 0 && char.IsHighSurrogate(field[keep - 1])) keep--; // never split a surrogate pair
            var alreadyCut = cuts.ContainsKey(longest);
            cuts[longest] = keep;
            need -= longestLength - keep - (alreadyCut ? 0 : MarkerReserve);
        }

        if (cuts.Count == 0)
        {
            truncated = payload;
            return false;
        }
        var replacements = new Dictionary<int, string>(cuts.Count);
        foreach (var (index, keep) in cuts)
        {
            var text = fields[index].Text;
            replacements[index] = string.Concat(text.AsSpan(0, keep), Marker(Encoding.UTF8.GetByteCount(text.AsSpan(keep))));
        }
        truncated = TextField.Apply(payload, replacements);
        return need <= 0;
    }

    // A marker is at most "…[truncated 9999999999 bytes]": 30 characters.
    private const int MarkerReserve = 30;

    /// <summary>One text field of a payload, found in a fixed order so that <see cref="Apply"/> can find it again.</summary>
    private readonly record struct TextField(string Text)
    {
        public static List<TextField> Collect(StandardLoggingPayload payload)
        {
            var fields = new List<TextField>();
            Visit(payload, (text, _) =>
            {
                fields.Add(new TextField(text ?? ""));
                return text;
            });
            return fields;
        }

        public static StandardLoggingPayload Apply(StandardLoggingPayload payload, Dictionary<int, string> replacements) =>
            Visit(payload, (text, index) => replacements.TryGetValue(index, out var replacement) ? replacement : text);

        /// <summary>
        /// Walks every cuttable text field in order, passing (text, index) to <paramref name="map"/>, and rebuilds the
        /// parts whose text changed. Null fields get an index too, so indexes match between the two walks.
        /// </summary>
        private static StandardLoggingPayload Visit(StandardLoggingPayload payload, Func<string?, int, string?> map)
        {
            var index = 0;
            string? Next(string? text) => map(text, index++);

            var messages = payload.Messages;
            if (messages is not null)
            {
                LlmMessage[]? copy = null;
                for (var i = 0; i < messages.Count; i++)
                {
                    var message = messages[i];
                    var content = Next(message.Content);
                    var toolCalls = MapToolCalls(message.ToolCalls, Next);
                    if (!ReferenceEquals(content, message.Content) || !ReferenceEquals(toolCalls, message.ToolCalls))
                    {
                        copy ??= [.. messages];
                        copy[i] = message with { Content = content, ToolCalls = toolCalls };
                    }
                }
                if (copy is not null) payload = payload with { Messages = copy };
            }

            if (payload.Response is { } response)
            {
                var text = Next(response.Text);
                var reasoning = Next(response.Reasoning);
                var refusal = Next(response.Refusal);
                if (!ReferenceEquals(text, response.Text) || !ReferenceEquals(reasoning, response.Reasoning) || !ReferenceEquals(refusal, response.Refusal))
                {
                    payload = payload with { Response = response with { Text = text, Reasoning = reasoning, Refusal = refusal } };
                }
            }

            var calls = MapToolCalls(payload.ToolCalls, Next);
            if (!ReferenceEquals(calls, payload.ToolCalls)) payload = payload with { ToolCalls = calls };

            if (payload.Error is { } error)
            {
                var body = Next(error.Body);
                var message = Next(error.Message);
                if (!ReferenceEquals(body, error.Body) || !ReferenceEquals(message, error.Message))
                {
                    payload = payload with { Error = error with { Body = body, Message = message } };
                }
            }
            return payload;
        }

        private static IReadOnlyList<LlmToolCall>? MapToolCalls(IReadOnlyList<LlmToolCall>? calls, Func<string?, string?> next)
        {
            if (calls is null) return null;
            LlmToolCall[]? copy = null;
            for (var i = 0; i < calls.Count; i++)
            {
                var arguments = next(calls[i].Arguments);
                if (!ReferenceEquals(arguments, calls[i].Arguments))
                {
                    copy ??= [.. calls];
                    copy[i] = calls[i] with { Arguments = arguments };
                }
            }
            return copy ?? calls;
        }
    }
}
