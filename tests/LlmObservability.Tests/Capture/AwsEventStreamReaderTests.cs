using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LlmObservability.Capture;

namespace LlmObservability.Tests.Capture;

/// <summary>
/// Encodes AWS event-stream messages per the framing spec, with its own bit-by-bit CRC-32 so the tests do not lean on
/// the reader's table: <c>[total u32][headers u32][prelude CRC u32][headers][payload][message CRC u32]</c>, big-endian.
/// </summary>
internal static class EventStreamFrames
{
    public static byte[] Event(string eventType, string json) =>
        Encode([String(":event-type", eventType), String(":content-type", "application/json"), String(":message-type", "event")], Encoding.UTF8.GetBytes(json));

    public static byte[] Exception(string exceptionType, string json) =>
        Encode([String(":exception-type", exceptionType), String(":content-type", "application/json"), String(":message-type", "exception")], Encoding.UTF8.GetBytes(json));

    public static byte[] String(string name, string value) => Header(name, 7, WithLength(Encoding.UTF8.GetBytes(value)));

    public static byte[] Header(string name, byte type, byte[] value)
    {
        var n = Encoding.UTF8.GetBytes(name);
        return [(byte)n.Length, .. n, type, .. value];
    }

    public static byte[] WithLength(byte[] value)
    {
        var length = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(length, (ushort)value.Length);
        return [.. length, .. value];
    }

    public static byte[] Encode(byte[][] headers, byte[] payload)
    {
        byte[] head = [.. headers.SelectMany(h => h)];
        var total = 12 + head.Length + payload.Length + 4;
        var message = new byte[total];
        BinaryPrimitives.WriteUInt32BigEndian(message, (uint)total);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), (uint)head.Length);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(8), Crc(message.AsSpan(0, 8)));
        head.CopyTo(message, 12);
        payload.CopyTo(message, 12 + head.Length);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(total - 4), Crc(message.AsSpan(0, total - 4)));
        return message;
    }

    /// <summary>CRC-32 (IEEE), bit by bit.</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}

public class AwsEventStreamReaderTests
{
    private sealed class Recorder : IStreamEventHandler
    {
        public List<(string? Type, string Data)> Events { get; } = [];

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events.Add((eventType, Encoding.UTF8.GetString(data.Span)));
    }

    [Test]
    public void Crc32_matches_the_standard_check_value()
    {
        Assert.That(Crc32.Compute("123456789"u8), Is.EqualTo(0xCBF43926u));
        Assert.That(EventStreamFrames.Crc("123456789"u8), Is.EqualTo(0xCBF43926u));
        Assert.That(Crc32.Append(Crc32.Compute("1234"u8), "56789"u8), Is.EqualTo(0xCBF43926u));
    }

    [Test]
    public void The_spec_empty_message_vector_is_one_event_without_type_or_payload()
    {
        // The "empty_message" positive test vector of the AWS event-stream encoding.
        byte[] vector = [0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x05, 0xC2, 0x48, 0xEB, 0x7D, 0x98, 0xC8, 0xFF];
        var recorder = new Recorder();
        using var reader = new AwsEventStreamReader(recorder);
        reader.Feed(vector);
        Assert.That(recorder.Events, Is.EqualTo(new[] { ((string?)null, "") }));
        Assert.That(reader.Messages, Is.EqualTo(1));
    }

    [Test]
    public void Messages_split_anywhere_are_delivered_whole_and_every_header_type_is_skipped_correctly()
    {
        var uuid = new byte[16];
        uuid[3] = 0x42;
        byte[][] headers =
        [
            EventStreamFrames.Header("flag-true", 0, []),
            EventStreamFrames.Header("flag-false", 1, []),
            EventStreamFrames.Header("a-byte", 2, [0x7F]),
            EventStreamFrames.Header("a-short", 3, [0x01, 0x02]),
            EventStreamFrames.Header("an-int", 4, [0, 0, 1, 0]),
            EventStreamFrames.Header("a-long", 5, [0, 0, 0, 0, 0, 0, 0, 9]),
            EventStreamFrames.Header("some-bytes", 6, EventStreamFrames.WithLength([1, 2, 3])),
            EventStreamFrames.String(":event-type", "contentBlockDelta"),
            EventStreamFrames.Header("a-time", 8, [0, 0, 1, 0x8F, 0, 0, 0, 0]),
            EventStreamFrames.Header("an-id", 9, uuid),
            EventStreamFrames.String(":message-type", "event"),
        ];
        byte[] stream =
        [
            .. EventStreamFrames.Encode(headers, """{"contentBlockIndex":0,"delta":{"text":"Hé"}}"""u8.ToArray()),
            .. EventStreamFrames.Event("messageStop", """{"stopReason":"end_turn"}"""),
            .. EventStreamFrames.Encode([EventStreamFrames.String(":event-type", "metadata")], []),
        ];
        (string?, string)[] expected =
        [
            ("contentBlockDelta", """{"contentBlockIndex":0,"delta":{"text":"Hé"}}"""),
            ("messageStop", """{"stopReason":"end_turn"}"""),
            ("metadata", ""),
        ];

        for (var cut = 0; cut <= stream.Length; cut++)
        {
            var recorder = new Recorder();
            using var reader = new AwsEventStreamReader(recorder);
            reader.Feed(stream.AsSpan(0, cut));
            reader.Feed(stream.AsSpan(cut));
            Assert.That(recorder.Events, Is.EqualTo(expected), $"split at {cut}");
        }

        var oneByOne = new Recorder();
        using (var reader = new AwsEventStreamReader(oneByOne))
        {
            foreach (var b in stream) reader.Feed([b]);
        }
        Assert.That(oneByOne.Events, Is.EqualTo(expected));
    }

    [Test]
    public void Repeated_event_types_are_the_same_string_instance()
    {
        var recorder = new Recorder();
        using var reader = new AwsEventStreamReader(recorder);
        reader.Feed([.. EventStreamFrames.Event("contentBlockDelta", "{}"), .. EventStreamFrames.Event("contentBlockDelta", "{}")]);
        Assert.That(recorder.Events[1].Type, Is.SameAs(recorder.Events[0].Type));
    }

    [Test]
    public void The_python_encoded_fixture_decodes_to_its_source_events()
    {
        var recorder = new Recorder();
        using var reader = new AwsEventStreamReader(recorder);
        foreach (var chunk in StubHandler.Split(Fixture.Bytes("bedrock/converse-stream.bin"), 5)) reader.Feed(chunk);

        var source = Fixture.Text("bedrock/converse-stream.events.jsonl").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            return (document.RootElement.GetProperty("headers").GetProperty(":event-type").GetString(), document.RootElement.GetProperty("payload").GetRawText());
        }).ToArray();
        Assert.That(recorder.Events.Select(e => e.Type), Is.EqualTo(source.Select(s => s.Item1)));
        for (var i = 0; i < source.Length; i++)
        {
            using var expected = JsonDocument.Parse(source[i].Item2);
            using var actual = JsonDocument.Parse(recorder.Events[i].Data);
            Assert.That(JsonElement.DeepEquals(actual.RootElement, expected.RootElement), Is.True, $"event {i}");
        }
    }

    [Test]
    public void Exceptions_and_errors_are_reported_with_their_prefix()
    {
        var recorder = new Recorder();
        using var reader = new AwsEventStreamReader(recorder);
        reader.Feed(EventStreamFrames.Exception("throttlingException", """{"message":"Too many tokens"}"""));
        reader.Feed(EventStreamFrames.Encode(
            [EventStreamFrames.String(":message-type", "error"), EventStreamFrames.String(":error-code", "InternalFailure"), EventStreamFrames.String(":error-message", "Something broke")], []));

        Assert.That(recorder.Events, Is.EqualTo(new (string?, string)[]
        {
            ("exception:throttlingException", """{"message":"Too many tokens"}"""),
            ("error:InternalFailure", "Something broke"),
        }));
    }

    [Test]
    public void A_message_over_the_cap_is_skipped_and_counted_and_the_next_one_still_arrives()
    {
        var big = EventStreamFrames.Event("contentBlockDelta", "{\"delta\":{\"text\":\"" + new string('x', 500) + "\"}}");
        var small = EventStreamFrames.Event("messageStop", "{}");
        var recorder = new Recorder();
        using var reader = new AwsEventStreamReader(recorder, maxMessageBytes: 200);
        foreach (var chunk in StubHandler.Split([.. big, .. small], 7)) reader.Feed(chunk);

        Assert.That(reader.OversizedEvents, Is.EqualTo(1));
        Assert.That(recorder.Events, Is.EqualTo(new (string?, string)[] { ("messageStop", "{}") }));
    }

    [Test]
    public void A_bad_prelude_crc_throws()
    {
        var message = EventStreamFrames.Event("messageStop", "{}");
        message[9] ^= 0xFF;
        using var reader = new AwsEventStreamReader(new Recorder());
        Assert.That(() => reader.Feed(message), Throws.TypeOf<InvalidDataException>().With.Message.Contains("prelude CRC"));
    }

    [Test]
    public void A_bad_message_crc_throws()
    {
        var message = EventStreamFrames.Event("messageStop", """{"stopReason":"end_turn"}""");
        message[^8] ^= 0x01; // inside the payload
        var recorder = new Recorder();
        using var reader = new AwsEventStreamReader(recorder);
        Assert.That(() => reader.Feed(message), Throws.TypeOf<InvalidDataException>().With.Message.Contains("message CRC"));
        Assert.That(recorder.Events, Is.Empty);
    }

    [Test]
    public void An_impossible_prelude_with_a_valid_crc_throws()
    {
        var prelude = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(prelude, 10);
        BinaryPrimitives.WriteUInt32BigEndian(prelude.AsSpan(8), EventStreamFrames.Crc(prelude.AsSpan(0, 8)));
        using var reader = new AwsEventStreamReader(new Recorder());
        Assert.That(() => reader.Feed(prelude), Throws.TypeOf<InvalidDataException>().With.Message.Contains("impossible"));
    }

    [Test]
    public void A_header_running_past_its_section_throws()
    {
        // A string header that claims 200 bytes of value inside a 20-byte header section.
        byte[] header = [.. EventStreamFrames.Header("x", 7, [0x00, 0xC8]), .. new byte[15]];
        var message = EventStreamFrames.Encode([header], []);
        using var reader = new AwsEventStreamReader(new Recorder());
        Assert.That(() => reader.Feed(message), Throws.TypeOf<InvalidDataException>().With.Message.Contains("cut short"));
    }
}
