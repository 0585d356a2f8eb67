using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Text;
using LlmObservability.Benchmarks.Infrastructure;

namespace LlmObservability.Benchmarks;

/// <summary>
/// Whole-call latency over loopback with the clients interleaved call by call, for the "≤ 1.05× bare" target: the
/// BenchmarkDotNet loopback rows have a RatioSD of 0.2–0.3 (each client in its own process, one after the other, on two
/// cores shared with Kestrel), which cannot resolve 5 %. Here every round makes one call (send, read the body to its
/// end, dispose) with each client in a shuffled order against the same in-process Kestrel, after a warm-up that lasts
/// until the JIT is quiet, and the per-round difference to bare is a paired comparison. Clients: bare, a second bare
/// client (the same code: its difference to bare is the measurement's own noise), ours with a null sink (its
/// dispatcher builds every payload in the background, on the same two cores), extended HTTP logging with bodies, and
/// ours with a disposed dispatcher (the caller's path alone), and a handler that only wraps the response body and
/// passes every read through (<see cref="PassThroughHandler"/>: the floor for any handler that watches bodies).
/// </summary>
public static class InterleavedCallLatency
{
    public static async Task<string> RunAsync(int rounds, bool quick)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Whole-call latency over loopback, interleaved: {rounds:N0} rounds of one call per client in a shuffled order, after a warm-up until the JIT is quiet; {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.");
        report.AppendLine();
        report.AppendLine("| Streaming | Client | Median | P25 | P75 | Median of (client − bare) | its P25 to P75 | Ratio of medians | Median of per-round ratios |");
        report.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        var notes = new StringBuilder();
        var buffer = new byte[16 * 1024];
        foreach (var streaming in new[] { false, true })
        {
            await using var server = await LoopbackLlmServer.StartAsync().ConfigureAwait(false);
            await using var clients = BenchmarkClients.Create(Transport.Loopback);
            await clients.VerifyAsync(server.ChatUri, streaming).ConfigureAwait(false);
            using var bareAgain = new HttpClient(new SocketsHttpHandler());
            using var nothingBuilt = await BenchmarkClients.NothingBuiltAsync(new SocketsHttpHandler()).ConfigureAwait(false);
            using var passThrough = new HttpClient(new PassThroughHandler(new SocketsHttpHandler()));
            var variants = new (string Name, HttpClient Client)[]
            {
                ("Bare", clients.Bare),
                ("Bare, a second client", bareAgain),
                ("LlmObservability", clients.LlmObservability),
                ("ExtendedHttpLogging", clients.ExtendedLogging),
                ("NothingBuilt", nothingBuilt),
                ("PassThrough", passThrough),
            };
            var warmup = await JitWarmup.RunAsync(
                async () =>
                {
                    foreach (var v in variants) await BenchmarkClients.CallAsync(v.Client, server.ChatUri, streaming, buffer).ConfigureAwait(false);
                },
                JitWarmup.Minimum(quick),
                JitWarmup.Maximum(quick)).ConfigureAwait(false);
            var compiledBefore = JitInfo.GetCompiledMethodCount();
            var droppedBefore = clients.Dispatcher.GetStatistics().Dropped;
            var samples = await Interleaved.MeasureAsync(variants.Length, rounds, async i =>
            {
                var start = Stopwatch.GetTimestamp();
                await BenchmarkClients.CallAsync(variants[i].Client, server.ChatUri, streaming, buffer).ConfigureAwait(false);
                return Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }).ConfigureAwait(false);
            var compiled = JitInfo.GetCompiledMethodCount() - compiledBefore;
            await clients.Dispatcher.FlushAsync().ConfigureAwait(false);
            var dropped = clients.Dispatcher.GetStatistics().Dropped - droppedBefore;

            var bare = Interleaved.Median(samples[0]);
            for (var i = 0; i < variants.Length; i++)
            {
                var ratio = Interleaved.Median(samples[i]) / bare;
                var pairedRatio = Interleaved.Quantile(Interleaved.Ratios(samples, i), 0.5); // Ratios are sorted
                report.AppendLine(CultureInfo.InvariantCulture, $"| {streaming} | {variants[i].Name} | {Interleaved.Cells(samples, i)} | {ratio:0.000} | {pairedRatio:0.000} |");
            }
            notes.AppendLine(CultureInfo.InvariantCulture, $"- streaming {streaming}: {warmup.Describe()}; {compiled:N0} methods compiled while measuring; our dispatcher dropped {dropped:N0} records.");
        }
        report.AppendLine();
        report.Append(notes);
        return report.ToString();
    }
}
