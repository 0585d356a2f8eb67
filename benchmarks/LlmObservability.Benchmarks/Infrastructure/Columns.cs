using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// Columns for the allocation target: "Body bytes" is what passes through the handler per call (request + response
/// body), "Extra alloc" is this row's allocated bytes per call minus the baseline's (bare HttpClient, same transport,
/// same run), and "Extra/body" is their ratio (target: at most 2).
/// </summary>
public sealed class CaptureAllocationConfig : ManualConfig
{
    public CaptureAllocationConfig()
    {
        AddColumn(new BodyBytesColumn(), new ExtraAllocColumn(perBodyByte: false), new ExtraAllocColumn(perBodyByte: true));
    }

    internal static int BodyBytes(BenchmarkCase benchmarkCase)
    {
        var streaming = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Streaming")?.Value is true;
        return ChatFixtures.BytesPerCall(streaming);
    }

    private sealed class BodyBytesColumn : SimpleColumn
    {
        public override string Id => "BodyBytes";
        public override string ColumnName => "Body bytes";
        public override string Legend => "Request + response body bytes per call (what the handler captures or parses)";

        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            BodyBytes(benchmarkCase).ToString("N0", CultureInfo.InvariantCulture);
    }

    private sealed class ExtraAllocColumn(bool perBodyByte) : SimpleColumn
    {
        public override string Id => perBodyByte ? "ExtraPerBody" : "ExtraAlloc";
        public override string ColumnName => perBodyByte ? "Extra/body" : "Extra alloc";
        public override string Legend => perBodyByte
            ? "Extra alloc divided by Body bytes (target for our handler: at most 2)"
            : "Allocated bytes per call minus the baseline's (same transport, same run)";

        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var mine = Allocated(summary, benchmarkCase);
            var baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
            var theirs = baseline is null ? null : Allocated(summary, baseline);
            if (mine is null || theirs is null) return "?";
            var extra = mine.Value - theirs.Value;
            return perBodyByte
                ? (extra / (double)BodyBytes(benchmarkCase)).ToString("0.00", CultureInfo.InvariantCulture)
                : extra.ToString("N0", CultureInfo.InvariantCulture) + " B";
        }

        private static long? Allocated(Summary summary, BenchmarkCase benchmarkCase) =>
            summary[benchmarkCase] is { } report ? report.GcStats.GetBytesAllocatedPerOperation(benchmarkCase) : null;
    }
}

/// <summary>Throughput column for benchmarks whose operation is one payload (OperationsPerInvoke = the batch size).</summary>
public sealed class PayloadsPerSecondConfig : ManualConfig
{
    public PayloadsPerSecondConfig() => AddColumn(new PayloadsPerSecondColumn());

    private sealed class PayloadsPerSecondColumn : SimpleColumn
    {
        public override string Id => "PayloadsPerSecond";
        public override string ColumnName => "Payloads/s";
        public override string Legend => "Payloads carried per second, enqueue to sink (1 / Mean per payload)";

        public override string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            summary[benchmarkCase]?.ResultStatistics is { Mean: > 0 } stats
                ? (1e9 / stats.Mean).ToString("N0", CultureInfo.InvariantCulture)
                : "?";
    }
}

/// <summary>What every column of ours has in common.</summary>
public abstract class SimpleColumn : IColumn
{
    public abstract string Id { get; }
    public abstract string ColumnName { get; }
    public abstract string Legend { get; }
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;

    public abstract string GetValue(Summary summary, BenchmarkCase benchmarkCase);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
