using System.Diagnostics;
using System.Globalization;
using System.Runtime;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// Warm-up until the JIT has gone quiet. .NET compiles a method first quickly (tier 0), then, once it is hot, again with
/// optimizations in a background thread (tier 1, after instrumenting it for profile-guided optimization). Over
/// loopback that takes seconds: with the earlier fixed warm-ups (300 ms per client, 80 rounds) our caller's path still
/// ran partly as tier-0 code and the compiler thread took CPU inside the measured rounds (a scratch profile showed
/// ~1,000 methods compiled per measured two seconds). Each interleaved table now warms its clients until the compiler
/// is idle and reports how many methods were compiled while it measured.
/// </summary>
internal static class JitWarmup
{
    public readonly record struct Result(int Rounds, TimeSpan Elapsed, long MethodsCompiled, bool Quiet)
    {
        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"warm-up {Rounds:N0} rounds in {Elapsed.TotalSeconds:0.0} s, {MethodsCompiled:N0} methods compiled, {(Quiet ? "JIT quiet at the end" : "JIT still compiling when the warm-up's time ran out")}");
    }

    /// <summary>
    /// Runs <paramref name="round"/> for at least <paramref name="minimum"/>, then until two consecutive half-second
    /// windows compile no more than two methods, or until <paramref name="maximum"/>.
    /// </summary>
    public static async Task<Result> RunAsync(Func<Task> round, TimeSpan minimum, TimeSpan maximum)
    {
        var clock = Stopwatch.StartNew();
        var start = JitInfo.GetCompiledMethodCount();
        var rounds = 0;
        var quietWindows = 0;
        while (clock.Elapsed < maximum)
        {
            var windowStart = clock.Elapsed;
            var compiledBefore = JitInfo.GetCompiledMethodCount();
            while (clock.Elapsed - windowStart < TimeSpan.FromMilliseconds(500))
            {
                await round().ConfigureAwait(false);
                rounds++;
            }
            var compiled = JitInfo.GetCompiledMethodCount() - compiledBefore;
            quietWindows = clock.Elapsed >= minimum && compiled <= 2 ? quietWindows + 1 : 0;
            if (quietWindows >= 2) return new Result(rounds, clock.Elapsed, JitInfo.GetCompiledMethodCount() - start, Quiet: true);
        }
        return new Result(rounds, clock.Elapsed, JitInfo.GetCompiledMethodCount() - start, Quiet: false);
    }

    public static TimeSpan Minimum(bool quick) => TimeSpan.FromSeconds(quick ? 1 : 4);

    public static TimeSpan Maximum(bool quick) => TimeSpan.FromSeconds(quick ? 5 : 30);
}

/// <summary>
/// Calls interleaved one by one: every round makes one call with each client, in an order shuffled per round (seeded,
/// so a run can be repeated), against the same server. A fixed rotation gave every client the same predecessor, and a
/// client that leaves background work behind (extended logging's body pump) slowed whichever came next: bare measured
/// ~10 µs slower than an identical second bare client. Differences are paired within a round.
/// </summary>
internal static class Interleaved
{
    /// <summary>One sample per client per round, in microseconds.</summary>
    public static async Task<double[][]> MeasureAsync(int clients, int rounds, Func<int, Task<double>> measure, int seed = 20261123)
    {
        var random = new Random(seed);
        var order = Enumerable.Range(0, clients).ToArray();
        var samples = Enumerable.Range(0, clients).Select(_ => new double[rounds]).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            random.Shuffle(order);
            foreach (var i in order) samples[i][round] = await measure(i).ConfigureAwait(false);
        }
        return samples;
    }

    /// <summary>The paired per-round differences of a client to the baseline (client 0), sorted.</summary>
    public static double[] Differences(double[][] samples, int client) =>
        [.. samples[client].Select((value, round) => value - samples[0][round]).Order()];

    /// <summary>The paired per-round ratios of a client to the baseline (client 0), sorted.</summary>
    public static double[] Ratios(double[][] samples, int client) =>
        [.. samples[client].Select((value, round) => value / samples[0][round]).Order()];

    public static double Median(double[] values) => Quantile([.. values.Order()], 0.5);

    /// <summary>
    /// The table cells every interleaved table shares for one client: median, P25, P75, then the median of the paired
    /// differences to the baseline (client 0) and their P25 to P75 (dashes for the baseline itself).
    /// </summary>
    public static string Cells(double[][] samples, int client)
    {
        var sorted = samples[client].Order().ToArray();
        var spread = string.Create(CultureInfo.InvariantCulture, $"{Quantile(sorted, 0.5):0.0} µs | {Quantile(sorted, 0.25):0.0} µs | {Quantile(sorted, 0.75):0.0} µs");
        if (client == 0) return spread + " | – | –";
        var differences = Differences(samples, client);
        return spread + string.Create(CultureInfo.InvariantCulture,
            $" | {Quantile(differences, 0.5):+0.0;−0.0} µs | {Quantile(differences, 0.25):+0.0;−0.0} to {Quantile(differences, 0.75):+0.0;−0.0} µs");
    }

    /// <summary>Linear interpolation between the closest ranks of sorted values.</summary>
    public static double Quantile(double[] sorted, double q)
    {
        var position = (sorted.Length - 1) * q;
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}
