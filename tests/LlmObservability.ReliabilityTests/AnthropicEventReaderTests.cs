using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The Anthropic stream parser with its fast event reader (<see cref="AnthropicEventReader"/>, and its per-stream
/// <see cref="DeltaShape"/> memo) against the same parser reading every event through a <see cref="JsonDocument"/>.
/// Whole streams (the fixtures', hand-written ones, and both with events fuzzed or their delta text swapped) go through
/// both, event by event: after each event the record, the event's content flag and the end flag must be the same, and
/// an event must fail both or neither. Fixed seed.
/// </summary>
public class AnthropicEventReaderTests
{
    private const int Seed = 20261123;
    private const int Rounds = 300;
    private static readonly CaptureLimits Limits = new(MaxContentChars: 60, MaxErrorBodyChars: 1_000);
    private static readonly ProviderRoute Route = new(AnthropicMessagesAdapter.Instance, "anthropic", "https://api.anthropic.com", "/v1/messages");

    /// <summary>Streams of edge cases, each event as (SSE event name, data).</summary>
    private static readonly (string? Type, string Data)[][] EdgeStreams =
    [
        [
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"plain"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\ud800 lone"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"x","text":"y"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","type":"ping","index":0,"delta":{"type":"text_delta","text":"dup type"}}"""),
            ("content_block_delta", """{"index":0,"delta":{"type":"text_delta","text":"no type: the event name decides"}}"""),
            ("ping", """{"type":7,"index":0,"delta":{"type":"text_delta","text":"type not a string"}}"""),
            ("content_block_delta", """{"type":"content_block_d\u0065lta","index":0,"delta":{"type":"text_delta","text":"escaped type"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","ind\u0065x":3,"delta":{"type":"text_delta","text":"escaped name"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":"0","delta":{"type":"text_delta","text":"index as text"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0.0,"delta":{"type":"text_delta","text":"index as a fraction"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":-4,"delta":{"type":"text_delta","text":"negative index"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":null,"delta":{"type":"text_delta","text":"null index"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":[1],"delta":{"type":"text_delta","text":"array index"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":99999999999999999999,"delta":{"type":"text_delta","text":"huge index"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":"not an object"}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":null}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"citations_delta","citation":{"cited_text":"c"}}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAh"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"text":"text before type","type":"text_delta"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_d\u0065lta","text":"escaped delta type"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a text well over the sixty characters of the cap in this test, cut"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"trailing"}} x"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"trailing comma"},}"""),
            ("content_block_delta", """[{"type":"content_block_delta"}]"""),
            ("content_block_delta", """ "just a string" """),
            ("content_block_delta", """  {"type" : "content_block_delta" , "index" : 0 , "delta" : { "type" : "text_delta" , "text" : "spaces" } }  """),
            ("content_block_stop", """{"type":"content_block_stop","index":0}"""),
            ("message_stop", """{"type":"message_stop"}"""),
        ],
        [
            ("content_block_start", """{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"First, "}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"then."}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}"""),
            ("content_block_stop", """{"type":"content_block_stop","index":0}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":2,"delta":{"type":"thinking_delta","thinking":"a block never started"}}"""),
            ("content_block_start", """{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"b\":"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"2}"}}"""),
            ("content_block_stop", """{"type":"content_block_stop","index":1}"""),
            ("content_block_stop", """{"type":"content_block_stop","index":1}"""),
            ("content_block_start", """{"type":"content_block_start","index":3,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"q"}}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"orphan"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":-1,"delta":{"type":"input_json_delta","partial_json":"below zero"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":4294967296,"delta":{"type":"input_json_delta","partial_json":"past int"}}"""),
            ("content_block_delta", """{"type":"content_block_delta","index":-7,"delta":{"type":"thinking_delta","thinking":"below zero"}}"""),
            ("content_block_stop", """{"type":"content_block_stop","index":-1}"""),
            ("ping", """{"type": "ping"}"""),
            ("message_delta", """{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":90}}"""),
            ("error", """{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"""),
        ],
    ];

    private static readonly byte[] InvalidUtf8Delta = [.. """{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"bad """u8, 0xFF, .. " utf8\"}}"u8];

    [Test]
    public void The_fast_reader_records_exactly_what_the_document_path_records()
    {
        var streams = FixtureStreams().Concat(EdgeStreams.Select(s => s.Select(e => (e.Type, Encoding.UTF8.GetBytes(e.Data))).ToList())).ToList();
        streams[^1].Insert(3, ("content_block_delta", InvalidUtf8Delta));
        Assert.That(streams.Count, Is.GreaterThan(5), "fixture streams were found");
        var shaped = 0;
        var (events, taken, declined, failed) = EventStreamDifferential.Compare(
            streams, Rounds, new Random(Seed), Vary, Route,
            record => AnthropicMessagesAdapter.Instance.CreateStreamParser(record, Limits),
            record => AnthropicMessagesAdapter.CreateDocumentStreamParser(record, Limits),
            () =>
            {
                var shape = new DeltaShape(); // follows the parser's own memo, to count what took which path
                return data =>
                {
                    if (data.Length == 0) return null; // the parser returns before reading an empty event
                    if (shape.Matches(data, out _)) shaped++;
                    return AnthropicEventReader.ForThisThread.TryRead(data, shape, out _);
                };
            });
        Figures.Print("anthropic-event-reader", ("events", events), ("taken_by_fast_reader", taken), ("from_the_delta_shape", shaped), ("declined", declined), ("failed", failed), ("seed", Seed));
        // Declined: each stream's start, block starts and message delta (by design), the edge cases, and broken mutants.
        Assert.That(taken, Is.GreaterThan(declined / 2), "the fast reader takes a good share of the events");
        Assert.That(shaped, Is.GreaterThan(events / 40), "deltas in the previous delta's shape take the shortest path");
        Assert.That(declined, Is.GreaterThan(0), "some events go to the document path");
    }

    private static byte[] Vary(Random random, byte[] data)
    {
        switch (random.Next(6))
        {
            case 0: return Mutator.Mutate(random, data);
            case 1 or 2 when EventStreamDifferential.StringAt(data, ["text", "partial_json", "thinking"]) is var (start, end) && start > 0:
                // The same delta with other text in its string (plain words take the previous delta's shape).
                return [.. data[..start], .. EventStreamDifferential.Texts[random.Next(EventStreamDifferential.Texts.Length)], .. data[end..]];
            default: return data;
        }
    }

    private static IEnumerable<List<(string? Type, byte[] Data)>> FixtureStreams() => EventStreamDifferential.FixtureStreams("anthropic", "messages-stream*.sse");

    private static readonly JsonMutator Mutator = new(
        ["type", "index", "delta", "text", "partial_json", "thinking", "content_block", "message", "usage", "stop_reason", "error"],
        RandomValue);

    private static JsonNode? RandomValue(Random random) => random.Next(13) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(-2, 4)),
        2 => JsonValue.Create(random.NextDouble() * 3),
        3 => JsonValue.Create("1"),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create("text é \n \"q\""),
        6 => JsonValue.Create(true),
        7 => new JsonArray(),
        8 => new JsonObject(),
        9 => JsonValue.Create(random.Next(4) switch { 0 => "content_block_delta", 1 => "content_block_stop", 2 => "message_stop", _ => "ping" }),
        10 => new JsonObject { ["type"] = random.Next(3) switch { 0 => "text_delta", 1 => "input_json_delta", _ => "thinking_delta" }, ["text"] = "t", ["partial_json"] = "{", ["thinking"] = "h" },
        11 => JsonValue.Create(random.Next(3) switch { 0 => "text_delta", 1 => "input_json_delta", _ => "thinking_delta" }),
        _ => JsonValue.Create(long.MaxValue),
    };
}
