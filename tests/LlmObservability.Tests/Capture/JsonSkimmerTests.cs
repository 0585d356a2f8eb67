using System.Text;
using System.Text.Json;
using LlmObservability.Capture;

namespace LlmObservability.Tests.Capture;

public class JsonSkimmerTests
{
    private sealed class Recorder : IStreamEventHandler
    {
        public List<string> Events { get; } = [];

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events.Add(Encoding.UTF8.GetString(data.Span));
    }

    private static (List<string> Events, int Oversized) Skim(string json, int? chunkSize = null, int cap = 64 * 1024)
    {
        var recorder = new Recorder();
        using var skimmer = new JsonSkimmer(recorder, cap);
        var bytes = Encoding.UTF8.GetBytes(json);
        foreach (var chunk in StubHandler.Split(bytes, chunkSize ?? Math.Max(bytes.Length, 1))) skimmer.Feed(chunk);
        return (recorder.Events, skimmer.OversizedEvents);
    }

    private static string Normalised(string json) => JsonSerializer.Serialize(JsonDocument.Parse(json).RootElement);

    [Test]
    public void Top_level_arrays_become_their_lengths_and_everything_else_is_kept()
    {
        const string body = """
            { "object": "list",
              "data": [ {"object":"embedding","index":0,"embedding":[0.1, -0.2, [3]]}, {"embedding":"AAAA\"]}[{"} ],
              "empty": [ ],
              "scalars": [1, "two, three", null, {"a":[1,2]}],
              "model": "m]\"{", "usage": {"prompt_tokens": 8, "nested": [1, 2, 3]} }
            """;
        var (events, oversized) = Skim(body);

        Assert.That(oversized, Is.Zero);
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(Normalised(events[0]), Is.EqualTo(Normalised("""
            {"object":"list","data":2,"empty":0,"scalars":4,"model":"m]\"{","usage":{"prompt_tokens":8,"nested":[1,2,3]}}
            """)), "nested arrays below the top level are kept; strings with brackets, quotes and commas do not confuse it");
    }

    [Test]
    public void Any_split_of_the_body_gives_the_same_event()
    {
        const string body = "{\"a\":\"x\\\\\\\"[\",\"data\":[[1,2],[3]],\"u\":{\"t\":\"\\u005b\"}}";
        var whole = Skim(body).Events.Single();
        for (var size = 1; size <= body.Length; size++)
        {
            Assert.That(Skim(body, size).Events, Is.EqualTo(new[] { whole }), $"chunks of {size}");
        }
        Assert.That(JsonDocument.Parse(whole).RootElement.GetProperty("data").GetInt32(), Is.EqualTo(2));
        Assert.That(JsonDocument.Parse(whole).RootElement.GetProperty("a").GetString(), Is.EqualTo("x\\\"["));
    }

    [Test]
    public void Bytes_after_the_object_are_ignored()
    {
        var (events, _) = Skim("{\"a\":1}\n{\"b\":2}");
        Assert.That(events, Is.EqualTo(new[] { "{\"a\":1}" }));
    }

    [Test]
    public void A_top_level_array_is_not_skimmed()
    {
        var (events, oversized) = Skim("[1,2,3]");
        Assert.That(events, Is.Empty);
        Assert.That(oversized, Is.EqualTo(1));
    }

    [Test]
    public void A_skimmed_document_over_the_cap_is_dropped_and_counted()
    {
        var (events, oversized) = Skim("{\"long\":\"" + new string('x', 100) + "\",\"data\":[1]}", cap: 50);
        Assert.That(events, Is.Empty);
        Assert.That(oversized, Is.EqualTo(1));
    }

    [Test]
    public void A_body_that_ends_early_gives_nothing()
    {
        var (events, oversized) = Skim("{\"data\":[[1,2],[3");
        Assert.That(events, Is.Empty);
        Assert.That(oversized, Is.Zero);
    }
}
