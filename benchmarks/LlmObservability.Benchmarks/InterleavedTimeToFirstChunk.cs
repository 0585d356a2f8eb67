using System.Diagnostics;
using System.Globalization;
using System.Text;
using LlmObservability.Benchmarks.Infrastructure;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Time to first chunk with the clients interleaved call by call, beside <see cref="TimeToFirstChunkBenchmarks"/>.
/// BenchmarkDotNet measures each client in its own process, one after the other, and single calls over loopback on two
/// cores move by ±100 µs between such runs; here every round makes one call with each client (bare, ours, extended
/// logging, in an order shuffled per round, see <see cref="Interleaved"/>) against the same server, after a warm-up
/// until the JIT is quiet (<see cref="JitWarmup"/>), so the machine's state is shared and the per-round difference to
/// bare is a paired comparison. With a 20 ms pause every call takes 20 ms, so that case runs a fifth of the rounds. A fourth client, NothingBuilt, is ours with a disposed
/// dispatcher (every record dropped at the hand-over): the caller's path alone, without any background work. Reports the median of each client and the median of the
/// per-round differences. The call is measured from the start of SendAsync to the first SSE event read; the rest of
/// the stream is read afterwards, outside the measurement, as in the BenchmarkDotNet suite.
/// </summary>
public static class InterleavedTimeToFirstChunk
{
    public static async Task<string> RunAsync(int rounds, bool quick)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Time to first chunk, interleaved: {rounds:N0} rounds of one call per client in a shuffled order, after a warm-up until the JIT is quiet; {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        report.AppendLine();
        report.AppendLine("| PauseMs | Client | Median | P25 | P75 | Median of (client − bare) per round | its P25 to P75 |");
        report.AppendLine("|---:|---|---:|---:|---:|---:|---:|");
        var notes = new StringBuilder();
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
            // With a pause every call takes 20 ms, so its warm-up is shorter: the same code was warmed up without the pause
            // just before, in this process.
            var warmup = await JitWarmup.RunAsync(
                async () =>
                {
                    foreach (var v in variants) await FirstEventMicrosAsync(v.Client, server.ChatUri, buffer).ConfigureAwait(false);
                },
                pauseMs == 0 ? JitWarmup.Minimum(quick) : TimeSpan.FromSeconds(1),
                pauseMs == 0 ? JitWarmup.Maximum(quick) : TimeSpan.FromSeconds(quick ? 2 : 10)).ConfigureAwait(false);
            var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            var samples = await Interleaved.MeasureAsync(variants.Length, pauseMs == 0 ? rounds : Math.Max(100, rounds / 5), i => FirstEventMicrosAsync(variants[i].Client, server.ChatUri, buffer)).ConfigureAwait(false);
            var compiled = System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore;
            for (var i = 0; i < variants.Length; i++) report.AppendLine(CultureInfo.InvariantCulture, $"| {pauseMs} | {variants[i].Name} | {Interleaved.Cells(samples, i)} |");
            notes.AppendLine(CultureInfo.InvariantCulture, $"- PauseMs {pauseMs}: {samples[0].Length:N0} rounds; {warmup.Describe()}; {compiled:N0} methods compiled while measuring.");
        }
        report.AppendLine();
        report.Append(notes);
        return report.ToString();
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
