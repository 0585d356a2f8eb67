using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using LlmObservability.Capture;

namespace LlmObservability.Benchmarks;

/// <summary>
/// The caller-path cost of skimming an embeddings response (300 vectors × 1536 dimensions) as it passes, fed in 16 KB
/// reads, against the baseline of copying the same bytes (what a kept whole body costs, were the cap large enough).
/// </summary>
[MemoryDiagnoser]
public class JsonSkimmerBenchmarks
{
    private byte[] _body = null!;
    private byte[] _copy = null!;

    [Params(false, true)]
    public bool Base64 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        var body = new StringBuilder("{\"object\":\"list\",\"data\":[");
        for (var i = 0; i < 300; i++)
        {
            if (i > 0) body.Append(',');
            body.Append("{\"object\":\"embedding\",\"index\":").Append(i).Append(",\"embedding\":");
            var vector = new float[1536];
            for (var d = 0; d < vector.Length; d++) vector[d] = (float)(random.NextDouble() - 0.5);
            if (Base64) body.Append('"').Append(Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan()))).Append('"');
            else body.Append('[').AppendJoin(',', vector.Select(v => v.ToString("R", CultureInfo.InvariantCulture))).Append(']');
            body.Append('}');
        }
        body.Append("],\"model\":\"text-embedding-3-small\",\"usage\":{\"prompt_tokens\":4321,\"total_tokens\":4321}}");
        _body = Encoding.UTF8.GetBytes(body.ToString());
        _copy = new byte[_body.Length];
    }

    [Benchmark(Baseline = true)]
    public int Copy()
    {
        for (var offset = 0; offset < _body.Length; offset += 16 * 1024)
        {
            var length = Math.Min(16 * 1024, _body.Length - offset);
            _body.AsSpan(offset, length).CopyTo(_copy.AsSpan(offset));
        }
        return _copy.Length;
    }

    [Benchmark]
    public int Skim()
    {
        var counter = new Counter();
        using var skimmer = new JsonSkimmer(counter);
        for (var offset = 0; offset < _body.Length; offset += 16 * 1024) skimmer.Feed(_body.AsSpan(offset, Math.Min(16 * 1024, _body.Length - offset)));
        return counter.Bytes;
    }

    private sealed class Counter : IStreamEventHandler
    {
        public int Bytes { get; private set; }

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Bytes += data.Length;
    }
}
