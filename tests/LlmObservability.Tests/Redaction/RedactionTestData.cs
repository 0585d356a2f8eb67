using System.Text.Json;

namespace LlmObservability.Tests.Redaction;

/// <summary>Finds the repository root and the shared PII data next to it, and reads the JSONL case files.</summary>
internal static class RedactionTestData
{
    /// <summary>The directory holding LlmObservability.sln, found by walking up from the test assembly.</summary>
    public static DirectoryInfo RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "LlmObservability.sln"))) return dir;
            }

            throw new DirectoryNotFoundException("No LlmObservability.sln above " + TestContext.CurrentContext.TestDirectory);
        }
    }

    /// <summary>
    /// <c>shared/data/pii</c>: a sibling of the repository (<c>&lt;repo&gt;/../shared/data/pii</c>), as in CI's clone, or
    /// inside a directory above the repository.
    /// </summary>
    public static DirectoryInfo PiiDataDirectory
    {
        get
        {
            for (var dir = RepoRoot; dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", "data", "pii");
                if (Directory.Exists(candidate)) return new DirectoryInfo(candidate);
                var sibling = dir.Parent is null ? null : Path.Combine(dir.Parent.FullName, "shared", "data", "pii");
                if (sibling is not null && Directory.Exists(sibling)) return new DirectoryInfo(sibling);
            }

            throw new DirectoryNotFoundException("shared/data/pii not found next to " + RepoRoot.FullName);
        }
    }

    public static string SupplementaryCasesPath
        => Path.Combine(RepoRoot.FullName, "tests", "LlmObservability.Tests", "Redaction", "Data", "supplementary-cases.jsonl");

    public static IReadOnlyList<SpanCase> ReadSpanCases(string path)
    {
        var result = new List<SpanCase>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var spans = root.GetProperty("expected_spans").EnumerateArray()
                .Select(s => (Start: s[0].GetInt32(), End: s[1].GetInt32())).ToList();
            result.Add(new SpanCase(
                root.GetProperty("entity").GetString()!,
                root.GetProperty("text").GetString()!,
                spans,
                root.GetProperty("source").GetString()!,
                root.GetProperty("kind").GetString()!,
                root.TryGetProperty("note", out var note) ? note.GetString() : null));
        }

        return result;
    }

    public static IReadOnlyList<SecretCase> ReadSecretCases(string path)
    {
        var result = new List<SecretCase>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            result.Add(new SecretCase(
                root.GetProperty("rule").GetString()!,
                root.GetProperty("text").GetString()!,
                root.GetProperty("expect_secret").GetBoolean(),
                root.GetProperty("source").GetString()!));
        }

        return result;
    }
}

internal sealed record SpanCase(string Entity, string Text, List<(int Start, int End)> ExpectedSpans, string Source, string Kind, string? Note);

internal sealed record SecretCase(string Rule, string Text, bool ExpectSecret, string Source);
