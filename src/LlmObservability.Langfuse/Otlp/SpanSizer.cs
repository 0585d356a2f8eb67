using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Unicode;

namespace LlmObservability.Langfuse.Otlp;

/// <summary>One span to send, with the payload it came from.</summary>
internal sealed record PlannedSpan(object Source, EncodedSpan Span);

/// <summary>
/// Keeps every request within a byte limit: <see cref="Fit"/> shortens the largest string values of a span that would
/// not fit even alone (with a marker saying so), and <see cref="Plan"/> packs spans into as few requests as the limit allows.
/// </summary>
internal static class SpanSizer
{
    private const int MarkerAllowance = 160;
    private const int SmallestWorthCutting = 256;
    private const int MaxRounds = 32;

    /// <summary>
    /// Encodes <paramref name="span"/>, first truncating its largest string values (input, output, …) until the span
    /// fits in a request of <paramref name="maxRequestBytes"/> on its own. Returns the encoded span and whether anything
    /// was truncated. Truncated values end with <c>… [truncated by LlmObservability.Langfuse: …]</c>, and the span gets
    /// a <c>langfuse.observation.metadata.truncated</c> attribute naming them.
    /// </summary>
    public static (byte[] Body, bool Truncated) Fit(OtlpSpan span, int maxRequestBytes)
    {
        var limit = maxRequestBytes - OtlpTraceEncoder.ServiceOverhead(span.ServiceName);
        if (OtlpTraceEncoder.SpanFieldSize(OtlpTraceEncoder.SpanBodySize(span)) <= limit) return (OtlpTraceEncoder.EncodeSpan(span), false);

        var truncated = new List<string>();
        var originals = new Dictionary<int, string>(); // what each shortened value was, so a second round cuts the original again
        for (var round = 0; round < MaxRounds; round++)
        {
            var size = OtlpTraceEncoder.SpanFieldSize(OtlpTraceEncoder.SpanBodySize(span));
            if (size <= limit) break;

            // The large string values (almost always input and output) share what the rest of the span leaves: the
            // largest are cut down to a common cap, so that each keeps a readable beginning.
            var candidates = new List<(int Index, int Bytes)>(); // index -1: the status message
            for (var i = 0; i < span.Attributes.Count; i++)
            {
                var count = span.Attributes[i].StringByteCount;
                if (count >= SmallestWorthCutting && span.Attributes[i].Key != LangfuseSpanMapper.TruncatedAttribute) candidates.Add((i, count));
            }
            var statusBytes = span.StatusMessage is null ? 0 : Encoding.UTF8.GetByteCount(span.StatusMessage);
            if (statusBytes >= SmallestWorthCutting) candidates.Add((-1, statusBytes));
            if (candidates.Count == 0) break; // nothing big is left: send as is

            var budget = limit - (size - candidates.Sum(c => c.Bytes)) - (candidates.Count * MarkerAllowance);
            var cap = WaterLevel(candidates.Select(c => c.Bytes), Math.Max(0, budget));
            foreach (var (index, bytes) in candidates)
            {
                if (bytes <= cap) continue;
                if (index < 0)
                {
                    var original = originals.TryGetValue(index, out var kept) ? kept : originals[index] = span.StatusMessage!;
                    span.StatusMessage = Truncate(original, cap);
                    Note(truncated, "status_message");
                }
                else
                {
                    var attribute = span.Attributes[index];
                    var original = originals.TryGetValue(index, out var kept) ? kept : originals[index] = attribute.Value.StringValue!;
                    span.Attributes[index] = attribute with { Value = OtlpValue.String(Truncate(original, cap)) };
                    Note(truncated, attribute.Key);
                }
            }
            SetTruncatedAttribute(span, truncated);
        }
        return (OtlpTraceEncoder.EncodeSpan(span), truncated.Count > 0);
    }

    /// <summary>The largest cap such that the sizes, each limited to it, add up to at most <paramref name="budget"/>.</summary>
    internal static int WaterLevel(IEnumerable<int> sizes, int budget)
    {
        var sorted = sizes.Order().ToArray();
        var remaining = (long)budget;
        for (var i = 0; i < sorted.Length; i++)
        {
            var left = sorted.Length - i;
            if ((long)sorted[i] * left > remaining) return (int)(remaining / left);
            remaining -= sorted[i];
        }
        return sorted.Length == 0 ? budget : sorted[^1];
    }

    /// <summary>
    /// Packs spans, in order, into requests whose encoded size stays within <paramref name="maxRequestBytes"/> (counting
    /// each service's resource and scope once per request). A span too large even alone gets a request of its own.
    /// </summary>
    public static List<List<PlannedSpan>> Plan(IReadOnlyList<PlannedSpan> spans, int maxRequestBytes)
    {
        var requests = new List<List<PlannedSpan>>();
        var current = new List<PlannedSpan>();
        var services = new HashSet<string>(StringComparer.Ordinal);
        long size = 0;
        foreach (var span in spans)
        {
            var add = Cost(span);
            if (current.Count > 0 && size + add > maxRequestBytes)
            {
                requests.Add(current);
                current = [];
                services.Clear();
                size = 0;
                add = Cost(span);
            }
            current.Add(span);
            services.Add(span.Span.ServiceName);
            size += add;
        }
        if (current.Count > 0) requests.Add(current);
        return requests;

        long Cost(PlannedSpan span) =>
            OtlpTraceEncoder.SpanFieldSize(span.Span.Body.Length)
            + (services.Contains(span.Span.ServiceName) ? 0 : OtlpTraceEncoder.ServiceOverhead(span.Span.ServiceName));
    }

    /// <summary>
    /// The longest prefix of <paramref name="value"/> whose UTF-8 form has at most <paramref name="keepBytes"/> bytes
    /// (never splitting a character), followed by a marker giving the original and kept sizes.
    /// </summary>
    internal static string Truncate(string value, int keepBytes)
    {
        var original = Encoding.UTF8.GetByteCount(value);
        keepBytes = Math.Clamp(keepBytes, 0, original);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(keepBytes, 1));
        try
        {
            // Utf8.FromUtf16 stops before a character that does not fit, so surrogate pairs are never split.
            Utf8.FromUtf16(value, buffer.AsSpan(0, keepBytes), out var charsRead, out var bytesWritten, replaceInvalidSequences: true, isFinalBlock: true);
            return string.Create(CultureInfo.InvariantCulture, $"{value.AsSpan(0, charsRead)}… [truncated by LlmObservability.Langfuse: {original} bytes, first {bytesWritten} kept]");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Note(List<string> truncated, string key)
    {
        var name = key.StartsWith("langfuse.observation.", StringComparison.Ordinal) ? key["langfuse.observation.".Length..] : key;
        if (!truncated.Contains(name)) truncated.Add(name);
    }

    private static void SetTruncatedAttribute(OtlpSpan span, List<string> truncated)
    {
        var value = new OtlpAttribute(LangfuseSpanMapper.TruncatedAttribute, OtlpValue.String(string.Join(",", truncated)));
        var index = span.Attributes.FindIndex(a => a.Key == LangfuseSpanMapper.TruncatedAttribute);
        if (index >= 0) span.Attributes[index] = value;
        else span.Attributes.Add(value);
    }
}
