using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

[TestFixture]
public sealed class TriggerMaskTests
{
    [Test]
    public void Vector_masks_agree_with_the_scalar_definition([Range(1, 20)] int seed)
    {
        var rng = new Random(seed);
        var chars = new char[64 * 40 + rng.Next(64)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = rng.Next(4) switch
            {
                0 => TriggerMask.AllTriggers[rng.Next(TriggerMask.AllTriggers.Length)],
                1 => (char)rng.Next(0, 0x80),
                2 => (char)rng.Next(0x80, 0x400),
                _ => (char)rng.Next(0, 0x10000),
            };
        }

        var text = new string(chars);
        for (var block = 0; block < text.Length; block += TriggerMask.BlockSize)
        {
            ulong expected = 0;
            for (var k = 0; k < TriggerMask.BlockSize && block + k < text.Length; k++)
            {
                if (TriggerMask.IsTrigger(text[block + k])) expected |= 1UL << k;
            }

            Assert.That(TriggerMask.Compute(text, block), Is.EqualTo(expected), $"block at {block}");
        }
    }

    [Test]
    public void Every_trigger_and_nothing_else_is_a_trigger()
    {
        for (var c = 0; c <= char.MaxValue; c++)
            Assert.That(TriggerMask.IsTrigger((ushort)c), Is.EqualTo(TriggerMask.AllTriggers.Contains((char)c, StringComparison.Ordinal)), $"U+{c:X4}");
    }
}
