using System.Text;
using Google.Protobuf;
using LlmObservability.Langfuse.Otlp;
using Opentelemetry.Proto.Collector.Trace.V1;
using Opentelemetry.Proto.Common.V1;
using Opentelemetry.Proto.Trace.V1;

namespace LlmObservability.Langfuse.Tests;

/// <summary>The hand-written protobuf encoder against Google.Protobuf and the opentelemetry-proto definitions.</summary>
public class OtlpEncoderTests
{
    private static OtlpSpan SampleSpan(string service = "checkout-api")
    {
        var span = new OtlpSpan
        {
            TraceId = Convert.FromHexString("0af7651916cd43dd8448eb211c80319c"),
            SpanId = Convert.FromHexString("b7ad6b7169203331"),
            ParentSpanId = Convert.FromHexString("00f067aa0ba902b7"),
            Name = "chat gpt-4o-mini",
            StartTimeUnixNano = 1_795_860_000_123_000_000,
            EndTimeUnixNano = 1_795_860_001_623_000_000,
            StatusCode = OtlpStatusCode.Error,
            StatusMessage = "HTTP 500: boom",
            ServiceName = service,
        };
        span.Attributes.Add(new("text", OtlpValue.String("Zürich 🌦 \u4e2d\u6587")));
        span.Attributes.Add(new("empty", OtlpValue.String("")));
        span.Attributes.Add(new("yes", OtlpValue.Bool(true)));
        span.Attributes.Add(new("no", OtlpValue.Bool(false)));
        span.Attributes.Add(new("zero", OtlpValue.Int(0)));
        span.Attributes.Add(new("negative", OtlpValue.Int(-1)));
        span.Attributes.Add(new("max", OtlpValue.Int(long.MaxValue)));
        span.Attributes.Add(new("min", OtlpValue.Int(long.MinValue)));
        span.Attributes.Add(new("temperature", OtlpValue.Double(0.2)));
        span.Attributes.Add(new("negative_zero", OtlpValue.Double(-0.0)));
        span.Attributes.Add(new("tags", OtlpValue.StringArray(["a", "b"])));
        span.Attributes.Add(new("mixed", OtlpValue.Array([OtlpValue.Int(1), OtlpValue.Double(1.5), OtlpValue.Bool(true), OtlpValue.Array([OtlpValue.String("nested")])])));
        span.Attributes.Add(new("none", OtlpValue.Array([])));
        span.Attributes.Add(new("big", OtlpValue.String(new string('x', 70_000)))); // a length that needs a three-byte varint
        return span;
    }

    [Test]
    public void A_request_decodes_with_the_generated_OTLP_types_and_matches_their_encoding_byte_for_byte()
    {
        var first = SampleSpan();
        var second = SampleSpan("billing");
        var bytes = OtlpTraceEncoder.EncodeRequest(
        [
            new EncodedSpan(first.ServiceName, OtlpTraceEncoder.EncodeSpan(first)),
            new EncodedSpan(second.ServiceName, OtlpTraceEncoder.EncodeSpan(second)),
            new EncodedSpan(first.ServiceName, OtlpTraceEncoder.EncodeSpan(first)),
        ]);

        var request = ExportTraceServiceRequest.Parser.ParseFrom(bytes);

        // Google.Protobuf writes fields in field-number order with canonical lengths, as the hand-written encoder does.
        Assert.That(request.ToByteArray(), Is.EqualTo(bytes));
        Assert.That(request.ResourceSpans.Select(r => r.Resource.Attributes.Single(a => a.Key == "service.name").Value.StringValue), Is.EqualTo(new[] { "checkout-api", "billing" }));
        Assert.That(request.ResourceSpans[0].ScopeSpans.Single().Spans, Has.Count.EqualTo(2));
        var span = request.ResourceSpans[1].ScopeSpans.Single().Spans.Single();
        Assert.Multiple(() =>
        {
            Assert.That(span.TraceId.ToByteArray(), Is.EqualTo(second.TraceId));
            Assert.That(span.SpanId.ToByteArray(), Is.EqualTo(second.SpanId));
            Assert.That(span.ParentSpanId.ToByteArray(), Is.EqualTo(second.ParentSpanId));
            Assert.That(span.Name, Is.EqualTo("chat gpt-4o-mini"));
            Assert.That(span.Kind, Is.EqualTo(Span.Types.SpanKind.Client));
            Assert.That(span.StartTimeUnixNano, Is.EqualTo(1_795_860_000_123_000_000UL));
            Assert.That(span.EndTimeUnixNano, Is.EqualTo(1_795_860_001_623_000_000UL));
            Assert.That(span.Status.Code, Is.EqualTo(Status.Types.StatusCode.Error));
            Assert.That(span.Status.Message, Is.EqualTo("HTTP 500: boom"));
            var a = span.Attributes();
            Assert.That(a["text"].StringValue, Is.EqualTo("Zürich 🌦 \u4e2d\u6587"));
            Assert.That(a["empty"].ValueCase, Is.EqualTo(AnyValue.ValueOneofCase.StringValue));
            Assert.That(a["yes"].BoolValue, Is.True);
            Assert.That(a["no"].ValueCase, Is.EqualTo(AnyValue.ValueOneofCase.BoolValue));
            Assert.That(a["no"].BoolValue, Is.False);
            Assert.That(a["zero"].ValueCase, Is.EqualTo(AnyValue.ValueOneofCase.IntValue));
            Assert.That(a["negative"].IntValue, Is.EqualTo(-1));
            Assert.That(a["max"].IntValue, Is.EqualTo(long.MaxValue));
            Assert.That(a["min"].IntValue, Is.EqualTo(long.MinValue));
            Assert.That(a["temperature"].DoubleValue, Is.EqualTo(0.2));
            Assert.That(BitConverter.DoubleToInt64Bits(a["negative_zero"].DoubleValue), Is.EqualTo(BitConverter.DoubleToInt64Bits(-0.0)));
            Assert.That(a["tags"].ArrayValue.Values.Select(v => v.StringValue), Is.EqualTo(new[] { "a", "b" }));
            var mixed = a["mixed"].ArrayValue.Values;
            Assert.That((mixed[0].IntValue, mixed[1].DoubleValue, mixed[2].BoolValue, mixed[3].ArrayValue.Values.Single().StringValue), Is.EqualTo((1L, 1.5, true, "nested")));
            Assert.That(a["none"].ValueCase, Is.EqualTo(AnyValue.ValueOneofCase.ArrayValue));
            Assert.That(a["none"].ArrayValue.Values, Is.Empty);
            Assert.That(a["big"].StringValue, Has.Length.EqualTo(70_000));
        });
    }

    [Test]
    public void A_span_without_parent_or_status_leaves_those_fields_out()
    {
        var span = new OtlpSpan
        {
            TraceId = Convert.FromHexString("0af7651916cd43dd8448eb211c80319c"),
            SpanId = Convert.FromHexString("b7ad6b7169203331"),
            Name = "chat",
            StartTimeUnixNano = 1,
            EndTimeUnixNano = 2,
            ServiceName = "s",
        };
        var body = OtlpTraceEncoder.EncodeSpan(span);

        var decoded = Span.Parser.ParseFrom(body);

        Assert.That(decoded.ParentSpanId.IsEmpty, Is.True);
        Assert.That(decoded.Status, Is.Null);
        Assert.That(decoded.ToByteArray(), Is.EqualTo(body));
        Assert.That(OtlpTraceEncoder.SpanBodySize(span), Is.EqualTo(body.Length));
    }

    [TestCase(0UL, 1)]
    [TestCase(127UL, 1)]
    [TestCase(128UL, 2)]
    [TestCase(16_383UL, 2)]
    [TestCase(16_384UL, 3)]
    [TestCase(ulong.MaxValue, 10)]
    public void Varints_take_the_bytes_protobuf_says(ulong value, int expected)
    {
        Assert.That(ProtobufSize.Varint(value), Is.EqualTo(expected));
        Assert.That(CodedOutputStream.ComputeUInt64Size(value), Is.EqualTo(expected));
    }

    [Test]
    public void Planned_requests_never_exceed_the_limit_and_keep_the_order()
    {
        const int limit = 16 * 1024;
        var random = new Random(7);
        var spans = Enumerable.Range(0, 60).Select(i =>
        {
            var span = SampleSpan(i % 3 == 0 ? "billing" : "checkout-api");
            span.Attributes.RemoveAll(a => a.Key == "big");
            span.Attributes.Add(new("filler", OtlpValue.String(new string('y', random.Next(10, 6_000)))));
            return new PlannedSpan(i, new EncodedSpan(span.ServiceName, OtlpTraceEncoder.EncodeSpan(span)));
        }).ToArray();

        var requests = SpanSizer.Plan(spans, limit);

        Assert.That(requests.SelectMany(r => r).Select(s => (int)s.Source), Is.EqualTo(Enumerable.Range(0, 60)));
        foreach (var request in requests)
        {
            var size = OtlpTraceEncoder.EncodeRequest([.. request.Select(s => s.Span)]).Length;
            Assert.That(size, Is.LessThanOrEqualTo(limit));
        }
        for (var i = 0; i < requests.Count - 1; i++)
        {
            // Greedy: the next span would not have fitted into the previous request.
            var withNext = OtlpTraceEncoder.EncodeRequest([.. requests[i].Select(s => s.Span), requests[i + 1][0].Span]).Length;
            Assert.That(withNext, Is.GreaterThan(limit - (2 * OtlpTraceEncoder.ServiceOverhead("checkout-api"))));
        }
    }

    [Test]
    public void Fitting_cuts_the_largest_values_to_a_common_cap_and_says_what_it_cut()
    {
        const int limit = 20 * 1024;
        var span = SampleSpan();
        span.Attributes.RemoveAll(a => a.Key == "big");
        span.Attributes.Add(new("langfuse.observation.input", OtlpValue.String(new string('i', 50_000))));
        span.Attributes.Add(new("langfuse.observation.output", OtlpValue.String(new string('o', 30_000))));
        span.Attributes.Add(new("langfuse.observation.metadata.small", OtlpValue.String(new string('s', 2_000))));

        var (body, truncated) = SpanSizer.Fit(span, limit);

        Assert.That(truncated, Is.True);
        Assert.That(OtlpTraceEncoder.SpanFieldSize(body.Length) + OtlpTraceEncoder.ServiceOverhead(span.ServiceName), Is.LessThanOrEqualTo(limit));
        var a = Span.Parser.ParseFrom(body).Attributes();
        var input = a["langfuse.observation.input"].StringValue;
        var output = a["langfuse.observation.output"].StringValue;
        Assert.That(input, Does.StartWith("iiii").And.EndWith("[truncated by LlmObservability.Langfuse: 50000 bytes, first " + input.IndexOf('…', StringComparison.Ordinal) + " kept]"));
        Assert.That(output, Does.StartWith("oooo").And.Contain("30000 bytes"));
        Assert.That(input.IndexOf('…', StringComparison.Ordinal), Is.EqualTo(output.IndexOf('…', StringComparison.Ordinal)), "both cut to the same cap");
        Assert.That(a["langfuse.observation.metadata.small"].StringValue, Has.Length.EqualTo(2_000), "values below the cap are kept whole");
        Assert.That(a["langfuse.observation.metadata.truncated"].StringValue, Is.EqualTo("input,output"));
    }

    [Test]
    public void A_span_that_fits_is_encoded_untouched()
    {
        var span = SampleSpan();
        var (body, truncated) = SpanSizer.Fit(span, 4 * 1024 * 1024);
        Assert.That(truncated, Is.False);
        Assert.That(body, Is.EqualTo(OtlpTraceEncoder.EncodeSpan(SampleSpan())));
    }

    [Test]
    public void Truncation_never_splits_a_character()
    {
        var value = "ab😀cd"; // the emoji is 4 UTF-8 bytes and two UTF-16 chars
        Assert.That(SpanSizer.Truncate(value, 3), Does.StartWith("ab…"));
        Assert.That(SpanSizer.Truncate(value, 6), Does.StartWith("ab😀…"));
        Assert.That(SpanSizer.Truncate("ééé", 3), Does.StartWith("é…"));
        Assert.That(SpanSizer.Truncate(value, 3), Does.EndWith("[truncated by LlmObservability.Langfuse: 8 bytes, first 2 kept]"));
        Assert.That(() => Encoding.UTF8.GetBytes(SpanSizer.Truncate(value, 3)), Throws.Nothing);
    }

    [TestCase(new[] { 100, 1000, 5000 }, 2100, 1000)]
    [TestCase(new[] { 100, 1000, 5000 }, 1000, 450)]
    [TestCase(new[] { 100, 1000, 5000 }, 10_000, 5000)]
    [TestCase(new[] { 4000, 4000 }, 1000, 500)]
    [TestCase(new[] { 4000 }, 0, 0)]
    public void The_water_level_is_the_largest_common_cap_within_the_budget(int[] sizes, int budget, int expected)
    {
        Assert.That(SpanSizer.WaterLevel(sizes, budget), Is.EqualTo(expected));
    }
}
