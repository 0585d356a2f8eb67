using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The fast reader for Gemini's <c>GenerateContentResponse</c> (<see cref="GeminiResponseReader"/>) against the
/// <see cref="JsonDocument"/> path it short-cuts, both ways it is used: whole <c>generateContent</c> bodies through
/// <see cref="WholeBodyDifferential"/> (the fixtures' responses, bodies shaped as Google's API sends them, hand-written
/// edge cases and fuzzed variants), and <c>streamGenerateContent?alt=sse</c> streams through
/// <see cref="EventStreamDifferential"/> (the fixtures' streams, a generated one, hand-written ones, and all of them with
/// chunks fuzzed or their text swapped), the stream parser with the fast reader beside the one reading every chunk
/// through a document. Fixed seeds.
/// </summary>
public class GeminiResponseReaderTests
{
    private const int BodySeed = 20261130;
    private const int StreamSeed = 20261131;
    private const int MutationsPerBody = 200;
    private const int Rounds = 300;
    private static readonly CaptureLimits StreamLimits = new(MaxContentChars: 60, MaxErrorBodyChars: 1_000);
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures", "gemini");
    private static readonly ProviderRoute Route = new(GeminiGenerateContentAdapter.Instance, "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash:generateContent");
    private static readonly ProviderRoute StreamRoute = Route with { Endpoint = "/models/gemini-2.5-flash:streamGenerateContent" };

    private static readonly JsonMutator Mutator = new(
        ["candidates", "responseId", "modelVersion", "promptFeedback", "blockReason", "usageMetadata", "error", "index", "finishReason", "content",
         "parts", "role", "text", "thought", "thoughtSignature", "functionCall", "id", "name", "args", "promptTokenCount", "toolUsePromptTokenCount",
         "candidatesTokenCount", "totalTokenCount", "cachedContentTokenCount", "thoughtsTokenCount", "groundingMetadata", "safetyRatings", "trafficType"],
        RandomValue);

    private static readonly WholeBodyDifferential Differential = new(Route, Mutator, MutationsPerBody);

    /// <summary>Whole bodies, and stream chunks too: each is one <c>GenerateContentResponse</c>.</summary>
    private static readonly string[] EdgeCases =
    [
        """{}""",
        """{"responseId":"","modelVersion":"","candidates":[],"promptFeedback":{},"usageMetadata":{}}""",
        """{"responseId":null,"modelVersion":null,"candidates":null,"promptFeedback":null,"usageMetadata":null,"error":null}""",
        """{"responseId":5,"modelVersion":[1],"candidates":{"index":0},"promptFeedback":"BLOCKED","usageMetadata":7}""",
        """{"responseId":"a","responseId":"b"}""",
        """{"modelVersion":"m","modelVersion":"n"}""",
        """{"candidates":[],"candidates":[]}""",
        """{"usageMetadata":{},"usageMetadata":{}}""",
        """{"resp\u006fnseId":"escaped name"}""",
        """{"responseId":"caf\u00e9 \ud83d\ude00"}""",
        """{"responseId":"\ud800 lone"}""",
        """{"modelVersion":"gemini-\u0032.5-flash"}""",
        """{"modelVersion":"\udc00"}""",
        """{"error":{"code":500,"message":"Internal error","status":"INTERNAL"}}""",
        """{"candidates":[{"content":{"parts":[{"text":"with an error"}]}}],"error":{"code":503,"status":"UNAVAILABLE"}}""",
        """{"error":"plain error text"}""",
        """{"error":{}}""",
        """{"candidates":[{"content":{"parts":[{"text":"a"}]},"index":0}],"error":null}""",
        """{"candidates":[{"content":{"parts":[{"text":"plain"},{"text":""},{"text":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"},{"text":5},{"text":null},{},5,null,[1],"str"],"role":"model"},"index":0}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"\ud800 lone"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"\udfff"}]},"index":1}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"x","text":"y"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"t\u0065xt":"escaped name"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"t","thought":true,"thought":false}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"thinking","thought":true},{"text":"not thought","thought":false},{"text":"thought null","thought":null},{"text":"thought as text","thought":"true"},{"thought":true,"text":"thought first"},{"text":"","thought":true}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"a text well over the sixty characters of the cap in this test, and a bit more"},{"text":"then more"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"exactly forty characters, not one more!"},{"text":"exactly sixty characters of text, which is the stream's cap!"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"a thought well over the sixty characters of the cap in this test, cut off","thought":true}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris, France","nested":[1,{"a":null}],"e":"caf\u00e9"}}},{"functionCall":{"id":"call_1","name":"f","args":  { "spaced" : [ 1 , 2 ] } }},{"functionCall":{"name":"no_args"}},{"functionCall":{"name":"null_args","args":null}},{"functionCall":{"name":"text_args","args":"text"}},{"functionCall":{"name":"number_args","args":12.5}},{"functionCall":{}},{"functionCall":"not an object"},{"functionCall":null}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"\ud800","args":{}}}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"bad":"\ud800"}}}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","name":"g"}}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"functionCall":{"id":5,"name":["n"],"args":[]}}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"","functionCall":{"name":"empty_text_then_call","args":{}}},{"text":"text wins","functionCall":{"name":"not_read"}},{"text":7,"functionCall":{"name":"numeric_text_then_call"}}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"CiQB0e2Kb7Yx"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo"}},{"executableCode":{"language":"PYTHON","code":"print(1)"}},{"codeExecutionResult":{"outcome":"OUTCOME_OK","output":"1"}}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"first"}]},"index":0,"finishReason":"STOP"},{"content":{"parts":[{"text":"second"}]},"index":1,"finishReason":"MAX_TOKENS"},{"content":{"parts":[{"text":"third"}]},"index":2,"finishReason":"STOP"}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"by position 0"}]},"finishReason":"STOP"},{"content":{"parts":[{"text":"by position 1"}]},"finishReason":"SAFETY"}]}""",
        """{"candidates":[{"index":1,"content":{"parts":[{"text":"index 1 first"}]},"finishReason":"STOP"},{"index":0,"content":{"parts":[{"text":"index 0 second"}]},"finishReason":"LENGTH"}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"no index, position 0"}]}},{"index":0,"content":{"parts":[{"text":"also index 0"}]}}]}""",
        """{"candidates":[5,null,"x",[],{"content":{"parts":[{"text":"position 4"}]}},{"index":null,"content":{"parts":[{"text":"null index, position 5"}]}}]}""",
        """{"candidates":[{"index":"0","content":{"parts":[{"text":"index as text"}]}}]}""",
        """{"candidates":[{"index":0.0,"content":{"parts":[{"text":"index as a fraction"}]}}]}""",
        """{"candidates":[{"index":1e0,"content":{"parts":[{"text":"index with an exponent"}]}}]}""",
        """{"candidates":[{"index":-0,"content":{"parts":[{"text":"minus zero"}]}}]}""",
        """{"candidates":[{"index":-1,"content":{"parts":[{"text":"negative index"}]},"finishReason":"STOP"}]}""",
        """{"candidates":[{"index":true,"content":{"parts":[{"text":"index true"}]}}]}""",
        """{"candidates":[{"index":99999999999999999999,"content":{"parts":[{"text":"huge index"}]}}]}""",
        """{"candidates":[{"index":0,"index":1,"content":{"parts":[{"text":"index twice"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"a"}]},"content":{"parts":[{"text":"b"}]}}]}""",
        """{"candidates":[{"content":{"parts":[{"text":"a"}],"parts":[{"text":"b"}]}}]}""",
        """{"candidates":[{"content":{"role":"model"},"finishReason":"STOP"},{"content":"text"},{"content":{"parts":{"text":"parts not an array"}}},{"content":{"parts":null}},{"content":null}]}""",
        """{"candidates":[{"finishReason":"STOP","finishReason":"SAFETY"}]}""",
        """{"candidates":[{"finishReason":""},{"finishReason":5},{"finishReason":null},{"finishReason":"S\u0054OP"},{"finishReason":"RECITATION"}]}""",
        """{"candidates":[{"finishReason":"\ud800"}]}""",
        """{"candidates":[{"finishReason":"STOP","content":{"parts":[{"text":"\ud800"}]},"index":3}]}""",
        """{"candidates":[{"finishReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"HIGH","blocked":true}],"index":0}]}""",
        """{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}}""",
        """{"promptFeedback":{"blockReason":"OTHER","blockReason":"SAFETY"}}""",
        """{"promptFeedback":{"blockReason":""},"candidates":[{"finishReason":"STOP"}]}""",
        """{"promptFeedback":{"blockReason":7}}""",
        """{"promptFeedback":{"blockReason":"\udc00"}}""",
        """{"promptFeedback":{"blockReason":"BLOCKLIST"},"candidates":[{"finishReason":"STOP","content":{"parts":[{"text":"both"}]}}]}""",
        """{"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":17,"totalTokenCount":368,"toolUsePromptTokenCount":272,"thoughtsTokenCount":67,"cachedContentTokenCount":4}}""",
        """{"usageMetadata":{"toolUsePromptTokenCount":272}}""",
        """{"usageMetadata":{"promptTokenCount":null,"toolUsePromptTokenCount":null,"candidatesTokenCount":null}}""",
        """{"usageMetadata":{"promptTokenCount":"12"}}""",
        """{"usageMetadata":{"candidatesTokenCount":12.0}}""",
        """{"usageMetadata":{"totalTokenCount":1e3}}""",
        """{"usageMetadata":{"thoughtsTokenCount":-4,"cachedContentTokenCount":0}}""",
        """{"usageMetadata":{"promptTokenCount":1,"promptTokenCount":2}}""",
        """{"usageMetadata":{"toolUsePromptTokenCount":1,"toolUsePromptTokenCount":2}}""",
        """{"usageMetadata":{"promptTokenCount":true,"candidatesTokenCount":[1],"totalTokenCount":{},"thoughtsTokenCount":"x"}}""",
        """{"usageMetadata":{"promptTokenCount":9223372036854775808}}""",
        """{"usageMetadata":{"promptTokenCount":9223372036854775807,"toolUsePromptTokenCount":0}}""",
        """{"usageMetadata":{"promptTok\u0065nCount":5}}""",
        """{"usageMetadata":{"promptTokensDetails":[{"modality":"TEXT","tokenCount":9}],"trafficType":"ON_DEMAND"}}""",
        """{"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2,"trafficType":"ON_DEMAND_PRIORITY"},"modelVersion":"gemini-2.5-flash"}""",
        """{"usageMetadata":{"trafficType":"ON_DEMAND_FLEX","trafficType":"ON_DEMAND"}}""",
        """{"usageMetadata":{"trafficType":5}}""",
        """{"usageMetadata":{"trafficType":null}}""",
        """{"usageMetadata":{"trafficType":"\ud800"}}""",
        """{"usageMetadata":{"trafficType":"PROVISIONED_\u0054HROUGHPUT"}}""",
        """{"candidates":[{"content":{"parts":[{"text":"a"}]}}],}""",
        """{"candidates":[{"content":{"parts":[{"text":"a"}]}}]} x""",
        """[{"candidates":[{"content":{"parts":[{"text":"array root"}]}}]}]""",
        """ "just a string" """,
        """  { "responseId" : "r1" , "candidates" : [ { "content" : { "parts" : [ { "text" : "spaces" } ] } , "finishReason" : "STOP" } ] , "usageMetadata" : { "promptTokenCount" : 1 } }  """,
    ];

    // Not valid UTF-8 inside a string value.
    private static readonly byte[] InvalidUtf8 = [.. "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"bad "u8, 0xFF, .. " utf8\"}]}}]}"u8];

    [Test]
    public void The_fast_reader_builds_exactly_the_payload_the_document_path_builds_from_a_whole_body()
    {
        var request = File.ReadAllBytes(Path.Combine(FixtureRoot, "generate-content-request.json"));
        var bodies = FixtureBodies().Concat(GeneratedBodies).Concat(EdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8)
            .Concat(Directory.GetFiles(FixtureRoot, "error-*.json").Order(StringComparer.Ordinal).Select(File.ReadAllBytes)) // an error's shape in a 200
            .ToList();
        Assert.That(bodies, Has.Count.GreaterThan(EdgeCases.Length + 6), "fixture responses were found");
        var (taken, declined) = Differential.Check("gemini-response-reader-body", bodies, body => (request, body), GeminiResponseReader.TryReadResponse, BodySeed);
        // Most bodies here are edge cases and their mutants, which are declined by design; each side must still be well tried.
        Assert.That(taken, Is.GreaterThan((taken + declined) / 4), "the fast reader takes a good share of the bodies");
        Assert.That(declined, Is.GreaterThan((taken + declined) / 10), "a good share of the bodies go to the document path");
    }

    [Test]
    public void The_fast_reader_records_exactly_what_the_document_path_records_from_a_stream()
    {
        var streams = FixtureStreams()
            .Append(GeneratedStream)
            .Append(EdgeCases.Select(e => ((string?)null, Encoding.UTF8.GetBytes(e))).Append((null, InvalidUtf8)).ToList())
            .Concat(EdgeStreams.Select(s => s.Select(e => ((string?)null, Encoding.UTF8.GetBytes(e))).ToList()))
            .ToList();
        Assert.That(streams.Count, Is.GreaterThan(4), "fixture streams were found");
        var (events, taken, declined, failed) = EventStreamDifferential.Compare(
            streams, Rounds, new Random(StreamSeed), Vary, StreamRoute,
            record => GeminiGenerateContentAdapter.Instance.CreateStreamParser(record, StreamLimits),
            record => GeminiGenerateContentAdapter.CreateDocumentStreamParser(record, StreamLimits),
            () =>
            {
                // Follows the fast parser's own record (the reader looks at whether it holds an ID and model yet), to count what took which path.
                var record = new CallRecord(StreamRoute) { Id = "probe" };
                var document = GeminiGenerateContentAdapter.CreateDocumentStreamParser(record, StreamLimits);
                return data =>
                {
                    if (GeminiResponseReader.ForThisThread.TryRead(data, record, StreamLimits, out _, out _)) return true;
                    try
                    {
                        document.OnEvent(null, data);
                    }
                    catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
                    {
                    }
                    return false;
                };
            });
        Figures.Print("gemini-response-reader-stream", ("events", events), ("taken_by_fast_reader", taken), ("declined", declined), ("failed", failed), ("seed", StreamSeed));
        // Declined: errors and edge cases by design, and broken mutants; a real stream's chunks are all taken.
        Assert.That(taken, Is.GreaterThan(events / 2), "the fast reader takes most chunks");
        Assert.That(declined, Is.GreaterThan(events / 20), "a good share of chunks go to the document path");
    }

    /// <summary>The shapes Google sends are taken, not declined: every fixture response and stream chunk, the generated ones.</summary>
    [Test]
    public void The_common_shapes_are_taken()
    {
        var chunks = FixtureStreams().SelectMany(s => s).Concat(GeneratedStream).Select(e => e.Data);
        Differential.AssertTakesAll(FixtureBodies().Concat(GeneratedBodies).Concat(chunks), GeminiResponseReader.TryReadResponse);
    }

    /// <summary>An error (in a stream, the parser reads it as one) and a whole stream without alt=sse (an array) are left to the document path.</summary>
    [Test]
    public void Error_chunks_and_array_bodies_are_left_to_the_document_path()
    {
        foreach (var file in new[] { "error-400.json", "error-429.json" })
        {
            var record = new CallRecord(StreamRoute) { Id = "id" };
            Assert.That(GeminiResponseReader.ForThisThread.TryRead(File.ReadAllBytes(Path.Combine(FixtureRoot, file)), record, StreamLimits, out _, out _), Is.False, file);
            Assert.That(record.ErrorType, Is.Null);
        }
        var array = Encoding.UTF8.GetBytes("[" + string.Join(",", GeneratedStream.Select(e => Encoding.UTF8.GetString(e.Data))) + "]");
        Assert.That(GeminiResponseReader.TryReadResponse(array, new CallRecord(StreamRoute) { Id = "id" }, StreamLimits), Is.False);
    }

    private static IEnumerable<byte[]> FixtureBodies() =>
        Directory.GetFiles(FixtureRoot, "generate-content-response*.json").Order(StringComparer.Ordinal).Select(File.ReadAllBytes);

    private static IEnumerable<List<(string? Type, byte[] Data)>> FixtureStreams() => EventStreamDifferential.FixtureStreams("gemini", "stream-generate-content*.sse");

    private static byte[] Vary(Random random, byte[] data)
    {
        switch (random.Next(6))
        {
            case 0 or 1: return Mutator.Mutate(random, data);
            case 2 or 3 when EventStreamDifferential.StringAt(data, ["text", "responseId", "finishReason", "name"]) is var (start, end) && start > 0:
                return [.. data[..start], .. EventStreamDifferential.Texts[random.Next(EventStreamDifferential.Texts.Length)], .. data[end..]];
            default: return data;
        }
    }

    /// <summary>Streams as Google sends them around their edges: a blocked prompt, several candidates, calls, a mid-stream error.</summary>
    private static readonly string[][] EdgeStreams =
    [
        [
            """{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.0-flash","responseId":"r-blocked"}""",
        ],
        [
            """{"candidates":[{"content":{"parts":[{"text":"one "}],"role":"model"},"index":0},{"content":{"parts":[{"text":"uno "}],"role":"model"},"index":1}],"modelVersion":"gemini-2.5-flash","responseId":"r-two"}""",
            """{"candidates":[{"content":{"parts":[{"text":"two"}],"role":"model"},"index":0,"finishReason":"STOP"}],"modelVersion":"gemini-2.5-flash","responseId":"r-two"}""",
            """{"candidates":[{"content":{"parts":[{"text":"dos"}],"role":"model"},"index":1,"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":4,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash","responseId":"r-two"}""",
        ],
        [
            """{"candidates":[{"content":{"parts":[{"text":"Thinking it over","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"totalTokenCount":25,"thoughtsTokenCount":20},"modelVersion":"gemini-2.5-pro","responseId":"r-err"}""",
            """{"candidates":[{"content":{"parts":[{"text":"partial "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":26,"thoughtsTokenCount":20},"modelVersion":"gemini-2.5-pro","responseId":"r-err"}""",
            """{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}""",
            """{"candidates":[{"content":{"parts":[{"text":"after the error"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":4,"totalTokenCount":29,"thoughtsTokenCount":20}}""",
        ],
        [
            """{"candidates":[{"content":{"parts":[{"text":"no usage yet"}],"role":"model"},"index":0,"finishReason":"STOP"}],"responseId":"r-late"}""",
            """{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":3,"totalTokenCount":6,"toolUsePromptTokenCount":2}}""",
            """{"candidates":[{"content":{"parts":[{"functionCall":{"name":"late","args":{}}}],"role":"model"},"index":0}],"responseId":"r-other","modelVersion":"gemini-other"}""",
        ],
    ];

    private static readonly string LongText =
        string.Join(" ", Enumerable.Range(0, 30).Select(i => $"Line {i}: café ☕ costs {i * 3}€ <b>\"bold\"</b> & more.\n"));

    /// <summary>A <c>usageMetadata</c>; Vertex AI adds the <c>trafficType</c> the call was served from.</summary>
    private static JsonObject Usage(int prompt, int candidates, int thoughts, int toolUse = 0, string? trafficType = null)
    {
        var usage = new JsonObject
        {
            ["promptTokenCount"] = prompt,
            ["candidatesTokenCount"] = candidates,
            ["totalTokenCount"] = prompt + candidates + thoughts + toolUse,
            ["promptTokensDetails"] = new JsonArray(new JsonObject { ["modality"] = "TEXT", ["tokenCount"] = prompt }),
            ["thoughtsTokenCount"] = thoughts,
            ["toolUsePromptTokenCount"] = toolUse,
        };
        if (trafficType is not null) usage["trafficType"] = trafficType;
        return usage;
    }

    /// <summary>Whole bodies as Google's API writes them (compact, non-ASCII escaped by the serializer here), with several candidates, thoughts and calls.</summary>
    private static readonly byte[][] GeneratedBodies =
    [
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["candidates"] = new JsonArray(
                new JsonObject
                {
                    ["content"] = new JsonObject
                    {
                        ["parts"] = new JsonArray(
                            new JsonObject { ["text"] = "**Planning**\n\nCompare the two.", ["thought"] = true },
                            new JsonObject { ["text"] = LongText },
                            new JsonObject { ["functionCall"] = new JsonObject { ["name"] = "lookup", ["args"] = new JsonObject { ["q"] = "café \"quoted\"\n" } }, ["thoughtSignature"] = "CiQB0e2Kb7" }),
                        ["role"] = "model",
                    },
                    ["finishReason"] = "STOP",
                    ["avgLogprobs"] = -0.12,
                    ["index"] = 0,
                },
                new JsonObject
                {
                    ["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = "The second candidate." }), ["role"] = "model" },
                    ["finishReason"] = "MAX_TOKENS",
                    ["index"] = 1,
                }),
            ["usageMetadata"] = Usage(812, 420, 96, 40, "ON_DEMAND_PRIORITY"),
            ["modelVersion"] = "gemini-2.5-pro",
            ["responseId"] = "mAitaLmkHPPlz7IPvtfUqQ4",
        }),
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["candidates"] = new JsonArray(new JsonObject
            {
                ["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = "Blocked halfway" }), ["role"] = "model" },
                ["finishReason"] = "SAFETY",
                ["safetyRatings"] = new JsonArray(new JsonObject { ["category"] = "HARM_CATEGORY_DANGEROUS_CONTENT", ["probability"] = "HIGH", ["blocked"] = true }),
            }),
            ["usageMetadata"] = Usage(20, 3, 0),
            ["modelVersion"] = "gemini-2.5-flash",
            ["responseId"] = "Eg6taN3BJ5",
        }),
    ];

    /// <summary>A ~50-chunk stream as Google sends it: a thought, 48 pieces of text, a closing chunk with the finish reason and usage.</summary>
    private static readonly List<(string? Type, byte[] Data)> GeneratedStream = BuildStream();

    private static List<(string? Type, byte[] Data)> BuildStream()
    {
        var chunks = new List<(string?, byte[])>();
        void Add(JsonObject part, int candidates, string? finish)
        {
            var candidate = new JsonObject { ["content"] = new JsonObject { ["parts"] = new JsonArray(part), ["role"] = "model" } };
            if (finish is not null) candidate["finishReason"] = finish;
            candidate["index"] = 0;
            chunks.Add((null, JsonSerializer.SerializeToUtf8Bytes(new JsonObject
            {
                ["candidates"] = new JsonArray(candidate),
                ["usageMetadata"] = Usage(58, candidates, 50, trafficType: "ON_DEMAND_FLEX"),
                ["modelVersion"] = "gemini-2.5-flash",
                ["responseId"] = "tTCwacuEBMvnitYP06qsgQY",
            })));
        }
        Add(new JsonObject { ["text"] = "**Answering**\n\nThe user asks for a list.\n", ["thought"] = true }, 0, null);
        for (var i = 0; i < 48; i++) Add(new JsonObject { ["text"] = $" token{i.ToString("D2", CultureInfo.InvariantCulture)} é\n" }, i + 1, null);
        Add(new JsonObject { ["text"] = "." }, 50, "STOP");
        return chunks;
    }

    private static JsonNode? RandomValue(Random random) => random.Next(21) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(-2, 3)),
        2 => JsonValue.Create(random.NextDouble() * 3),
        3 => JsonValue.Create("1"),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create("text é \n \"q\" 😀"),
        6 => JsonValue.Create(true),
        7 => new JsonArray(),
        8 => new JsonObject(),
        9 => JsonValue.Create(random.Next(5) switch { 0 => "STOP", 1 => "MAX_TOKENS", 2 => "SAFETY", 3 => "PROHIBITED_CONTENT", _ => "model" }),
        10 => new JsonObject { ["text"] = "t", ["thought"] = random.Next(2) == 0 },
        11 => new JsonArray(new JsonObject { ["text"] = "part" }, new JsonObject { ["functionCall"] = new JsonObject { ["name"] = "f", ["args"] = new JsonObject { ["a"] = 1 } } }, new JsonObject { ["inlineData"] = new JsonObject { ["data"] = "AAAA" } }),
        12 => new JsonObject { ["name"] = "n", ["args"] = new JsonObject { ["k"] = new JsonArray(1, "v") } },
        13 => new JsonArray(new JsonObject { ["content"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = "c" }) }, ["index"] = random.Next(3), ["finishReason"] = "STOP" }),
        14 => new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = "p", ["thought"] = true }), ["role"] = "model" },
        15 => new JsonObject { ["promptTokenCount"] = 3, ["candidatesTokenCount"] = 4, ["toolUsePromptTokenCount"] = 2, ["thoughtsTokenCount"] = 1 },
        16 => new JsonObject { ["blockReason"] = "SAFETY" },
        17 => new JsonObject { ["code"] = 429, ["message"] = "m", ["status"] = "RESOURCE_EXHAUSTED" },
        18 => JsonValue.Create(random.Next(3)),
        19 => JsonValue.Create(random.Next(4) switch { 0 => "ON_DEMAND", 1 => "ON_DEMAND_PRIORITY", 2 => "ON_DEMAND_FLEX", _ => "PROVISIONED_THROUGHPUT" }),
        _ => JsonValue.Create(long.MaxValue),
    };
}
