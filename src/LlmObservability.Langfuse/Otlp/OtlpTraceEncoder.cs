using System.Reflection;

namespace LlmObservability.Langfuse.Otlp;

/// <summary>A span already encoded as an OTLP <c>Span</c> message body, with the service it belongs to.</summary>
internal sealed record EncodedSpan(string ServiceName, byte[] Body);

/// <summary>
/// Encodes OTLP/protobuf trace export requests by hand: <c>ExportTraceServiceRequest</c> → <c>ResourceSpans</c>
/// (one per <c>service.name</c>) → <c>ScopeSpans</c> → <c>Span</c>, with attributes of string, bool, int64, double and
/// array values. Field numbers are those of opentelemetry-proto's <c>collector/trace/v1/trace_service.proto</c>,
/// <c>trace/v1/trace.proto</c>, <c>resource/v1/resource.proto</c> and <c>common/v1/common.proto</c>; the tests decode the
/// output with code generated from those files.
/// </summary>
internal static class OtlpTraceEncoder
{
    // ExportTraceServiceRequest
    private const int RequestResourceSpans = 1;

    // ResourceSpans
    private const int ResourceSpansResource = 1;
    private const int ResourceSpansScopeSpans = 2;

    // Resource
    private const int ResourceAttributes = 1;

    // ScopeSpans
    private const int ScopeSpansScope = 1;
    private const int ScopeSpansSpans = 2;

    // InstrumentationScope
    private const int ScopeName = 1;
    private const int ScopeVersion = 2;

    // Span
    private const int SpanTraceId = 1;
    private const int SpanSpanId = 2;
    private const int SpanParentSpanId = 4;
    private const int SpanName = 5;
    private const int SpanKind = 6;
    private const int SpanStartTime = 7;
    private const int SpanEndTime = 8;
    private const int SpanAttributes = 9;
    private const int SpanStatus = 15;

    // Status
    private const int StatusMessage = 2;
    private const int StatusCode = 3;

    // KeyValue
    private const int KeyValueKey = 1;
    private const int KeyValueValue = 2;

    // AnyValue (oneof)
    private const int AnyValueString = 1;
    private const int AnyValueBool = 2;
    private const int AnyValueInt = 3;
    private const int AnyValueDouble = 4;
    private const int AnyValueArray = 5;

    // ArrayValue
    private const int ArrayValueValues = 1;

    /// <summary>The instrumentation scope every span is sent under.</summary>
    public const string InstrumentationScopeName = "LlmObservability.Langfuse";

    /// <summary>This package's version, without the source-revision suffix.</summary>
    public static readonly string Version = ReadVersion();

    private static string ReadVersion()
    {
        var informational = typeof(OtlpTraceEncoder).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(informational)) return typeof(OtlpTraceEncoder).Assembly.GetName().Version?.ToString() ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? informational : informational[..plus];
    }

    /// <summary>The resource attributes of the spans of one service.</summary>
    public static IReadOnlyList<OtlpAttribute> ResourceAttributesFor(string serviceName) =>
    [
        new("service.name", OtlpValue.String(serviceName)),
        new("telemetry.sdk.name", OtlpValue.String("LlmObservability")),
        new("telemetry.sdk.language", OtlpValue.String("dotnet")),
        new("telemetry.sdk.version", OtlpValue.String(Version)),
    ];

    /// <summary>The encoded size of a <c>Span</c> message body.</summary>
    public static int SpanBodySize(OtlpSpan span)
    {
        var size = ProtobufSize.LengthDelimitedField(SpanTraceId, span.TraceId.Length)
            + ProtobufSize.LengthDelimitedField(SpanSpanId, span.SpanId.Length)
            + ProtobufSize.StringField(SpanName, span.Name)
            + ProtobufSize.VarintField(SpanKind, (int)span.Kind)
            + ProtobufSize.Fixed64Field(SpanStartTime)
            + ProtobufSize.Fixed64Field(SpanEndTime);
        if (span.ParentSpanId is { } parent) size += ProtobufSize.LengthDelimitedField(SpanParentSpanId, parent.Length);
        foreach (var attribute in span.Attributes) size += ProtobufSize.LengthDelimitedField(SpanAttributes, KeyValueSize(attribute));
        if (HasStatus(span)) size += ProtobufSize.LengthDelimitedField(SpanStatus, StatusSize(span));
        return size;
    }

    /// <summary>What one span adds to a request: its <c>ScopeSpans.spans</c> field.</summary>
    public static int SpanFieldSize(int bodyLength) => ProtobufSize.LengthDelimitedField(ScopeSpansSpans, bodyLength);

    /// <summary>
    /// An upper bound of what one service's <c>ResourceSpans</c> adds to a request besides its spans: the resource, the
    /// scope, and the tags and length prefixes of the three nested messages (at most 5 bytes each for lengths below 32 GiB).
    /// </summary>
    public static int ServiceOverhead(string serviceName)
    {
        var resource = ResourceBodySize(serviceName);
        var scope = ScopeBodySize();
        return (3 * (1 + 5)) + ProtobufSize.LengthDelimitedField(ResourceSpansResource, resource) + ProtobufSize.LengthDelimitedField(ScopeSpansScope, scope);
    }

    /// <summary>Encodes one <c>Span</c> message body.</summary>
    public static byte[] EncodeSpan(OtlpSpan span)
    {
        var buffer = new byte[SpanBodySize(span)];
        var writer = new ProtobufWriter(buffer);
        writer.WriteBytesField(SpanTraceId, span.TraceId);
        writer.WriteBytesField(SpanSpanId, span.SpanId);
        if (span.ParentSpanId is { } parent) writer.WriteBytesField(SpanParentSpanId, parent);
        writer.WriteStringField(SpanName, span.Name);
        writer.WriteVarintField(SpanKind, (int)span.Kind);
        writer.WriteFixed64Field(SpanStartTime, span.StartTimeUnixNano);
        writer.WriteFixed64Field(SpanEndTime, span.EndTimeUnixNano);
        foreach (var attribute in span.Attributes) WriteKeyValue(ref writer, SpanAttributes, attribute);
        if (HasStatus(span))
        {
            writer.WriteMessageHeader(SpanStatus, StatusSize(span));
            if (!string.IsNullOrEmpty(span.StatusMessage)) writer.WriteStringField(StatusMessage, span.StatusMessage);
            if (span.StatusCode != OtlpStatusCode.Unset) writer.WriteVarintField(StatusCode, (int)span.StatusCode);
        }
        Check(writer.Position, buffer.Length);
        return buffer;
    }

    /// <summary>
    /// Encodes an <c>ExportTraceServiceRequest</c> holding <paramref name="spans"/>: one <c>ResourceSpans</c> per
    /// service, in order of first appearance, each with one <c>ScopeSpans</c>.
    /// </summary>
    public static byte[] EncodeRequest(IReadOnlyList<EncodedSpan> spans)
    {
        var groups = spans.GroupBy(s => s.ServiceName, StringComparer.Ordinal).ToArray();
        var sizes = new (int Resource, int Scope, int ScopeSpans, int ResourceSpans)[groups.Length];
        var total = 0;
        for (var i = 0; i < groups.Length; i++)
        {
            var resource = ResourceBodySize(groups[i].Key);
            var scope = ScopeBodySize();
            var scopeSpans = ProtobufSize.LengthDelimitedField(ScopeSpansScope, scope) + groups[i].Sum(s => SpanFieldSize(s.Body.Length));
            var resourceSpans = ProtobufSize.LengthDelimitedField(ResourceSpansResource, resource) + ProtobufSize.LengthDelimitedField(ResourceSpansScopeSpans, scopeSpans);
            sizes[i] = (resource, scope, scopeSpans, resourceSpans);
            total += ProtobufSize.LengthDelimitedField(RequestResourceSpans, resourceSpans);
        }

        var buffer = new byte[total];
        var writer = new ProtobufWriter(buffer);
        for (var i = 0; i < groups.Length; i++)
        {
            var (resource, scope, scopeSpans, resourceSpans) = sizes[i];
            writer.WriteMessageHeader(RequestResourceSpans, resourceSpans);
            writer.WriteMessageHeader(ResourceSpansResource, resource);
            foreach (var attribute in ResourceAttributesFor(groups[i].Key)) WriteKeyValue(ref writer, ResourceAttributes, attribute);
            writer.WriteMessageHeader(ResourceSpansScopeSpans, scopeSpans);
            writer.WriteMessageHeader(ScopeSpansScope, scope);
            writer.WriteStringField(ScopeName, InstrumentationScopeName);
            writer.WriteStringField(ScopeVersion, Version);
            foreach (var span in groups[i]) writer.WriteBytesField(ScopeSpansSpans, span.Body);
        }
        Check(writer.Position, buffer.Length);
        return buffer;
    }

    private static int ResourceBodySize(string serviceName) =>
        ResourceAttributesFor(serviceName).Sum(a => ProtobufSize.LengthDelimitedField(ResourceAttributes, KeyValueSize(a)));

    private static int ScopeBodySize() =>
        ProtobufSize.StringField(ScopeName, InstrumentationScopeName) + ProtobufSize.StringField(ScopeVersion, Version);

    private static bool HasStatus(OtlpSpan span) => span.StatusCode != OtlpStatusCode.Unset || !string.IsNullOrEmpty(span.StatusMessage);

    private static int StatusSize(OtlpSpan span) =>
        (string.IsNullOrEmpty(span.StatusMessage) ? 0 : ProtobufSize.StringField(StatusMessage, span.StatusMessage))
        + (span.StatusCode == OtlpStatusCode.Unset ? 0 : ProtobufSize.VarintField(StatusCode, (int)span.StatusCode));

    private static int KeyValueSize(OtlpAttribute attribute) =>
        ProtobufSize.StringField(KeyValueKey, attribute.Key) + ProtobufSize.LengthDelimitedField(KeyValueValue, AnyValueSize(attribute.Value));

    private static int AnyValueSize(OtlpValue value) => value.Kind switch
    {
        OtlpValueKind.String => ProtobufSize.StringField(AnyValueString, value.StringValue!),
        OtlpValueKind.Bool => ProtobufSize.VarintField(AnyValueBool, value.BoolValue ? 1 : 0),
        OtlpValueKind.Int => ProtobufSize.VarintField(AnyValueInt, value.IntValue),
        OtlpValueKind.Double => ProtobufSize.Fixed64Field(AnyValueDouble),
        _ => ProtobufSize.LengthDelimitedField(AnyValueArray, ArrayValueSize(value.ArrayValue!)),
    };

    private static int ArrayValueSize(IReadOnlyList<OtlpValue> values) =>
        values.Sum(v => ProtobufSize.LengthDelimitedField(ArrayValueValues, AnyValueSize(v)));

    private static void WriteKeyValue(ref ProtobufWriter writer, int fieldNumber, OtlpAttribute attribute)
    {
        writer.WriteMessageHeader(fieldNumber, KeyValueSize(attribute));
        writer.WriteStringField(KeyValueKey, attribute.Key);
        writer.WriteMessageHeader(KeyValueValue, AnyValueSize(attribute.Value));
        WriteAnyValueField(ref writer, attribute.Value);
    }

    private static void WriteAnyValueField(ref ProtobufWriter writer, OtlpValue value)
    {
        switch (value.Kind)
        {
            case OtlpValueKind.String:
                writer.WriteStringField(AnyValueString, value.StringValue!);
                break;
            case OtlpValueKind.Bool:
                writer.WriteVarintField(AnyValueBool, value.BoolValue ? 1 : 0);
                break;
            case OtlpValueKind.Int:
                writer.WriteVarintField(AnyValueInt, value.IntValue);
                break;
            case OtlpValueKind.Double:
                writer.WriteDoubleField(AnyValueDouble, value.DoubleValue);
                break;
            default:
                writer.WriteMessageHeader(AnyValueArray, ArrayValueSize(value.ArrayValue!));
                foreach (var item in value.ArrayValue!)
                {
                    writer.WriteMessageHeader(ArrayValueValues, AnyValueSize(item));
                    WriteAnyValueField(ref writer, item);
                }
                break;
        }
    }

    private static void Check(int written, int expected)
    {
        // A mismatch would mean a size function and a write function disagree: a bug here, never bad input.
        if (written != expected) throw new InvalidOperationException($"OTLP encoder wrote {written} bytes where {expected} were computed.");
    }
}
