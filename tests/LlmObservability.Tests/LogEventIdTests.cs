using System.Text.RegularExpressions;
using LlmObservability.Tests.Redaction;

namespace LlmObservability.Tests;

/// <summary>
/// Operators filter and alert on the library's log event IDs (README, "The library's own logs"), across all its
/// packages: one ID must mean one event. The shared sources (src/Shared) are compiled into several packages and log
/// the same events under the same IDs, so an ID is checked against its message, not against the file it stands in.
/// </summary>
public sealed partial class LogEventIdTests
{
    [GeneratedRegex("""\[LoggerMessage\(\s*EventId\s*=\s*(\d+)\s*,[^\]]*?Message\s*=\s*("(?:[^"\\]|\\.)*")""", RegexOptions.Singleline)]
    private static partial Regex LoggerMessage();

    private static IEnumerable<(int Id, string Message, string File)> Events()
    {
        var src = Path.Combine(RedactionTestData.RepoRoot.FullName, "src");
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)) continue;
            foreach (Match match in LoggerMessage().Matches(File.ReadAllText(file)))
            {
                yield return (int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value, Path.GetRelativePath(src, file));
            }
        }
    }

    [Test]
    public void Every_event_ID_means_one_event_across_the_packages()
    {
        var events = Events().ToList();
        Assert.That(events, Has.Count.GreaterThan(25), "the library's log messages were found");
        var clashes = events.GroupBy(e => e.Id).Where(g => g.Select(e => e.Message).Distinct().Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.File).Distinct())}").ToList();
        Assert.That(clashes, Is.Empty);
    }

    [Test]
    public void The_README_lists_every_event_ID()
    {
        var readme = File.ReadAllText(Path.Combine(RedactionTestData.RepoRoot.FullName, "README.md"));
        var missing = Events().Select(e => e.Id).Distinct().Where(id => !readme.Contains($"| {id} |", StringComparison.Ordinal)).Order().ToList();
        Assert.That(missing, Is.Empty, "event IDs not in the README's table");
    }
}
