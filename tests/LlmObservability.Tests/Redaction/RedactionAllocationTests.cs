using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

[TestFixture]
public sealed class RedactionAllocationTests
{
    /// <summary>
    /// Realistic chat text with no personal data or secrets but plenty of trigger characters (digits, ':', '=', '-',
    /// '_', '@', capitals), so every detector runs and rejects.
    /// </summary>
    private const string CleanChat =
        "User: Can you explain how to configure retries in Polly v8? I tried MaxRetryAttempts = 3 and Delay = 00:00:02.\n" +
        "Assistant: Sure! In Polly 8.4 you build a ResiliencePipeline. Set BackoffType = DelayBackoffType.Exponential, " +
        "UseJitter = true, and keep timeouts around 10-30 seconds. A typical config: max_attempts: 3, base_delay_ms: 200.\n" +
        "User: Thanks. Also, what does HTTP 429 mean at 14:05 UTC on 2024-03-12? We saw ~1,250 requests/min.\n" +
        "Assistant: 429 is Too Many Requests. Respect the Retry-After header (e.g. 30) and add a token-bucket limiter; " +
        "at 1,250 req/min you are above the 1,000 RPM tier. See section 4.2 of the docs, and @RateLimiter attributes in Java.\n" +
        "User: Our service_name is checkout-api and version is 2.3.1; the A/B test uses bucket_id=7 and ratio 1:2:3.\n" +
        "Assistant: Great. Use a_b_test flags, log max_tokens: 1024 and temperature=0.7, and compare p95 latency (812 ms).";

    [Test]
    public void Redacting_clean_text_allocates_nothing()
    {
        var redactor = new PiiRedactor();
        for (var i = 0; i < 100; i++) redactor.Redact(CleanChat); // warm up: tiering, static tables, pools
        var counts = new Dictionary<string, int>();

        var before = GC.GetAllocatedBytesForCurrentThread();
        string result = CleanChat;
        for (var i = 0; i < 100; i++) result = redactor.Redact(CleanChat, counts);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(result, Is.SameAs(CleanChat));
        Assert.That(counts, Is.Empty);
        Assert.That(allocated, Is.Zero);
    }
}
