using PublicApiGenerator;

namespace LlmObservability.Langfuse.Tests.PublicApi;

/// <summary>
/// Every change to the Langfuse package's public surface is deliberate: the generated API must equal the checked-in
/// approved file. After an intended change, copy the <c>.received.txt</c> this test writes over the <c>.approved.txt</c>.
/// </summary>
public class PublicApiTests
{
    [Test]
    public void The_langfuse_package_public_API_is_approved()
    {
        var assembly = typeof(LangfuseSink).Assembly;
        var actual = assembly.GeneratePublicApi(new ApiGeneratorOptions { ExcludeAttributes = ["System.Runtime.Versioning.TargetFrameworkAttribute", "System.Reflection.AssemblyMetadataAttribute"] });
        var directory = Path.GetDirectoryName(SourceFile())!;
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

    private static string SourceFile([System.Runtime.CompilerServices.CallerFilePath] string path = "") => path;
}
