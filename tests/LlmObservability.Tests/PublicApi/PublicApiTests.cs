using PublicApiGenerator;

namespace LlmObservability.Tests.PublicApi;

/// <summary>
/// Every change to the public surface is deliberate: the generated API must equal the checked-in approved file. After an
/// intended change, copy the <c>.received.txt</c> this test writes over the <c>.approved.txt</c> beside it and commit both the
/// change and the new approved file.
/// </summary>
public class PublicApiTests
{
    private static readonly System.Reflection.Assembly[] Packages =
    [
        typeof(LlmObservabilityHandler).Assembly,
        typeof(LlmObservability.Sinks.Http.HttpLlmLogSink).Assembly,
    ];

    [TestCaseSource(nameof(Packages))]
    public void The_package_public_API_is_approved(System.Reflection.Assembly assembly)
    {
        var actual = assembly.GeneratePublicApi(new ApiGeneratorOptions { ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"] });
        var directory = Path.Combine(SourceDirectory(), "PublicApi");
        var approvedPath = Path.Combine(directory, $"{assembly.GetName().Name}.approved.txt");
        var receivedPath = Path.Combine(directory, $"{assembly.GetName().Name}.received.txt");
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : "";

        if (Normalize(approved) != Normalize(actual))
        {
            File.WriteAllText(receivedPath, actual);
            Assert.Fail($"The public API changed. Review {receivedPath}; if the change is intended, copy it over {approvedPath}.");
        }
        if (File.Exists(receivedPath)) File.Delete(receivedPath);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();

    private static string SourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        Path.GetDirectoryName(Path.GetDirectoryName(path))!;
}
