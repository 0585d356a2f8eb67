using System.Buffers.Binary;
using System.Text;

namespace LlmObservability.Langfuse.Otlp;

/// <summary>The protobuf wire types this encoder writes.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
}

/// <summary>
/// Writes protobuf fields into a buffer whose size was computed beforehand with <see cref="ProtobufSize"/>. Nested
/// messages are written as a tag, their exact length, then their fields, so every length prefix is the canonical
/// (shortest) varint and no copy is needed.
/// </summary>
internal ref struct ProtobufWriter(Span<byte> buffer)
{
    private readonly Span<byte> _buffer = buffer;
    private int _position;

    public readonly int Position => _position;

    public void WriteTag(int fieldNumber, WireType wireType) => WriteVarint(((uint)fieldNumber << 3) | (uint)wireType);

    public void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_position++] = (byte)value;
    }

    public void WriteFixed64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer[_position..], value);
        _position += 8;
    }

    /// <summary>A varint field (int64, uint32, bool, enum). Negative int64 values take ten bytes, as protobuf requires.</summary>
    public void WriteVarintField(int fieldNumber, long value)
    {
        WriteTag(fieldNumber, WireType.Varint);
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteFixed64Field(int fieldNumber, ulong value)
    {
        WriteTag(fieldNumber, WireType.Fixed64);
        WriteFixed64(value);
    }

    public void WriteDoubleField(int fieldNumber, double value)
    {
        WriteTag(fieldNumber, WireType.Fixed64);
        WriteFixed64(unchecked((ulong)BitConverter.DoubleToInt64Bits(value)));
    }

    public void WriteStringField(int fieldNumber, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteTag(fieldNumber, WireType.LengthDelimited);
        WriteVarint((uint)length);
        _position += Encoding.UTF8.GetBytes(value, _buffer.Slice(_position, length));
    }

    public void WriteBytesField(int fieldNumber, ReadOnlySpan<byte> value)
    {
        WriteTag(fieldNumber, WireType.LengthDelimited);
        WriteVarint((uint)value.Length);
        WriteRaw(value);
    }

    /// <summary>Starts a nested message of <paramref name="length"/> bytes; its fields follow.</summary>
    public void WriteMessageHeader(int fieldNumber, int length)
    {
        WriteTag(fieldNumber, WireType.LengthDelimited);
        WriteVarint((uint)length);
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
    }
}

/// <summary>Exact encoded sizes, matching what <see cref="ProtobufWriter"/> writes.</summary>
internal static class ProtobufSize
{
    public static int Varint(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }
        return size;
    }

    public static int Tag(int fieldNumber) => Varint((uint)fieldNumber << 3);

    public static int VarintField(int fieldNumber, long value) => Tag(fieldNumber) + Varint(unchecked((ulong)value));

    public static int Fixed64Field(int fieldNumber) => Tag(fieldNumber) + 8;

    public static int StringField(int fieldNumber, string value) => LengthDelimitedField(fieldNumber, Encoding.UTF8.GetByteCount(value));

    /// <summary>A field holding <paramref name="length"/> bytes of string, bytes or nested message.</summary>
    public static int LengthDelimitedField(int fieldNumber, int length) => Tag(fieldNumber) + Varint((uint)length) + length;
}
