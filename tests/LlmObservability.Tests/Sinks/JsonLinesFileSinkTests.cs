using System.Text.Json;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Tests.Sinks;

public class JsonLinesFileSinkTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("llmobs-jsonl-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Writes_one_payload_per_line_into_a_file_per_UTC_day()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 22, 23, 59, 0, TimeSpan.Zero));
        var sink = new JsonLinesFileSink(new JsonLinesFileSinkOptions { Directory = _directory }, time);

        await sink.WriteBatchAsync([PayloadFactory.Create(id: "a"), PayloadFactory.Create(id: "b")], CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(2));
        await sink.WriteBatchAsync([PayloadFactory.Create(id: "c")], CancellationToken.None);

        var day1 = await File.ReadAllLinesAsync(Path.Combine(_directory, "llm-2026-11-22.jsonl"));
        var day2 = await File.ReadAllLinesAsync(Path.Combine(_directory, "llm-2026-11-23.jsonl"));
        Assert.That(day1.Select(l => LlmPayloadJson.Deserialize(l)!.Id), Is.EqualTo(new[] { "a", "b" }));
        Assert.That(day2.Select(l => LlmPayloadJson.Deserialize(l)!.Id), Is.EqualTo(new[] { "c" }));
    }

    [Test]
    public async Task Concurrent_writers_sharing_a_file_never_interleave_lines()
    {
        var writers = Enumerable.Range(0, 4).Select(_ => new JsonLinesFileSink(_directory)).ToArray();
        await Task.WhenAll(writers.Select((sink, w) => Task.Run(async () =>
        {
            for (var batch = 0; batch < 25; batch++)
            {
                var payloads = Enumerable.Range(0, 8).Select(i => PayloadFactory.Create(id: $"{w}-{batch}-{i}") with { Messages = [new LlmMessage { Role = "user", Content = new string('x', 3000) }] }).ToArray();
                await sink.WriteBatchAsync(payloads, CancellationToken.None);
            }
        })));

        var lines = Directory.GetFiles(_directory).SelectMany(File.ReadAllLines).ToArray();
        Assert.That(lines, Has.Length.EqualTo(4 * 25 * 8));
        var ids = lines.Select(l => LlmPayloadJson.Deserialize(l)!.Id).ToHashSet();
        Assert.That(ids, Has.Count.EqualTo(800), "every line whole and distinct");
    }

    [Test]
    public void Rejects_an_empty_directory_or_a_bad_prefix()
    {
        Assert.Throws<ArgumentException>(() => _ = new JsonLinesFileSink(new JsonLinesFileSinkOptions { Directory = " " }));
        Assert.Throws<ArgumentException>(() => _ = new JsonLinesFileSink(new JsonLinesFileSinkOptions { Directory = _directory, FilePrefix = "a/b\0" }));
    }
}
