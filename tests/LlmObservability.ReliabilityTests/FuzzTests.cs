using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Capture;
using LlmObservability.Payload;
using LlmObservability.Pricing;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// Fuzzed bodies and streams into every registered adapter: mutated fixtures (types swapped, keys dropped, unknown keys,
/// truncation, flipped bytes, invalid UTF-8), streams split at random with huge lines and missing end markers. Nothing
/// may escape: every case yields a payload that serializes. Seeds are fixed so a failure reproduces.
/// </summary>
public class FuzzTests
{
    private const int Seed = 20261122;
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    private static readonly string[] JsonFixtures = Directory.GetFiles(FixtureRoot, "*.json", SearchOption.AllDirectories).Select(File.ReadAllText).ToArray();
    private static readonly string[] StreamFixtures = Directory.GetFiles(FixtureRoot, "*.*", SearchOption.AllDirectories)
        .Where(f => f.EndsWith(".sse", StringComparison.Ordinal) || f.EndsWith(".ndjson", StringComparison.Ordinal)).Select(File.ReadAllText).ToArray();
    private static readonly byte[][] BinaryStreamFixtures = Directory.GetFiles(FixtureRoot, "*.bin", SearchOption.AllDirectories).Select(File.ReadAllBytes).ToArray();

    // By name: the adapter types are internal, and test methods are public.
    private static IEnumerable<string> Adapters() => ProviderDetector.All.Select(a => a.GetType().Name).Distinct();

    private static ProviderAdapter Adapter(string name) => ProviderDetector.All.First(a => a.GetType().Name == name);

    private static PayloadBuilder Builder() => new(new LlmObservabilityOptions { MaxContentChars = 10_000 }, TimeProvider.System, PriceCatalog.CreateDefault(), estimator: null);

    [TestCaseSource(nameof(Adapters))]
    public void Fuzzed_json_bodies_never_throw_and_always_yield_a_payload(string adapterName)
    {
        var adapter = Adapter(adapterName);
        var random = new Random(Seed);
        var builder = Builder();
        var notes = 0;
        const int cases = 1_500;
        for (var i = 0; i < cases; i++)
        {
            var request = Mutate(random, JsonFixtures[random.Next(JsonFixtures.Length)]);
            var response = Mutate(random, JsonFixtures[random.Next(JsonFixtures.Length)]);
            var record = NewRecord(adapter);
            record.RequestBody = request;
            record.HttpStatus = random.Next(4) switch { 0 => 400, 1 => 429, 2 => 500, _ => 200 };
            var capture = new ResponseCapture(record, null, StreamFraming.None, 1 << 20, null, TimeProvider.System, _ => { });
            foreach (var chunk in RandomChunks(random, response)) capture.OnBytes(chunk);
            capture.Complete(random.Next(5) == 0 ? CallEnd.Disposed : CallEnd.Completed);

            var payload = builder.Build(record);
            Assert.That(payload, Is.Not.Null);
            Assert.DoesNotThrow(() => LlmPayloadJson.Serialize(payload), $"case {i}");
            // What happened is recorded, whatever the body: an HTTP error is a failure with an error, and a success never
            // carries an error other than a note.
            if (record.HttpStatus >= 400)
            {
                Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure), $"case {i}: HTTP {record.HttpStatus}");
                Assert.That(payload.Error?.Type, Is.Not.Null.And.Not.Empty, $"case {i}: HTTP {record.HttpStatus}");
            }
            Assert.That(payload.HttpStatus, Is.EqualTo(record.HttpStatus), $"case {i}");
            if (payload.Status == LlmCallStatus.Success && payload.Error is { } error) Assert.That(error.Type, Is.EqualTo("capture_note"), $"case {i}");
            if (payload.Error is not null) notes++;
        }
        Figures.Print($"fuzz-bodies {adapter.GetType().Name}", ("cases", cases), ("with_error_or_note", notes), ("seed", Seed));
    }

    [TestCaseSource(nameof(Adapters))]
    public void Fuzzed_streams_never_throw_and_always_yield_a_payload(string adapterName)
    {
        var adapter = Adapter(adapterName);
        var random = new Random(Seed);
        var builder = Builder();
        var limits = new CaptureLimits(10_000, 4_096);
        const int cases = 600;
        var withText = 0;
        var ran = 0;
        foreach (var mediaType in new[] { "text/event-stream", "application/x-ndjson", "application/vnd.amazon.eventstream", "application/json" })
        {
            var framing = adapter.StreamFramingFor(mediaType);
            if (framing == StreamFraming.None) continue;
            for (var i = 0; i < cases; i++)
            {
                var stream = framing switch
                {
                    StreamFraming.AwsEventStream => MutateBinary(random, BinaryStreamFixtures[random.Next(BinaryStreamFixtures.Length)]),
                    StreamFraming.SkimmedJson => Mutate(random, JsonFixtures[random.Next(JsonFixtures.Length)]),
                    _ => MutateStream(random, StreamFixtures[random.Next(StreamFixtures.Length)]),
                };
                var record = NewRecord(adapter);
                record.HttpStatus = 200;
                record.IsEventStream = framing != StreamFraming.SkimmedJson;
                var capture = new ResponseCapture(record, limits, framing, 1 << 20, null, TimeProvider.System, _ => { });
                foreach (var chunk in RandomChunks(random, stream)) capture.OnBytes(chunk);
                capture.Complete((CallEnd)random.Next(1, 5), random.Next(3) == 0 ? new IOException("cut (fuzz)") : null);

                var end = record.End;
                var payload = builder.Build(record);
                Assert.DoesNotThrow(() => LlmPayloadJson.Serialize(payload), $"{mediaType} case {i}");
                // A stream that threw or was cancelled is a failure that says so; a success carries at most a note.
                if (end is CallEnd.Exception or CallEnd.Cancelled)
                {
                    Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Failure), $"{mediaType} case {i}: {end}");
                    Assert.That(payload.Error?.Type, Is.Not.Null.And.Not.Empty, $"{mediaType} case {i}: {end}");
                }
                if (payload.Status == LlmCallStatus.Success && payload.Error is { } error) Assert.That(error.Type, Is.EqualTo("capture_note"), $"{mediaType} case {i}");
                if (!string.IsNullOrEmpty(payload.Response?.Text)) withText++;
                ran++;
            }
        }
        Assert.That(ran, Is.GreaterThan(0), "the adapter streams in some framing");
        Figures.Print($"fuzz-streams {adapter.GetType().Name}", ("cases", ran), ("assembled_some_text", withText), ("seed", Seed));
    }

    private static CallRecord NewRecord(ProviderAdapter adapter) => new(new ProviderRoute(adapter, "fuzz", "http://127.0.0.1/v1", "/fuzz"))
    {
        Id = Guid.NewGuid().ToString(),
        StartTime = DateTimeOffset.UnixEpoch,
        StartTimestamp = TimeProvider.System.GetTimestamp(),
    };

    private static IEnumerable<byte[]> RandomChunks(Random random, byte[] bytes)
    {
        var at = 0;
        while (at < bytes.Length)
        {
            var size = random.Next(4) == 0 ? random.Next(1, 4) : random.Next(1, 512);
            size = Math.Min(size, bytes.Length - at);
            yield return bytes.AsSpan(at, size).ToArray();
            at += size;
        }
    }

    private static byte[] Mutate(Random random, string json)
    {
        var text = random.Next(3) == 0 ? json : MutateStructure(random, json);
        var bytes = Encoding.UTF8.GetBytes(text);
        switch (random.Next(6))
        {
            case 0: return bytes[..random.Next(bytes.Length + 1)]; // truncated
            case 1:
                for (var i = 0; i < 1 + random.Next(5); i++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256); // flipped bytes
                return bytes;
            case 2:
                var at = random.Next(bytes.Length);
                return [.. bytes[..at], 0xC3, 0x28, 0xFF, 0xFE, .. bytes[at..]]; // invalid UTF-8
            default: return bytes;
        }
    }

    private static string MutateStructure(Random random, string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return json;
        }
        for (var i = 0; i < 1 + random.Next(6); i++) root = MutateNode(random, root, depth: 0);
        return root?.ToJsonString() ?? "null";
    }

    private static JsonNode? MutateNode(Random random, JsonNode? node, int depth)
    {
        if (node is JsonObject obj && obj.Count > 0 && random.Next(4) != 0)
        {
            var key = obj.ElementAt(random.Next(obj.Count)).Key;
            switch (random.Next(4))
            {
                case 0: obj.Remove(key); break;
                case 1: obj["unknown_" + random.Next(1000)] = RandomValue(random); break;
                default: obj[key] = MutateNode(random, obj[key]?.DeepClone(), depth + 1); break;
            }
            return obj;
        }
        if (node is JsonArray array && array.Count > 0 && random.Next(4) != 0)
        {
            var index = random.Next(array.Count);
            array[index] = MutateNode(random, array[index]?.DeepClone(), depth + 1);
            if (random.Next(5) == 0) array.Add(RandomValue(random));
            return array;
        }
        return RandomValue(random);
    }

    private static JsonNode? RandomValue(Random random) => random.Next(9) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next() - 1_000_000),
        2 => JsonValue.Create(random.NextDouble() * 1e300),
        3 => JsonValue.Create(random.Next(2) == 0),
        4 => JsonValue.Create("s" + random.Next()),
        5 => new JsonArray(JsonValue.Create(1), null, new JsonObject()),
        6 => new JsonObject { ["type"] = "text", ["text"] = 5, ["index"] = "zero" },
        7 => JsonValue.Create(new string('z', random.Next(1, 50_000))),
        _ => new JsonObject(),
    };

    private static byte[] MutateBinary(Random random, byte[] original)
    {
        var bytes = (byte[])original.Clone();
        switch (random.Next(4))
        {
            case 0: return bytes[..random.Next(bytes.Length + 1)];
            case 1:
                for (var i = 0; i < 1 + random.Next(4); i++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                return bytes;
            case 2: return [.. bytes, .. bytes[..random.Next(bytes.Length + 1)]];
            default: return bytes;
        }
    }

    private static byte[] MutateStream(Random random, string stream)
    {
        var events = stream.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        var output = new StringBuilder();
        foreach (var line in events)
        {
            var roll = random.Next(20);
            if (roll == 0) continue; // dropped line (maybe the end marker)
            if (roll == 1) output.Append("data: ").Append(new string('x', random.Next(1, 300_000))).Append("\n\n"); // huge line
            if (roll == 2) output.Append(": keep-alive\n");
            var mutated = line;
            if (random.Next(4) == 0 && line.StartsWith("data: {", StringComparison.Ordinal)) mutated = "data: " + MutateStructure(random, line[6..]);
            else if (random.Next(6) == 0 && line.StartsWith('{')) mutated = MutateStructure(random, line);
            output.Append(mutated).Append(random.Next(8) == 0 ? "\r\n" : "\n");
        }
        if (random.Next(3) == 0)
        {
            var text = output.ToString();
            return Encoding.UTF8.GetBytes(text[..random.Next(text.Length + 1)]); // cut anywhere
        }
        var bytes = Encoding.UTF8.GetBytes(output.ToString());
        if (random.Next(4) == 0 && bytes.Length > 0) bytes[random.Next(bytes.Length)] = 0xFF; // invalid UTF-8
        return bytes;
    }
}

/// <summary>The redactor with random and adversarial input (10 MB of it): no exception, and the time it took is printed.</summary>
public class RedactorFuzzTests
{
    [Test]
    public void Random_and_adversarial_strings_never_throw_and_finish()
    {
        var redactor = new LlmObservability.Redaction.PiiRedactor();
        var random = new Random(20261122);
        const string alphabet = "0123456789 -.@:+/=_abcdefABCDEF\n\r\tsk-AKIAghp_xoxbeyJ[]{}\"'\\é漢\uD83D\uDE00";
        var inputs = new List<string>
        {
            new('1', 1 << 20), new('@', 1 << 20), string.Concat(Enumerable.Repeat("sk-", 300_000)), string.Concat(Enumerable.Repeat("a@b.", 250_000)),
            string.Concat(Enumerable.Repeat("1.1.1.", 200_000)), string.Concat(Enumerable.Repeat("::", 500_000)), string.Concat(Enumerable.Repeat("4111 ", 200_000)),
            string.Concat(Enumerable.Repeat("-----BEGIN PRIVATE KEY-----", 30_000)), string.Concat(Enumerable.Repeat("password=", 100_000)),
        };
        for (var i = 0; i < 200; i++)
        {
            var chars = new char[random.Next(1, 20_000)];
            for (var j = 0; j < chars.Length; j++) chars[j] = alphabet[random.Next(alphabet.Length)];
            inputs.Add(new string(chars));
        }

        var watch = System.Diagnostics.Stopwatch.StartNew();
        long characters = 0;
        foreach (var input in inputs)
        {
            string? redacted = null;
            Assert.DoesNotThrow(() => redacted = redactor.Redact(input));
            Assert.That(redactor.Find(redacted!), Is.Empty, "redacting twice finds nothing more");
            characters += input.Length;
        }
        Figures.Print("redactor-fuzz", ("inputs", inputs.Count), ("characters", characters), ("seconds", watch.Elapsed.TotalSeconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)),
            ("mb_per_second", (characters * 2 / 1e6 / watch.Elapsed.TotalSeconds).ToString("0", System.Globalization.CultureInfo.InvariantCulture)));
    }
}
