using System.Diagnostics;
using System.Globalization;
using System.Text;
using LlmObservability.Benchmarks.Infrastructure;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Benchmarks;

/// <summary>
/// What each client costs while the service makes no calls: a process per case makes one call through its client,
/// waits for the background to settle, then counts its own CPU time and thread-pool work items over a window. Our case
/// is the set-up of the README (<c>AddLlmObservability()</c> with the console and JSON-lines file sinks, the handler on
/// an <c>IHttpClientFactory</c> client); the baseline is a process that made the same call with a bare client.
/// Cases run one after the other in an order that rotates per round; "Extra" pairs each case's round with the
/// baseline's round of the same cycle. The children run with tiered compilation off, so that the window measures the
/// steady state of a long-running service rather than the JIT's tier-up, which at one wake-up a second would take
/// half a minute to finish.
/// With a rate (<c>--idle --rate N</c>), each child makes N calls a second through its client during the window
/// instead of none, and the extra CPU is also given per call: what a service that makes calls at that pace pays, where
/// the CPU-time table's clients call back to back. There the cases are those of the CPU-time table: ours with a null
/// sink, extended logging to a logger that is enabled and discards.
/// </summary>
public static class IdleCpu
{
    public const string ChildArgument = "--idle-child";

    private static readonly string[] Cases = ["Nothing", "LlmObservability", "ExtendedHttpLogging"];

    public static async Task<string> RunAsync(TimeSpan window, int rounds, double callsPerSecond = 0)
    {
        var cpu = Cases.Select(_ => new double[rounds]).ToArray();
        var workItems = Cases.Select(_ => new double[rounds]).ToArray();
        var calls = Cases.Select(_ => new double[rounds]).ToArray();
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < Cases.Length; k++)
            {
                var c = (k + round) % Cases.Length;
                (cpu[c][round], workItems[c][round], calls[c][round]) = await RunChildAsync(Cases[c], window, callsPerSecond).ConfigureAwait(false);
            }
        }
        if (callsPerSecond > 0) return PacedReport(window, rounds, cpu, workItems, calls);

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Idle CPU: a process per case, one call, then {window.TotalSeconds:0.#} s with no calls; {rounds} rounds, medians (extra: median of the per-round difference to the baseline); tiered compilation off in the children; {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}.");
        report.AppendLine();
        report.AppendLine("| Process | CPU per second | Extra CPU per second | Extra, share of one core | Thread-pool work items per second |");
        report.AppendLine("|---|---:|---:|---:|---:|");
        for (var c = 0; c < Cases.Length; c++)
        {
            var extra = c == 0 ? 0 : Interleaved.Median(Interleaved.Differences(cpu, c));
            var name = c == 0 ? $"{Cases[c]} (baseline)" : Cases[c];
            report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Interleaved.Median(cpu[c]):0.00} ms | {extra:+0.00;-0.00;0.00} ms | {extra / 10:0.000} % | {Interleaved.Median(workItems[c]):0.0} |");
        }
        return report.ToString();
    }

    private static string PacedReport(TimeSpan window, int rounds, double[][] cpu, double[][] workItems, double[][] calls)
    {
        var report = new StringBuilder();
        var rate = Interleaved.Median(calls[0]);
        report.AppendLine(CultureInfo.InvariantCulture, $"CPU at a steady pace: a process per case, {rate:0} calls a second (non-streaming, in-memory transport) for {window.TotalSeconds:0.#} s; {rounds} rounds, medians (extra: median of the per-round difference to the baseline); tiered compilation off in the children; {Environment.ProcessorCount} cores, .NET {Environment.Version}, {DateTime.UtcNow:yyyy-MM-dd}.");
        report.AppendLine();
        report.AppendLine("| Process | Calls per second | CPU per second | Extra CPU per second | Extra CPU per call | Thread-pool work items per second |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|");
        for (var c = 0; c < Cases.Length; c++)
        {
            var extra = c == 0 ? 0 : Interleaved.Median(Interleaved.Differences(cpu, c));
            var name = c == 0 ? "Bare client (baseline)" : Cases[c];
            var perCall = extra * 1000 / Interleaved.Median(calls[c]);
            report.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {Interleaved.Median(calls[c]):0.0} | {Interleaved.Median(cpu[c]):0.00} ms | {extra:+0.00;-0.00;0.00} ms | {perCall:+0.0;-0.0;0.0} µs | {Interleaved.Median(workItems[c]):0.0} |");
        }
        return report.ToString();
    }

    private static async Task<(double CpuMsPerSecond, double WorkItemsPerSecond, double CallsPerSecond)> RunChildAsync(string name, TimeSpan window, double callsPerSecond)
    {
        var start = OutOfProcessLlmServer.ThisProgram(ChildArgument, name, window.TotalSeconds.ToString(CultureInfo.InvariantCulture), callsPerSecond.ToString(CultureInfo.InvariantCulture));
        start.Environment["DOTNET_TieredCompilation"] = "0";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The child process did not start.");
        var output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("idle ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null) throw new InvalidOperationException($"The idle child '{name}' failed (exit {process.ExitCode}): {output}");
        var parts = line.Split(' ');
        return (double.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture), double.Parse(parts[3], CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// The child: sets up one case, makes one call, settles, then measures a window with no calls (or with calls at the
    /// given rate, from the start of the window), and prints "idle CPU_MS_PER_S WORK_ITEMS_PER_S CALLS_PER_S".
    /// </summary>
    public static async Task RunChildAsync(string[] args)
    {
        var at = Array.IndexOf(args, ChildArgument);
        var name = args[at + 1];
        var window = TimeSpan.FromSeconds(double.Parse(args[at + 2], CultureInfo.InvariantCulture));
        var rate = double.Parse(args[at + 3], CultureInfo.InvariantCulture);
        var uri = new Uri("https://api.openai.com" + ChatFixtures.ChatPath);
        var logs = Directory.CreateTempSubdirectory("llmobs-idle-");
        var services = new ServiceCollection();
        if (rate > 0) ConfigurePaced(services, name);
        else ConfigureIdle(services, name, logs.FullName);
        try
        {
            await using (var provider = services.BuildServiceProvider())
            {
                var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("client");
                await BenchmarkClients.CallAsync(client, uri, streaming: false, new byte[16 * 1024]).ConfigureAwait(false);
                if (provider.GetService<LlmLogDispatcher>() is { } dispatcher) await dispatcher.FlushAsync().ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(2)).ConfigureAwait(false); // our loop reaches its idle interval in 1.3 s

                using var self = Process.GetCurrentProcess();
                self.Refresh();
                var cpu0 = self.TotalProcessorTime;
                var items0 = ThreadPool.CompletedWorkItemCount;
                var clock = Stopwatch.StartNew();
                var calls = 0;
                if (rate > 0)
                {
                    // Each call at its slot of the schedule (not a fixed pause after the last), so every case makes the same number.
                    var buffer = new byte[16 * 1024];
                    for (var due = TimeSpan.Zero; due < window; due += TimeSpan.FromSeconds(1 / rate))
                    {
                        if (due > clock.Elapsed) await Task.Delay(due - clock.Elapsed).ConfigureAwait(false);
                        await BenchmarkClients.CallAsync(client, uri, streaming: false, buffer).ConfigureAwait(false);
                        calls++;
                    }
                }
                if (window > clock.Elapsed) await Task.Delay(window - clock.Elapsed).ConfigureAwait(false);
                self.Refresh();
                var seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"idle {(self.TotalProcessorTime - cpu0).TotalMilliseconds / seconds:0.000} {(ThreadPool.CompletedWorkItemCount - items0) / seconds:0.0} {calls / seconds:0.0}"));
            }
        }
        finally
        {
            logs.Delete(recursive: true);
        }
    }

    /// <summary>The idle table's cases: the README's set-up for ours, loggers with no provider.</summary>
    private static void ConfigureIdle(ServiceCollection services, string name, string logs)
    {
        services.AddLogging(logging => logging.ClearProviders());
        switch (name)
        {
            case "Nothing":
                services.AddHttpClient("client").ConfigurePrimaryHttpMessageHandler(() => new InMemoryLlmHandler());
                break;
            case "LlmObservability":
                services.AddLlmObservability().AddConsoleSink().AddJsonLinesFileSink(logs);
                services.AddHttpClient("client").ConfigurePrimaryHttpMessageHandler(() => new InMemoryLlmHandler()).AddLlmObservability();
                break;
            case "ExtendedHttpLogging":
                services.AddRedaction();
                services.AddHttpClient("client").ConfigurePrimaryHttpMessageHandler(() => new InMemoryLlmHandler())
                    .AddExtendedHttpClientLogging(options => options.LogBody = true);
                break;
            default:
                throw new ArgumentException($"Unknown idle case '{name}'.");
        }
    }

    /// <summary>The paced table's cases, as the CPU-time table's: ours with a null sink, extended logging to an enabled logger that discards.</summary>
    private static void ConfigurePaced(ServiceCollection services, string name)
    {
        services.AddLogging(logging => logging.ClearProviders().AddProvider(new DiscardingLoggerProvider()).SetMinimumLevel(LogLevel.Trace));
        switch (name)
        {
            case "Nothing":
                services.AddHttpClient("client").ConfigurePrimaryHttpMessageHandler(() => new InMemoryLlmHandler());
                break;
            case "LlmObservability":
                services.AddLlmObservability().AddSink(new CountingNullSink());
                services.AddHttpClient("client").ConfigurePrimaryHttpMessageHandler(() => new InMemoryLlmHandler()).AddLlmObservability();
                break;
            case "ExtendedHttpLogging":
                services.AddRedaction();
                services.AddHttpClient("client").ConfigurePrimaryHttpMessageHandler(() => new InMemoryLlmHandler())
                    .AddExtendedHttpClientLogging(options =>
                    {
                        options.LogBody = true;
                        options.RequestBodyContentTypes.Add("application/json");
                        options.ResponseBodyContentTypes.Add("application/json");
                    });
                break;
            default:
                throw new ArgumentException($"Unknown case '{name}'.");
        }
    }
}
