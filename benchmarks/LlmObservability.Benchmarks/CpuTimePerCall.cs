using System.Diagnostics;
using System.Globalization;
using System.Text;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.Dispatch;

namespace LlmObservability.Benchmarks;

/// <summary>
/// CPU time per call, which BenchmarkDotNet does not measure on Linux: every client of
/// <see cref="HandlerOverheadBenchmarks"/> makes calls in a loop for a fixed time, then (for ours) the dispatcher is
/// flushed inside the same window, so the process CPU time and allocated bytes counted include all the background
/// work every call caused: payload building and delivery for ours, the body pump for extended logging. Process CPU
/// includes the in-process Kestrel server for loopback, the same for every client, so read the extra over bare; the
/// last loopback cases put the server in a child process, so the process CPU is the client side's alone.
/// In memory a fifth client, ours paced, waits for the dispatcher every 100 calls: the steady state, where every
/// record is built and none is dropped or left waiting (the caller otherwise outruns the build there).
/// The clients are first warmed up together until the JIT is quiet (<see cref="JitWarmup"/>; it was 300 ms per client,
/// and the compiler's background work then fell inside the measured rounds).
/// Rounds are interleaved, in an order that rotates from round to round (bare, ours, ours large queue, extended, then
/// ours, ours large queue, extended, bare, ...). "Extra CPU" pairs each client's round with bare's round of the same
/// cycle and reports the median of those differences, with their quartiles: the process's CPU per call drifts by more
/// than the differences being measured over a run, and pairing takes most of that drift out.
/// </summary>
public static class CpuTimePerCall
{
    public static async Task<string> RunAsync(TimeSpan perRound, int rounds, bool quick)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"CPU time per call, {rounds} interleaved rounds of {perRound.TotalSeconds:0.#} s per client (median; extra CPU: median and quartiles of the per-round difference to bare); {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}.");
        report.AppendLine();
        report.AppendLine("| Transport | Streaming | Client | Wall/call | CPU/call | CPU ratio | Extra CPU | Extra CPU P25–P75 | Alloc/call | Alloc ratio | Dropped |");
        report.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        var notes = new StringBuilder();
        // Loopback twice: the server in this process (as in the BenchmarkDotNet suite), then in a child process, so that
        // this process's CPU is the client's alone.
        foreach (var (transport, serverApart) in new[] { (Transport.InMemory, false), (Transport.Loopback, false), (Transport.Loopback, true) })
        {
            foreach (var streaming in new[] { false, true })
            {
                await using var server = transport == Transport.Loopback && !serverApart ? await LoopbackLlmServer.StartAsync().ConfigureAwait(false) : null;
                await using var apart = serverApart ? await OutOfProcessLlmServer.StartAsync().ConfigureAwait(false) : null;
                var uri = server?.ChatUri ?? apart?.ChatUri ?? new Uri("https://api.openai.com" + ChatFixtures.ChatPath);
                var transportName = serverApart ? "Loopback, server in another process" : transport.ToString();
                await using var clients = BenchmarkClients.Create(transport);
                await clients.VerifyAsync(uri, streaming).ConfigureAwait(false);
                var variants = new (string Name, HttpClient Client, LlmLogDispatcher? Dispatcher, int FlushEvery)[]
                {
                    ("Bare", clients.Bare, null, 0),
                    ("LlmObservability", clients.LlmObservability, clients.Dispatcher, 0),
                    ("LlmObservabilityLargeQueue", clients.LlmObservabilityLargeQueue, clients.LargeQueueDispatcher, 0),
                    ("ExtendedHttpLogging", clients.ExtendedLogging, null, 0),
                };
                // In memory a call takes ~1 µs and the caller outruns the build: the default queue drops most records and
                // the large one grows a backlog whose collections dominate. Paced: ours, waiting for the background every
                // PacedBatch calls, so every record is built, none is dropped and no backlog forms (a steady state).
                if (transport == Transport.InMemory) variants = [.. variants, ("LlmObservabilityPaced", clients.LlmObservability, clients.Dispatcher, PacedBatch)];
                var results = variants.Select(_ => new Sample[rounds]).ToArray();
                var buffer = new byte[16 * 1024];
                var warmup = await JitWarmup.RunAsync(
                    async () =>
                    {
                        foreach (var v in variants) await BenchmarkClients.CallAsync(v.Client, uri, streaming, buffer).ConfigureAwait(false);
                    },
                    JitWarmup.Minimum(quick),
                    JitWarmup.Maximum(quick)).ConfigureAwait(false);
                foreach (var v in variants) await (v.Dispatcher?.FlushAsync() ?? Task.CompletedTask).ConfigureAwait(false);
                var compiledBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
                for (var round = 0; round < rounds; round++)
                {
                    for (var k = 0; k < variants.Length; k++)
                    {
                        var i = (round + k) % variants.Length;
                        results[i][round] = await MeasureAsync(variants[i].Client, variants[i].Dispatcher, variants[i].FlushEvery, uri, streaming, buffer, perRound).ConfigureAwait(false);
                    }
                }
                notes.AppendLine(CultureInfo.InvariantCulture, $"- {transportName}, streaming {streaming}: {warmup.Describe()}; {System.Runtime.JitInfo.GetCompiledMethodCount() - compiledBefore:N0} methods compiled while measuring.");
                var bare = Median(results[0], s => s.CpuMicros);
                for (var i = 0; i < variants.Length; i++)
                {
                    var cpu = Median(results[i], s => s.CpuMicros);
                    var extra = results[i].Select((s, round) => s.CpuMicros - results[0][round].CpuMicros).Order().ToArray();
                    var alloc = Median(results[i], s => s.AllocBytes);
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"| {transportName} | {streaming} | {variants[i].Name} | {Median(results[i], s => s.WallMicros):0.0} µs | {cpu:0.0} µs | {cpu / bare:0.00} | {Interleaved.Quantile(extra, 0.5):0.0} µs | {Interleaved.Quantile(extra, 0.25):0.0} to {Interleaved.Quantile(extra, 0.75):0.0} µs | {alloc:N0} B | {alloc / Median(results[0], s => s.AllocBytes):0.00} | {results[i].Sum(s => s.Dropped):N0} |");
                }
            }
        }
        report.AppendLine();
        report.Append(notes);
        return report.ToString();
    }

    private static double Median(Sample[] samples, Func<Sample, double> value) => Interleaved.Median([.. samples.Select(value)]);

    /// <summary>Calls between two flushes for the paced variant.</summary>
    private const int PacedBatch = 100;

    private static async Task<Sample> MeasureAsync(HttpClient client, LlmLogDispatcher? dispatcher, int flushEvery, Uri uri, bool streaming, byte[] buffer, TimeSpan duration)
    {
        await (dispatcher?.FlushAsync() ?? Task.CompletedTask).ConfigureAwait(false);
        var droppedBefore = dispatcher?.GetStatistics().Dropped ?? 0;
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        long calls = 0;
        while (clock.Elapsed < duration)
        {
            await BenchmarkClients.CallAsync(client, uri, streaming, buffer).ConfigureAwait(false);
            calls++;
            if (flushEvery > 0 && calls % flushEvery == 0) await dispatcher!.FlushAsync().ConfigureAwait(false);
        }
        // Inside the window: everything these calls left for the background to do.
        await (dispatcher?.FlushAsync() ?? Task.CompletedTask).ConfigureAwait(false);
        var wall = clock.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var alloc = GC.GetTotalAllocatedBytes(precise: true) - allocBefore;
        var dropped = (dispatcher?.GetStatistics().Dropped ?? 0) - droppedBefore;
        return new Sample(wall.TotalMicroseconds / calls, cpu.TotalMicroseconds / calls, alloc / (double)calls, dropped);
    }

    private readonly record struct Sample(double WallMicros, double CpuMicros, double AllocBytes, long Dropped);
}
