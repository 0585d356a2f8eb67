using System.Runtime.CompilerServices;

namespace LlmObservability.Tests.Pricing;

internal static class PricingFixtures
{
    /// <summary>The LiteLLM-format sample, read from the source tree beside this file.</summary>
    public static string LiteLlmSamplePath => Path.Combine(Directory(), "Fixtures", "litellm-sample.json");

    private static string Directory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
