using System.Text;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Providers;
using LlmObservability.Telemetry;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The check every whole-body fast reader is held to (OpenAI chat, Anthropic, Responses, Gemini):
/// each body and <paramref name="mutationsPerBody"/> fuzzed variants of it are built into a whole payload twice, with
/// the fast path and without it, and the two payloads' JSON (with the service tier and speed, which the payload shows
/// only through the cost, and the span's system instructions, which it does not show) must be equal; a body the fast
/// reader declines must leave the record untouched. Half the cases cap content at 40 characters.
/// </summary>
internal sealed class WholeBodyDifferential(ProviderRoute route, JsonMutator mutator, int mutationsPerBody)
{
    public delegate bool TryRead(ReadOnlySpan<byte> body, CallRecord record, CaptureLimits limits);

    /// <summary>
    /// Runs the check, prints its figures as <paramref name="figure"/>, and asserts that the fast reader takes a good
    /// share of the bodies and declines some; <paramref name="call"/> makes the call's request and response from the
    /// body under test. Returns the figures, for a test to hold them to more.
    /// </summary>
    public (int Taken, int Declined) Check(string figure, List<byte[]> bodies, Func<byte[], (byte[] Request, byte[] Response)> call, TryRead tryRead, int seed)
    {
        var (taken, declined) = Compare(bodies, call, tryRead, seed);
        Figures.Print(figure, ("cases", taken + declined), ("taken_by_fast_reader", taken), ("declined", declined), ("seed", seed));
        Assert.That(taken, Is.GreaterThan(declined / 4), "the fast reader takes a good share of the bodies");
        Assert.That(declined, Is.GreaterThan(0), "some cases go to the document path");
        return (taken, declined);
    }

    /// <summary>Asserts that the fast reader takes each of <paramref name="bodies"/>: the shapes providers and SDKs send are not declined.</summary>
    public void AssertTakesAll(IEnumerable<byte[]> bodies, TryRead tryRead)
    {
        foreach (var body in bodies)
        {
            var record = new CallRecord(route) { Id = "id" };
            Assert.That(tryRead(body, record, new CaptureLimits(1000, 1000)), Is.True, Show(body));
            record.Release();
        }
    }

    private (int Taken, int Declined) Compare(List<byte[]> bodies, Func<byte[], (byte[] Request, byte[] Response)> call, TryRead tryRead, int seed)
    {
        var random = new Random(seed);
        int taken = 0, declined = 0;
        foreach (var original in bodies)
        {
            for (var i = 0; i <= mutationsPerBody; i++)
            {
                var body = i == 0 ? original : mutator.Mutate(random, original);
                var (request, response) = call(body);
                var capped = random.Next(2) == 0;
                var fast = Build(request, response, capped, fastPaths: true);
                var document = Build(request, response, capped, fastPaths: false);
                Assert.That(fast, Is.EqualTo(document), Show(body));

                // Straight to the reader: a declined body leaves the record as it was.
                var probe = NewRecord(request, response, capped);
                var before = State(probe);
                if (tryRead(body, probe, new CaptureLimits(capped ? 40 : 256 * 1024, 10_000)))
                {
                    probe.Release();
                    taken++;
                    continue;
                }
                declined++;
                Assert.That(State(probe), Is.EqualTo(before), $"declined, yet changed the record: {Show(body)}");
                Assert.That(Serialize(probe, capped, fastPaths: false), Is.EqualTo(document), $"declined, yet changed the payload: {Show(body)}");
            }
        }
        return (taken, declined);
    }

    private string Build(byte[] request, byte[] response, bool capped, bool fastPaths) => Serialize(NewRecord(request, response, capped), capped, fastPaths);

    private CallRecord NewRecord(byte[] request, byte[] response, bool capped)
    {
        var record = new CallRecord(route) { Id = "01a2042e-c44e-70b6-985f-e08986a749d5", RequestBody = request, HttpStatus = 200, End = CallEnd.Completed };
        record.AppendResponseBody(response, 1024 * 1024);
        return record;
    }

    private static string Serialize(CallRecord record, bool capped, bool fastPaths)
    {
        var options = new LlmObservabilityOptions { MaxContentChars = capped ? 40 : 256 * 1024, MaxErrorBodyChars = 10_000 };
        var builder = new PayloadBuilder(options, TimeProvider.System, PriceCatalog.CreateDefault(), estimator: null) { FastPaths = fastPaths };
        try
        {
            var payload = record.Build(builder);
            // The service tier and speed are in the payload only through the cost, and which messages are separate system
            // instructions only on spans: compared as read.
            return Encoding.UTF8.GetString(LlmPayloadJson.SerializeToUtf8Bytes(payload)) + "\nresponse_id=" + record.ResponseId
                + "\nservice_tier=" + record.ServiceTier + "\nspeed=" + record.Speed
                + "\nsystem_instructions=" + (payload.Messages is { } messages ? SpanContent.SystemInstructions(messages) : null);
        }
        finally
        {
            record.Release();
        }
    }

    /// <summary>What the body readers set on a record, before any payload is built from it.</summary>
    private static string State(CallRecord record) =>
        ChatChunkReaderTests.Snapshot(record, hadContent: false)
        + $"requested={record.RequestedModel}, stream={record.Stream}, 1h={record.CacheCreation1hTokens}, speed={record.Speed}, "
        + $"parameters={(record.ModelParameters is { } parameters ? string.Join("|", parameters.Select(p => $"{p.Key}:{p.Value.GetRawText()}")) : "<null>")}, "
        + $"messages={(record.Messages is { } messages ? string.Join("|", messages) : "<null>")}";

    public static string Show(byte[] json) => Encoding.UTF8.GetString(json);
}
