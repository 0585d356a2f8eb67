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
/// includes the in-process Kestrel server for loopback, the same for every client, so read the extra over bare.
/// Rounds are interleaved (bare, ours, ours large queue, extended, bare, ...) and the median round is reported.
/// </summary>
public static class CpuTimePerCall
{
    private const int Rounds = 3;

    public static async Task<string> RunAsync(TimeSpan perRound)
    {
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"CPU time per call, {perRound.TotalSeconds:0.#} s per round, median of {Rounds} interleaved rounds; {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}.");
        report.AppendLine();
        report.AppendLine("| Transport | Streaming | Client | Wall/call | CPU/call | CPU ratio | Extra CPU | Alloc/call | Alloc ratio | Dropped |");
        report.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var transport in new[] { Transport.InMemory, Transport.Loopback })
        {
            foreach (var streaming in new[] { false, true })
            {
                await using var server = transport == Transport.Loopback ? await LoopbackLlmServer.StartAsync().ConfigureAwait(false) : null;
                var uri = server?.ChatUri ?? new Uri("https://api.openai.com" + ChatFixtures.ChatPath);
                await using var clients = BenchmarkClients.Create(transport);
                await clients.VerifyAsync(uri, streaming).ConfigureAwait(false);
                var variants = new (string Name, HttpClient Client, LlmLogDispatcher? Dispatcher)[]
                {
                    ("Bare", clients.Bare, null),
                    ("LlmObservability", clients.LlmObservability, clients.Dispatcher),
                    ("LlmObservabilityLargeQueue", clients.LlmObservabilityLargeQueue, clients.LargeQueueDispatcher),
                    ("ExtendedHttpLogging", clients.ExtendedLogging, null),
                };
                var results = variants.Select(_ => new List<Sample>()).ToArray();
                var buffer = new byte[16 * 1024];
                foreach (var v in variants) await MeasureAsync(v.Client, v.Dispatcher, uri, streaming, buffer, TimeSpan.FromMilliseconds(300)).ConfigureAwait(false); // warm-up
                for (var round = 0; round < Rounds; round++)
                {
                    for (var i = 0; i < variants.Length; i++) results[i].Add(await MeasureAsync(variants[i].Client, variants[i].Dispatcher, uri, streaming, buffer, perRound).ConfigureAwait(false));
                }
                var bare = Median(results[0]);
                for (var i = 0; i < variants.Length; i++)
                {
                    var m = Median(results[i]);
                    report.AppendLine(CultureInfo.InvariantCulture,
                        $"| {transport} | {streaming} | {variants[i].Name} | {m.WallMicros:0.0} µs | {m.CpuMicros:0.0} µs | {m.CpuMicros / bare.CpuMicros:0.00} | {m.CpuMicros - bare.CpuMicros:0.0} µs | {m.AllocBytes:N0} B | {m.AllocBytes / bare.AllocBytes:0.00} | {m.Dropped:N0} |");
                }
            }
        }
        return report.ToString();
    }

    private static Sample Median(List<Sample> samples) => samples.OrderBy(s => s.CpuMicros).ElementAt(samples.Count / 2);

    private static async Task<Sample> MeasureAsync(HttpClient client, LlmLogDispatcher? dispatcher, Uri uri, bool streaming, byte[] buffer, TimeSpan duration)
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
