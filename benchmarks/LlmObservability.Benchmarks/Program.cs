using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using LlmObservability.Benchmarks;
using LlmObservability.Benchmarks.Infrastructure;
using Perfolizer.Horology;

// Full run (BenchmarkDotNet's default job, every suite):
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --filter '*'
// Smoke run of every suite in a few minutes (one launch, one warm-up, three short iterations; numbers are rough):
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --quick --filter '*'
// CPU time per call (not measured by BenchmarkDotNet on Linux), written as a markdown table to stdout or a file:
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --cpu-time [--quick] [--out FILE]
// Time to first chunk with the clients interleaved call by call (a paired comparison beside the BenchmarkDotNet suite):
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --ttfc [--quick] [--out FILE]
// Whole-call latency over loopback with the clients interleaved call by call (the figure for the ≤ 1.05× target):
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --latency [--quick] [--out FILE]
// CPU a process spends while no calls are made, for ours, extended HTTP logging and a bare client (a process each):
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --idle [--quick] [--out FILE]
// The same processes making N calls a second instead of none (CPU per call at a service's pace, not back to back):
//   dotnet run -c Release --project benchmarks/LlmObservability.Benchmarks -- --idle --rate N [--quick] [--out FILE]
// benchmarks/run.sh [--quick] does the BenchmarkDotNet run and the four runs above (CPU time, TTFC, latency, idle), the
// full run also the idle processes at 10, 100 and 1,000 calls a second, and copies the markdown reports into
// benchmarks/results/.
var quick = args.Contains("--quick");
args = [.. args.Where(a => a != "--quick")];

if (args.Contains(OutOfProcessLlmServer.ServeArgument))
{
    await OutOfProcessLlmServer.ServeAsync();
    return;
}

if (args.Contains(IdleCpu.ChildArgument))
{
    await IdleCpu.RunChildAsync(args);
    return;
}

if (args.Contains("--cpu-time") || args.Contains("--ttfc") || args.Contains("--latency") || args.Contains("--idle"))
{
    var rateAt = Array.IndexOf(args, "--rate");
    var rate = rateAt >= 0 && rateAt + 1 < args.Length ? double.Parse(args[rateAt + 1], System.Globalization.CultureInfo.InvariantCulture) : 0;
    var table = args.Contains("--idle") ? await IdleCpu.RunAsync(TimeSpan.FromSeconds(quick ? 2 : 10), rounds: quick ? 1 : 3, rate)
        : args.Contains("--cpu-time") ? await CpuTimePerCall.RunAsync(TimeSpan.FromSeconds(quick ? 0.5 : 1), rounds: quick ? 3 : 9, quick)
        : args.Contains("--ttfc") ? await InterleavedTimeToFirstChunk.RunAsync(rounds: quick ? 200 : 2000, quick)
        : await InterleavedCallLatency.RunAsync(rounds: quick ? 300 : 20_000, quick);
    var outIndex = Array.IndexOf(args, "--out");
    if (outIndex >= 0 && outIndex + 1 < args.Length) await File.WriteAllTextAsync(args[outIndex + 1], table);
    Console.WriteLine(table);
    return;
}

IConfig config = DefaultConfig.Instance;
if (quick)
{
    // In process: a smoke run's numbers are rough anyway, and starting a process (and its JIT) for each case was a
    // third of its BenchmarkDotNet time (the same 20 cases: 65 s out of process, 45 s in). The full run keeps
    // BenchmarkDotNet's process per case.
    // (BenchmarkDotNet's --inProcess switch is not the same: it replaces this job with a default one.)
    config = config.AddJob(Job.Default
        .WithId("Quick")
        .WithLaunchCount(1)
        .WithWarmupCount(1)
        .WithIterationCount(3)
        .WithIterationTime(TimeInterval.FromMilliseconds(100))
        .WithToolchain(InProcessEmitToolchain.Instance));
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
