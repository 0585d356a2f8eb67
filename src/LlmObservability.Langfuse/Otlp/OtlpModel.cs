using System.Text;

namespace LlmObservability.Langfuse.Otlp;

/// <summary>The kinds of <c>AnyValue</c> this exporter sends.</summary>
internal enum OtlpValueKind
{
    String,
    Bool,
    Int,
    Double,
    Array,
}

/// <summary>An OTLP <c>AnyValue</c>: a string, bool, int64, double, or an array of those.</summary>
internal sealed class OtlpValue
{
    private OtlpValue(OtlpValueKind kind) => Kind = kind;

    public OtlpValueKind Kind { get; }

    public string? StringValue { get; private init; }

    public bool BoolValue { get; private init; }

    public long IntValue { get; private init; }

    public double DoubleValue { get; private init; }

    public IReadOnlyList<OtlpValue>? ArrayValue { get; private init; }

    public static OtlpValue String(string value) => new(OtlpValueKind.String) { StringValue = value };

    public static OtlpValue Bool(bool value) => new(OtlpValueKind.Bool) { BoolValue = value };

    public static OtlpValue Int(long value) => new(OtlpValueKind.Int) { IntValue = value };

    public static OtlpValue Double(double value) => new(OtlpValueKind.Double) { DoubleValue = value };

    public static OtlpValue Array(IReadOnlyList<OtlpValue> values) => new(OtlpValueKind.Array) { ArrayValue = values };

    public static OtlpValue StringArray(IEnumerable<string> values) => Array([.. values.Select(String)]);

    public override string ToString() => Kind switch
    {
        OtlpValueKind.String => StringValue!,
        OtlpValueKind.Bool => BoolValue ? "true" : "false",
        OtlpValueKind.Int => IntValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        OtlpValueKind.Double => DoubleValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => "[" + string.Join(", ", ArrayValue!.Select(v => v.ToString())) + "]",
    };
}

/// <summary>An OTLP <c>KeyValue</c>.</summary>
internal sealed record OtlpAttribute(string Key, OtlpValue Value)
{
    /// <summary>UTF-8 size of a string value, 0 for other kinds: what truncation looks at.</summary>
    public int StringByteCount => Value.Kind == OtlpValueKind.String ? Encoding.UTF8.GetByteCount(Value.StringValue!) : 0;
}

/// <summary>OTLP <c>Span.SpanKind</c> values used here.</summary>
internal enum OtlpSpanKind
{
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
}

/// <summary>OTLP <c>Status.StatusCode</c>.</summary>
internal enum OtlpStatusCode
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}

/// <summary>One OTLP span, ready to encode.</summary>
internal sealed class OtlpSpan
{
    /// <summary>16 bytes.</summary>
    public required byte[] TraceId { get; init; }

    /// <summary>8 bytes.</summary>
    public required byte[] SpanId { get; init; }

    /// <summary>8 bytes, or null for a root span.</summary>
    public byte[]? ParentSpanId { get; init; }

    public required string Name { get; init; }

    public OtlpSpanKind Kind { get; init; } = OtlpSpanKind.Client;

    public ulong StartTimeUnixNano { get; init; }

    public ulong EndTimeUnixNano { get; init; }

    public List<OtlpAttribute> Attributes { get; } = [];

    public OtlpStatusCode StatusCode { get; init; }

    public string? StatusMessage { get; set; }

    /// <summary>The <c>service.name</c> resource attribute this span is sent under.</summary>
    public required string ServiceName { get; init; }

    public OtlpValue? GetAttribute(string key)
    {
        foreach (var attribute in Attributes)
        {
            if (attribute.Key == key) return attribute.Value;
        }
        return null;
    }
}
