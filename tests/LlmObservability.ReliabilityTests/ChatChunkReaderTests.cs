using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The fast chat-chunk reader (<see cref="OpenAiChatChunkReader"/>) against the <see cref="JsonDocument"/> path it
/// short-cuts, on every chunk of the OpenAI-shaped stream fixtures, hand-written edge cases and fuzzed variants of
/// them: whenever the fast reader takes a chunk, the record must end up exactly as the document path leaves it (and
/// the document path must accept that chunk); whenever it declines, the record must be untouched. Fixed seed.
/// </summary>
public class ChatChunkReaderTests
{
    private const int Seed = 20261122;
    private const int MutationsPerChunk = 150;
    private static readonly CaptureLimits Limits = new(MaxContentChars: 40, MaxErrorBodyChars: 1_000);
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    private static readonly ProviderRoute Route = new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");

    private static readonly string[] EdgeCases =
    [
        """{"id":"a","choices":[{"index":0,"delta":{"content":"x","content":"y"}}]}""",
        """{"id":"a","id":"b","choices":[]}""",
        """{"choices":[{"index":"0","delta":{"content":"idx as text"}},{"index":1.0,"delta":{"content":"second"}},{"index":0.4,"delta":{"content":"rounds to 0"}}]}""",
        """{"choices":[{"index":null,"delta":{"content":"null index"},"finish_reason":""}]}""",
        """{"choices":[{"delta":{"content":["part"],"refusal":"no","reasoning":"r1","reasoning_content":null}}]}""",
        """{"choices":[{"delta":{"reasoning":"r1","reasoning_content":"rc"}}]}""",
        """{"choices":[{"delta":{"reasoning":"r1","reasoning_content":5}}]}""",
        """{"choices":[{"delta":{"tool_calls":[]}}]}""",
        """{"choices":[{"delta":{"tool_calls":[{"index":"2","id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"function":"not an object"}]}}]}""",
        """{"choices":[{"delta":{"tool_calls":[7]}}]}""",
        """{"choices":[{"delta":{"tool_calls":[{"index":4294967297,"function":{"arguments":"wraps"}}]}}]}""",
        """{"choices":[{"delta":{"content":"caf\u00e9 \ud83d\ude00 \n\t\"q\""}}],"service_tier":"flex"}""",
        """{"choices":[{"delta":{"content":"\ud800"}}]}""",
        """{"service_tier":"","model":"","id":""}""",
        """{"service_tier":null,"model":null,"id":null,"choices":null,"usage":null,"error":null}""",
        """{"error":{"message":"boom"}}""",
        """{"usage":{"prompt_tokens":1},"choices":[]}""",
        """{"x_groq":{"id":"g"},"choices":[]}""",
        """{"x_groq":"text","choices":[{"delta":{"content":"ok"}}]}""",
        """{"choices":[{"delta":{"content":"a"}}]} trailing""",
        """[{"choices":[]}]""",
        """ "just a string" """,
        """{"choices":[{"delta":{"content":"a"}}],}""",
        """{"choices":[1,"two",null,{"finish_reason":"stop"}]}""",
        """{"ch\u006fices":[{"d\u0065lta":{"c\u006fntent":"escaped names"}}]}""",
        // Content as parts (Mistral's reasoning models): thinking parts are reasoning, the rest text.
        """{"choices":[{"index":0,"delta":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"think"}]},{"type":"text","text":"answer"}]}}]}""",
        """{"choices":[{"delta":{"content":[{"thinking":"bare"},"str",{"type":"reference","reference_ids":[1]},{"type":"thinking","thinking":[]},{"type":"text","text":""},{"type":"text","thinking":"typed text"},null,5]}}]}""",
        """{"choices":[{"delta":{"content":[{"type":"thinking","thinking":["s",{"text":"t"},{"type":"reference"},{"text":5}],"closed":false}],"reasoning":"r"}}]}""",
        """{"choices":[{"delta":{"content":[]}},{"index":1,"delta":{"content":[{"type":"text","text":"second choice"}]}}]}""",
        // The legacy function call.
        """{"choices":[{"delta":{"role":"assistant","content":null,"function_call":{"name":"f","arguments":""}}}]}""",
        """{"choices":[{"delta":{"function_call":{"arguments":"{\"a\""}}}]}""",
        """{"choices":[{"delta":{"function_call":{"name":5,"arguments":null},"tool_calls":[{"index":0,"id":"c","function":{"arguments":"x"}}]}}]}""",
        """{"choices":[{"delta":{"function_call":null,"content":"ok"}}]}""",
        """{"choices":[{"delta":{"function_call":"auto","content":"ok"}}]}""",
    ];

    // Not valid UTF-8 inside a string value: the document path throws when it reads the text.
    private static readonly byte[] InvalidUtf8 = [.. "{\"choices\":[{\"delta\":{\"content\":\"bad "u8, 0xFF, .. " utf8\"}}]}"u8];

    [Test]
    public void The_fast_reader_records_exactly_what_the_document_path_records()
    {
        var chunks = FixtureChunks().Concat(EdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8).ToList();
        Assert.That(chunks, Has.Count.GreaterThan(40), "fixture chunks were found");
        var random = new Random(Seed);
        int taken = 0, declined = 0;
        foreach (var chunk in chunks)
        {
            Check(chunk, random, ref taken, ref declined);
            for (var i = 0; i < MutationsPerChunk; i++) Check(Mutate(random, chunk), random, ref taken, ref declined);
        }
        Figures.Print("chat-chunk-reader", ("cases", taken + declined), ("taken_by_fast_reader", taken), ("declined", declined), ("seed", Seed));
        Assert.That(taken, Is.GreaterThan(declined / 4), "the fast reader takes a good share of the chunks");
        Assert.That(declined, Is.GreaterThan(0), "some cases go to the document path");
    }

    /// <summary>
    /// Whole streams through the reader with its per-stream <see cref="ChunkPrefix"/> memo, falling back to the document
    /// path as the stream parser does, against the document path alone, compared after every chunk. The streams are the
    /// fixtures' own (whose chunks repeat their heads, so most reads resume at <c>choices</c>) with chunks mutated,
    /// swapped for a usage chunk, or given a tail that repeats a field of the head.
    /// </summary>
    [Test]
    public void Resuming_at_choices_records_exactly_what_the_document_path_records()
    {
        var random = new Random(Seed + 1);
        var streams = FixtureStreams().Concat(ShapeStreams()).ToList();
        Assert.That(streams, Has.Count.GreaterThan(8), "fixture streams were found");
        int chunks = 0, resumed = 0, shaped = 0;
        for (var round = 0; round < 200; round++)
        {
            foreach (var stream in streams)
            {
                var kind = random.Next(3);
                var fast = Seeded(kind);
                var document = Seeded(kind);
                var prefix = new ChunkPrefix();
                foreach (var original in stream)
                {
                    var chunk = round == 0 ? original : Vary(random, original);
                    chunks++;
                    if (prefix.Matches(chunk))
                    {
                        resumed++;
                        if (prefix.MatchesContentShape(chunk, out _)) shaped++;
                    }
                    if (!OpenAiChatChunkReader.ForThisThread.TryRead(chunk, fast, Limits, out var fastContent, prefix))
                    {
                        Assert.That(prefix.Length, Is.Zero, "a declined chunk forgets the memo");
                        fastContent = ReadWithDocument(chunk, fast);
                    }
                    var documentContent = ReadWithDocument(chunk, document);
                    Assert.That(Snapshot(fast, fastContent), Is.EqualTo(Snapshot(document, documentContent)), Show(chunk));
                }
            }
        }
        Figures.Print("chat-chunk-reader-resume", ("chunks", chunks), ("resumed_at_choices", resumed), ("content_shape", shaped), ("seed", Seed + 1));
        Assert.That(resumed, Is.GreaterThan(chunks / 3), "most chunks resume at choices");
        // Not more than a twenty-fifth: the tool-call, function-call and reasoning streams have few chunks that are only text.
        Assert.That(shaped, Is.GreaterThan(chunks / 25), "chunks that are only new content in the previous chunk's shape take the shortest path");
    }

    /// <summary>What the stream parser's general path does with a chunk (errors and non-objects leave the record as it is here).</summary>
    private static bool ReadWithDocument(byte[] chunk, CallRecord record)
    {
        try
        {
            using var parsed = JsonDocument.Parse(chunk);
            var root = parsed.RootElement;
            if (root.ValueKind != JsonValueKind.Object || (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)) return false;
            OpenAiChatAdapter.ReadChunk(root, record, Limits, out var hadContent);
            return hadContent;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or FormatException or KeyNotFoundException or InvalidCastException)
        {
            return false;
        }
    }

    private static byte[] Vary(Random random, byte[] chunk)
    {
        var text = Encoding.UTF8.GetString(chunk);
        var head = text.IndexOf("\"choices\":", StringComparison.Ordinal);
        switch (random.Next(8))
        {
            case 0: return Mutate(random, chunk);
            case 1 when head > 0:
                // The same head, then a tail that repeats a field of the head, or sets one the head did not.
                string[] tails = [",\"id\":\"other\"", ",\"model\":\"other\"", ",\"service_tier\":\"flex\"", ",\"usage\":{\"prompt_tokens\":9}", ",\"error\":{\"message\":\"late\"}", ",\"obfuscation\":\"abc\""];
                var end = text.LastIndexOf('}');
                return Encoding.UTF8.GetBytes(text[..end] + tails[random.Next(tails.Length)] + "}");
            case 2 when head > 0:
                // The same head with the content replaced by a mutated one.
                return Encoding.UTF8.GetBytes(text[..head] + Encoding.UTF8.GetString(Mutate(random, Encoding.UTF8.GetBytes(text[head..]))));
            case 3 or 4 or 5 when ContentString(chunk) is var (contentStart, contentEnd) && contentStart > 0:
                // The same chunk with other text in its content string: plain words (the previous chunk's shape, when
                // it had only content), nothing, escapes, a quote or control byte that breaks the string, bad UTF-8.
                byte[][] texts =
                [
                    "word"u8.ToArray(), " more words."u8.ToArray(), [], "caf\u00e9 \\n"u8.ToArray(), "\"q\""u8.ToArray(), "a\"b"u8.ToArray(),
                    [(byte)'x', 0x0A, (byte)'y'], [(byte)'b', 0xC3, 0x28], "\ud83d\ude00 emoji"u8.ToArray(), "é ü 漢"u8.ToArray(), "tail\\"u8.ToArray(),
                ];
                return [.. chunk[..contentStart], .. texts[random.Next(texts.Length)], .. chunk[contentEnd..]];
            default: return chunk;
        }
    }

    /// <summary>
    /// Streams where a chunk in the previous chunk's shape must not take the content-only path: the previous chunk
    /// also finished, or a chunk between them changed a field (here the tier, after <c>choices</c> as Azure orders them)
    /// that the new chunk sets back.
    /// </summary>
    private static IEnumerable<List<byte[]>> ShapeStreams()
    {
        string[][] streams =
        [
            [
                """{"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":"length"}]}""",
                """{"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"length"}]}""",
            ],
            [
                """{"choices":[{"index":0,"delta":{"content":"a"}}],"service_tier":"default"}""",
                """{"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":"stop"}],"service_tier":"flex"}""",
                """{"choices":[{"index":0,"delta":{"content":"c"}}],"service_tier":"default"}""",
            ],
            [
                """{"choices":[{"index":0,"delta":{"content":"a"}}],"service_tier":"default"}""",
                """{"choices":[{"index":0,"delta":{"content":"b","tool_calls":[]}}],"service_tier":"flex"}""",
                """{"choices":[{"index":0,"delta":{"content":"c"}}],"service_tier":"default"}""",
                """{"choices":[{"index":0,"delta":{"content":"d"}}],"service_tier":"default"}""",
            ],
        ];
        return streams.Select(stream => stream.Select(Encoding.UTF8.GetBytes).ToList());
    }

    /// <summary>The raw bytes of the chunk's <c>"content":"…"</c> string (start, end); (0, 0) when it has none.</summary>
    private static (int Start, int End) ContentString(byte[] chunk)
    {
        var at = chunk.AsSpan().IndexOf("\"content\":\""u8);
        if (at < 0) return (0, 0);
        var start = at + "\"content\":\""u8.Length;
        for (var i = start; i < chunk.Length; i++)
        {
            if (chunk[i] == '\\') i++;
            else if (chunk[i] == '"') return (start, i);
        }
        return (0, 0);
    }

    private static IEnumerable<List<byte[]>> FixtureStreams()
    {
        string[] folders = ["openai", "azure_openai", "deepseek", "groq", "lmstudio", "mistral", "openrouter", "together", "vllm"];
        foreach (var folder in folders)
        {
            foreach (var file in Directory.GetFiles(Path.Combine(FixtureRoot, folder), "chat-stream*.sse"))
            {
                var collector = new Collector();
                using (var reader = new SseReader(collector)) reader.Feed(File.ReadAllBytes(file));
                yield return collector.Events.Where(e => !e.AsSpan().SequenceEqual("[DONE]"u8)).ToList();
            }
        }
    }

    private static void Check(byte[] chunk, Random random, ref int taken, ref int declined)
    {
        var seeded = random.Next(3);
        var fast = Seeded(seeded);
        var document = Seeded(seeded);
        var before = Snapshot(fast, false);
        if (!OpenAiChatChunkReader.ForThisThread.TryRead(chunk, fast, Limits, out var fastContent))
        {
            declined++;
            Assert.That(Snapshot(fast, false), Is.EqualTo(before), $"declined, yet changed the record: {Show(chunk)}");
            return;
        }
        taken++;
        bool documentContent;
        try
        {
            using var parsed = JsonDocument.Parse(chunk);
            var root = parsed.RootElement;
            Assert.That(root.ValueKind, Is.EqualTo(JsonValueKind.Object), Show(chunk));
            Assert.That(root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null, Is.False, Show(chunk));
            OpenAiChatAdapter.ReadChunk(root, document, Limits, out documentContent);
        }
        catch (Exception ex) when (ex is not AssertionException)
        {
            Assert.Fail($"the fast reader took a chunk the document path rejects ({ex.GetType().Name}: {ex.Message}): {Show(chunk)}");
            return;
        }
        Assert.That(Snapshot(fast, fastContent), Is.EqualTo(Snapshot(document, documentContent)), Show(chunk));
    }

    /// <summary>A record as earlier chunks may have left it, so that the "first value wins" fields are tested both ways.</summary>
    private static CallRecord Seeded(int kind)
    {
        var record = new CallRecord(Route) { Id = "id" };
        if (kind == 0) return record;
        record.ResponseId = "earlier-id";
        record.ResponseModel = "earlier-model";
        record.ServiceTier = kind == 1 ? "default" : "flex";
        record.Output(Limits.MaxContentChars).Append("earlier text ");
        record.ToolCalls = new ToolCallAccumulator(Limits.MaxContentChars);
        var call = record.ToolCalls[0];
        call.Id = "call_0";
        call.Arguments.Append("{");
        return record;
    }

    internal static string Snapshot(CallRecord r, bool hadContent)
    {
        var builder = new StringBuilder();
        void Add(string name, object? value) => builder.Append(name).Append('=').Append(value is null ? "<null>" : $"[{value}]").Append('\n');
        Add("content", hadContent);
        Add("id", r.ResponseId);
        Add("model", r.ResponseModel);
        Add("tier", r.ServiceTier);
        Add("finish", r.FinishReasons is null ? null : string.Join("|", r.FinishReasons));
        Add("text", r.OutputText?.ToString());
        Add("reasoning", r.ReasoningText?.ToString());
        Add("refusal", r.RefusalText?.ToString());
        Add("tools", r.ToolCalls is null ? null : string.Join("|", r.ToolCalls.ToList().Select(c => $"{c.Id}/{c.Type}/{c.Name}/{c.Arguments}")));
        Add("tokens", $"{r.PromptTokens},{r.CompletionTokens},{r.TotalTokens},{r.CachedPromptTokens},{r.CacheCreationTokens},{r.ReasoningTokens}");
        Add("error", $"{r.ErrorType},{r.ErrorCode},{r.ErrorMessage}");
        return builder.ToString();
    }

    private static string Show(byte[] chunk) => Encoding.UTF8.GetString(chunk);

    private static IEnumerable<byte[]> FixtureChunks() => FixtureStreams().SelectMany(stream => stream);

    private static readonly JsonMutator Mutator = new(
        ["id", "model", "service_tier", "choices", "usage", "error", "x_groq", "index", "delta", "finish_reason", "content", "refusal", "reasoning", "reasoning_content", "tool_calls", "function", "name", "arguments", "type",
         "function_call", "thinking", "text"],
        RandomValue);

    private static byte[] Mutate(Random random, byte[] chunk) => Mutator.Mutate(random, chunk);

    private static JsonNode? RandomValue(Random random) => random.Next(17) switch
    {
        14 => ContentParts(random),
        15 => new JsonObject { ["name"] = random.Next(2) == 0 ? "f" : null, ["arguments"] = random.Next(2) == 0 ? "{\"a\":1}" : JsonValue.Create(7) },
        16 => new JsonObject { ["content"] = ContentParts(random), ["function_call"] = new JsonObject { ["arguments"] = "a" } },
        0 => null,
        1 => JsonValue.Create(random.Next(-2, 3)),
        2 => JsonValue.Create(random.NextDouble() * 3),
        3 => JsonValue.Create("1"),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create("text é \n \"q\""),
        6 => JsonValue.Create(true),
        7 => new JsonArray(),
        8 => new JsonObject(),
        9 => new JsonArray(new JsonObject { ["index"] = random.Next(3), ["delta"] = new JsonObject { ["content"] = "c" }, ["finish_reason"] = "stop" }),
        10 => new JsonObject { ["content"] = "d", ["reasoning"] = "r", ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = 1, ["id"] = "x", ["function"] = new JsonObject { ["name"] = "n", ["arguments"] = "{}" } }) },
        11 => new JsonArray(new JsonObject { ["index"] = "0", ["function"] = new JsonObject { ["arguments"] = "a" } }, JsonValue.Create(3)),
        12 => new JsonObject { ["prompt_tokens"] = 3, ["completion_tokens"] = 4 },
        _ => JsonValue.Create(long.MaxValue),
    };

    /// <summary>A <c>delta.content</c> given as parts, as Mistral's reasoning models send it, with odd parts among them.</summary>
    internal static JsonArray ContentParts(Random random)
    {
        JsonNode?[] parts =
        [
            new JsonObject { ["type"] = "thinking", ["thinking"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "think é" }) },
            new JsonObject { ["type"] = "text", ["text"] = "answer \"q\"" },
            new JsonObject { ["thinking"] = "bare thinking" },
            new JsonObject { ["type"] = "thinking", ["thinking"] = new JsonArray(JsonValue.Create("s"), new JsonObject { ["type"] = "reference", ["reference_ids"] = new JsonArray(1) }), ["closed"] = true },
            new JsonObject { ["type"] = "text", ["thinking"] = new JsonArray(new JsonObject { ["text"] = "not thinking" }) },
            new JsonObject { ["type"] = "image_url", ["image_url"] = "https://x" },
            JsonValue.Create("plain"),
            JsonValue.Create(""),
            null,
        ];
        var array = new JsonArray();
        for (var i = random.Next(4); i > 0; i--) array.Add(parts[random.Next(parts.Length)]?.DeepClone());
        return array;
    }

    private sealed class Collector : IStreamEventHandler
    {
        public List<byte[]> Events { get; } = [];

        public void OnEvent(string? eventType, ReadOnlyMemory<byte> data) => Events.Add(data.ToArray());
    }
}
