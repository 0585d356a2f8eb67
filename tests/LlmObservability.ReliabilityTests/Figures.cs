namespace LlmObservability.ReliabilityTests;

/// <summary>Prints the suite's figures so a run shows its numbers, not only pass/fail (docs/RELIABILITY.md quotes them).</summary>
internal static class Figures
{
    public static void Print(string test, params (string Name, object Value)[] figures)
    {
        var line = $"[reliability] {test}: " + string.Join(", ", figures.Select(f => $"{f.Name}={f.Value}"));
        TestContext.Out.WriteLine(line);
        TestContext.Progress.WriteLine(line);
    }
}
