using System.Diagnostics;
using System.Globalization;
using System.Text;
using LlmObservability.Benchmarks.Infrastructure;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Time to first chunk with the clients interleaved call by call, beside <see cref="TimeToFirstChunkBenchmarks"/>.
/// BenchmarkDotNet measures each client in its own process, one after the other, and single calls over loopback on two
/// cores move by ±100 µs between such runs; here every round makes one call with each client (bare, ours, extended
/// logging, in an order that rotates per round) against the same server, so the machine's state is shared and the
/// per-round difference to bare is a paired comparison. A fourth client, NothingBuilt, is ours with a disposed
/// dispatcher (every record dropped at the hand-over): the caller's path alone, without any background work. Reports the median of each client and the median of the
/// per-round differences. The call is measured from the start of SendAsync to the first SSE event read; the rest of
/// the stream is read afterwards, outside the measurement, as in the BenchmarkDotNet suite.
/// </summary>
public static class InterleavedTimeToFirstChunk
{
    public static async Task<string> RunAsync(int rounds)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Time to first chunk, interleaved: {rounds} rounds of one call per client after {Warmup(rounds)} warm-up rounds; {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        report.AppendLine();
        report.AppendLine("| PauseMs | Client | Median | P25 | P75 | Median of (client − bare) per round |");
        report.AppendLine("|---:|---|---:|---:|---:|---:|");
        var buffer = new byte[16 * 1024];
        foreach (var pauseMs in new[] { 0, 20 })
        {
            await using var server = await LoopbackLlmServer.StartAsync(TimeSpan.FromMilliseconds(pauseMs)).ConfigureAwait(false);
            await using var clients = BenchmarkClients.Create(Transport.Loopback);
            await clients.VerifyAsync(server.ChatUri, streaming: true).ConfigureAwait(false);
            using var nothingBuilt = await BenchmarkClients.NothingBuiltAsync(new SocketsHttpHandler()).ConfigureAwait(false);
            var variants = new (string Name, HttpClient Client)[]
            {
                ("Bare", clients.Bare),
                ("LlmObservability", clients.LlmObservability),
                ("ExtendedHttpLogging", clients.ExtendedLogging),
                ("NothingBuilt", nothingBuilt),
            };
            var samples = variants.Select(_ => new List<double>()).ToArray();
            for (var round = -Warmup(rounds); round < rounds; round++)
            {
                for (var k = 0; k < variants.Length; k++)
                {
                    var i = (k + Math.Abs(round)) % variants.Length;
                    var micros = await FirstEventMicrosAsync(variants[i].Client, server.ChatUri, buffer).ConfigureAwait(false);
                    if (round >= 0) samples[i].Add(micros);
                }
            }
            for (var i = 0; i < variants.Length; i++)
            {
                var sorted = samples[i].Order().ToArray();
                var difference = Median(samples[i].Zip(samples[0], (client, bare) => client - bare).Order().ToArray());
                report.AppendLine(CultureInfo.InvariantCulture,
                    $"| {pauseMs} | {variants[i].Name} | {Median(sorted):0.0} µs | {Quantile(sorted, 0.25):0.0} µs | {Quantile(sorted, 0.75):0.0} µs | {(i == 0 ? "–" : $"{difference:+0.0;−0.0} µs")} |");
            }
        }
        return report.ToString();
    }

    private static int Warmup(int rounds) => Math.Max(20, rounds / 5);

    private static double Median(double[] sorted) => Quantile(sorted, 0.5);

    private static double Quantile(double[] sorted, double q)
    {
        var at = q * (sorted.Length - 1);
        var low = (int)Math.Floor(at);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
    }

    /// <summary>One streamed call: microseconds from the start of SendAsync to the first whole event; then the rest is read and the call ended.</summary>
    private static async Task<double> FirstEventMicrosAsync(HttpClient client, Uri uri, byte[] buffer)
    {
        var start = Stopwatch.GetTimestamp();
        using var response = await BenchmarkClients.SendAsync(client, uri, streaming: true).ConfigureAwait(false);
        await using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        await BenchmarkClients.ReadFirstEventAsync(stream, buffer).ConfigureAwait(false);
        var micros = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        while (await stream.ReadAsync(buffer).ConfigureAwait(false) > 0)
        {
        }
        return micros;
    }
}
