using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The fast whole-body readers (<see cref="OpenAiChatBodyReader"/> over <see cref="FastJsonReader"/>) against the
/// <see cref="JsonDocument"/> path they short-cut. Each chat request and response of the fixtures, hand-written edge
/// cases and fuzzed variants of them goes through <see cref="WholeBodyDifferential"/>. And the tokenizer
/// alone must never accept what <see cref="Utf8JsonReader"/> rejects, token for token. Fixed seeds.
/// </summary>
public class ChatBodyReaderTests
{
    private const int Seed = 20261123;
    private const int MutationsPerBody = 200;
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    private static readonly ProviderRoute Route = new(OpenAiChatAdapter.Instance, "openai", "https://api.openai.com/v1", "/chat/completions");

    private static readonly JsonMutator Mutator = new(
        ["model", "stream", "messages", "role", "content", "name", "tool_call_id", "tool_calls", "id", "type", "function", "arguments", "text", "refusal",
         "tools", "functions", "response_format", "temperature", "choices", "index", "message", "finish_reason", "reasoning", "reasoning_content",
         "service_tier", "usage", "prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "cached_tokens", "cache_write_tokens",
         "completion_tokens_details", "reasoning_tokens", "prompt_cache_hit_tokens", "prompt_cache_miss_tokens", "x_groq", "function_call", "thinking"],
        RandomValue);

    private static readonly WholeBodyDifferential Differential = new(Route, Mutator, MutationsPerBody);

    private static readonly string[] RequestEdgeCases =
    [
        """{"model":"m","model":"n","messages":[]}""",
        """{"model":5,"stream":"yes","messages":{"role":"user"}}""",
        """{"model":null,"stream":null,"messages":null,"temperature":null,"seed":7}""",
        """{"messages":[{"role":"user","content":[]}],"stream":true}""",
        """{"messages":[{"role":"user","content":["a","",{"type":"text","text":"b"},{"type":"input_audio"},{"refusal":"r"},5,null,[1],{"type":7,"text":null}]}]}""",
        """{"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"}]}""",
        """{"messages":[{"role":"user","content":"\ud800 lone"}]}""",
        """{"messages":[{"role":"user","content":"a text well over the forty characters of the cap in this test"}]}""",
        """{"messages":[{"role":"user","content":"exactly forty characters, not one more!"}]}""",
        """{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},{"id":"c2","function":"not an object"}]}]}""",
        """{"messages":[{"role":"assistant","tool_calls":[7]}]}""",
        """{"messages":[{"role":"tool","tool_call_id":"c1","name":"f","content":"{\"t\":22}"}]}""",
        """{"messages":[{"role":"user","content":"x","content":"y"}]}""",
        """{"messages":[{"r\u006fle":"user","content":"escaped name"}]}""",
        """{"messages":["not an object"]}""",
        """{"tools":[{"type":"function"},{"type":"function"}],"functions":[{}],"response_format":{"type":"json_object"}}""",
        """{"tools":{"a":1},"response_format":{"json_schema":{}},"logit_bias":{"50256":-100},"stop":["\n","END"],"metadata":{"k":"v"}}""",
        """{"response_format":{"type":"json_schema","type":"text"}}""",
        """{"response_format":"text","temperature":1e-7,"top_p":1.0,"n":1,"max_tokens":12345678901234567890123,"user":"u\u00e9"}""",
        """{"temperature":0.2,"temperature":0.5,"seed":null,"seed":3}""",
        """{"te\u006dperature":0.2}""",
        """{"messages":[]} trailing""",
        """[{"messages":[]}]""",
        """{"messages":[],}""",
        """  {"model" : "gpt-4o" , "messages" : [ { "role" : "user" , "content" : "spaces" } ] }  """,
    ];

    private static readonly string[] ResponseEdgeCases =
    [
        """{"id":"","model":"","service_tier":"","choices":[]}""",
        """{"id":null,"model":null,"service_tier":null,"choices":null,"usage":null}""",
        """{"choices":[{"index":1,"message":{"content":"second"},"finish_reason":"stop"},{"index":0,"message":{"content":"first"},"finish_reason":"length"}]}""",
        """{"choices":[{"index":"0","message":{"content":"index as text"}}]}""",
        """{"choices":[{"index":0.0,"message":{"content":"index as a fraction"}}]}""",
        """{"choices":[{"index":null,"message":{"content":["part one",{"type":"text","text":"two"},{"type":"image"}],"refusal":"","reasoning":"r"}}]}""",
        """{"choices":[{"message":{"content":"c","reasoning_content":"rc","reasoning":"r"}}]}""",
        """{"choices":[{"message":{"content":"c","reasoning_content":5,"reasoning":"r"}}]}""",
        """{"choices":[{"message":{"content":"c","reasoning_content":null,"reasoning":"r"}}]}""",
        """{"choices":[{"message":{"content":"","refusal":"I can't"}}]}""",
        """{"choices":[{"message":{"content":5}}]}""",
        """{"choices":[{"message":{"content":"\ud800"}}]}""",
        """{"choices":[{"message":{"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","function":{"arguments":"x"}}]}}]}""",
        """{"choices":[{"message":{"tool_calls":["x"]}}]}""",
        """{"choices":[1,"two",null,{"finish_reason":"stop"}]}""",
        """{"choices":[{"message":null,"finish_reason":""}]}""",
        """{"usage":{"prompt_cache_hit_tokens":3,"prompt_cache_miss_tokens":4,"completion_tokens":5}}""",
        """{"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":null,"cache_write_tokens":2},"completion_tokens_details":{}}}""",
        """{"usage":{"prompt_tokens":"10"}}""",
        """{"usage":{"prompt_tokens":10.0}}""",
        """{"usage":{"prompt_tokens":10,"prompt_tokens":11}}""",
        """{"usage":{"prompt_tokens":true,"completion_tokens":[1],"total_tokens":{}}}""",
        """{"usage":{"prompt_tokens":9223372036854775808}}""",
        """{"usage":"none","x_groq":"text"}""",
        """{"x_groq":{"usage":{"prompt_tokens":1}},"choices":[]}""",
        """{"ch\u006fices":[]}""",
        // Content as parts (Mistral's reasoning models): thinking parts are reasoning, the rest the answer.
        """{"choices":[{"index":0,"message":{"role":"assistant","tool_calls":null,"content":[{"type":"thinking","thinking":[{"type":"text","text":"think"}]},{"type":"text","text":"answer"}]},"finish_reason":"stop"}]}""",
        """{"choices":[{"message":{"content":[{"type":"thinking","thinking":[{"type":"text","text":"only thinking"}],"closed":true}],"reasoning_content":"rc"}}]}""",
        """{"choices":[{"message":{"content":[{"thinking":"bare"},"s",{"type":"text","thinking":"typed text"},{"type":"reference","reference_ids":[1]},{"type":"thinking","thinking":5},null]}}]}""",
        // The legacy function call.
        """{"choices":[{"index":0,"message":{"role":"assistant","content":null,"function_call":{"name":"f","arguments":"{\"a\":1}"}},"finish_reason":"function_call"}]}""",
        """{"choices":[{"message":{"tool_calls":[{"id":"a","type":"function","function":{"name":"t","arguments":"1"}}],"function_call":{"name":"f"}}}]}""",
        """{"choices":[{"message":{"function_call":{"arguments":5,"name":null}}}]}""",
        """{"choices":[{"message":{"function_call":{"name":"a","name":"b"}}}]}""",
        """{"choices":[{"message":{"function_call":"none","content":"c"}}]}""",
        """{"choices":[{"message":{"function_call":{}}},{"index":1,"message":{"function_call":{"name":"second"}}}]}""",
        """{"choices":[{"message":{"content":"a"}}],}""",
        """{"choices":[{"message":{"content":"a"}}]} x""",
    ];

    // Not valid UTF-8 inside a string value.
    private static readonly byte[] InvalidUtf8Request = [.. "{\"messages\":[{\"role\":\"user\",\"content\":\"bad "u8, 0xFF, .. " utf8\"}]}"u8];

    [Test]
    public void The_fast_request_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var response = File.ReadAllBytes(Path.Combine(FixtureRoot, "openai", "chat-response.json"));
        var bodies = FixtureBodies("chat-request*.json").Concat(GeneratedRequests()).Concat(RequestEdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8Request).ToList();
        Differential.Check("chat-body-reader-request", bodies, body => (body, response), OpenAiChatBodyReader.TryReadRequest, Seed);
    }

    [Test]
    public void The_fast_response_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var request = File.ReadAllBytes(Path.Combine(FixtureRoot, "openai", "chat-request.json"));
        var bodies = FixtureBodies("chat-response*.json").Concat(ResponseEdgeCases.Select(Encoding.UTF8.GetBytes)).ToList();
        Differential.Check("chat-body-reader-response", bodies, body => (request, body), OpenAiChatBodyReader.TryReadResponse, Seed + 1);
    }

    /// <summary>
    /// The tokenizer against <see cref="Utf8JsonReader"/> on every fixture body and stream event of every provider,
    /// hand-written grammar cases and fuzzed variants: whenever it reads an input to the end, the reader must read the
    /// same tokens (type, text, escaped or not) and accept the input too.
    /// </summary>
    [Test]
    public void The_tokenizer_accepts_nothing_that_Utf8JsonReader_rejects()
    {
        var inputs = AllFixtureJson().Concat(GrammarCases.Select(Encoding.UTF8.GetBytes)).ToList();
        Assert.That(inputs, Has.Count.GreaterThan(100), "fixture documents were found");
        var random = new Random(Seed + 2);
        int accepted = 0, rejected = 0, rejectedValid = 0;
        void Check(byte[] json)
        {
            var fast = Tokens(json, out var finished);
            var reference = ReferenceTokens(json, out var valid);
            if (!finished)
            {
                rejected++;
                // The two things it declines on purpose: bytes that are not UTF-8 (the document path reads those strings
                // and fails there) and the 64th level of nesting (the reader's own limit).
                if (valid && System.Text.Unicode.Utf8.IsValid(json) && !json.AsSpan().StartsWith(Deepest)) rejectedValid++;
                return;
            }
            accepted++;
            Assert.That(valid, Is.True, $"accepted what Utf8JsonReader rejects: {Show(json)}");
            Assert.That(fast, Is.EqualTo(reference), Show(json));
        }
        foreach (var input in inputs)
        {
            Check(input);
            for (var i = 0; i < 40; i++) Check(Mutator.Mutate(random, input));
        }
        Figures.Print("fast-json-tokenizer", ("inputs", accepted + rejected), ("accepted", accepted), ("rejected", rejected), ("seed", Seed + 2));
        Assert.That(accepted, Is.GreaterThan(rejected), "most inputs are read");
        Assert.That(rejectedValid, Is.Zero, "valid UTF-8 JSON under 64 levels is never declined");
    }

    private static IEnumerable<byte[]> FixtureBodies(string pattern) =>
        Directory.GetDirectories(FixtureRoot).SelectMany(folder => Directory.GetFiles(folder, pattern))
            .Where(file => !file.Contains("ollama", StringComparison.Ordinal)).Order(StringComparer.Ordinal).Select(File.ReadAllBytes);

    /// <summary>Requests as SDKs write them: no whitespace, every non-ASCII character and newline escaped, and a long text.</summary>
    private static IEnumerable<byte[]> GeneratedRequests()
    {
        var text = string.Join(" ", Enumerable.Range(0, 60).Select(i => $"Line {i}: café ☕ costs {i * 3}€ <b>\"bold\"</b> & more.\n"));
        yield return JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["model"] = "gpt-4o-mini",
            ["temperature"] = 0.2,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "You are helpful." }, new JsonObject { ["role"] = "user", ["content"] = text }),
        });
    }

    private static IEnumerable<byte[]> AllFixtureJson()
    {
        foreach (var file in Directory.GetFiles(FixtureRoot, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (file.EndsWith(".json", StringComparison.Ordinal)) yield return File.ReadAllBytes(file);
            else if (file.EndsWith(".sse", StringComparison.Ordinal) || file.EndsWith(".ndjson", StringComparison.Ordinal) || file.EndsWith(".jsonl", StringComparison.Ordinal))
            {
                foreach (var line in File.ReadAllLines(file))
                {
                    var data = line.StartsWith("data:", StringComparison.Ordinal) ? line[5..].Trim() : line;
                    if (data.StartsWith('{') || data.StartsWith('[')) yield return Encoding.UTF8.GetBytes(data);
                }
            }
        }
    }

    private static readonly byte[] Deepest = Encoding.UTF8.GetBytes(new string('[', 64));

    private static readonly string[] GrammarCases =
        [
            "0", "-0", "1e5", "1E+2", "-1.5e-3", "01", "1.", ".1", "-", "+1", "1e", "1e+", "--1", "0x1", "1 2", "123abc", "1.5.2",
            "true", "false", "null", "tru", "nul", "truex", "True", "[true,false,null]", "[truefalse]",
            "\"\"", "\"a\\\"b\"", "\"\\u00e9\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\u12G4\"", "\"\\u12\"", "\"\\x\"", "\"\\", "\"a", "\"tab\there\"",
            "{}", "[]", "[ ]", "{ }", "[,]", "[1,]", "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{1:2}", "{'a':1}", "[1 2]",
            "{\"a\":1}}", "[[]]]", "[", "{", "", " ", "\t\n\r [1] \r\n", "\f[1]", "[1]\u000b", "/*c*/[1]", "[1]//c", "\ufeff[1]",
            "{\"a\":[{\"b\":{\"c\":[1,{\"d\":null}]}}]}", "[1,[2,[3,[4]]]]",
            new string('[', 62) + new string(']', 62), new string('[', 63) + new string(']', 63), new string('[', 64) + new string(']', 64),
            new string('[', 65) + new string(']', 65),
        ];

    /// <summary>The tokens the fast reader yields: type, text and escaping of each.</summary>
    private static List<string> Tokens(byte[] json, out bool finished)
    {
        var tokens = new List<string>();
        var reader = new FastJsonReader(json);
        while (reader.Read())
        {
            var scalar = IsScalar(reader.TokenType);
            tokens.Add(Token(reader.TokenType, scalar ? reader.ValueSpan : default, scalar && reader.ValueIsEscaped));
        }
        finished = reader.Finished;
        return tokens;
    }

    private static List<string> ReferenceTokens(byte[] json, out bool valid)
    {
        var tokens = new List<string>();
        valid = false;
        try
        {
            var reader = new Utf8JsonReader(json);
            while (reader.Read())
            {
                var scalar = IsScalar(reader.TokenType);
                tokens.Add(Token(reader.TokenType, scalar ? reader.ValueSpan : default, scalar && reader.ValueIsEscaped));
            }
            // The reader accepts what a document would hold: also check that every string is text.
            using var document = JsonDocument.Parse(json);
            valid = true;
        }
        catch (JsonException)
        {
        }
        return tokens;
    }

    private static bool IsScalar(JsonTokenType type) =>
        type is JsonTokenType.String or JsonTokenType.PropertyName or JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null;

    private static string Token(JsonTokenType type, ReadOnlySpan<byte> value, bool escaped) => $"{type}:{Convert.ToHexString(value)}:{escaped}";

    private static string Show(byte[] json) => WholeBodyDifferential.Show(json);

    private static JsonNode? RandomValue(Random random) => random.Next(19) switch
    {
        16 => ChatChunkReaderTests.ContentParts(random),
        17 => new JsonObject { ["name"] = random.Next(2) == 0 ? "f" : null, ["arguments"] = random.Next(2) == 0 ? "{\"a\":1}" : JsonValue.Create(7) },
        18 => new JsonObject { ["role"] = "assistant", ["content"] = ChatChunkReaderTests.ContentParts(random), ["function_call"] = new JsonObject { ["name"] = "f", ["arguments"] = "{}" } },
        0 => null,
        1 => JsonValue.Create(random.Next(-2, 3)),
        2 => JsonValue.Create(random.NextDouble() * 3),
        3 => JsonValue.Create("1"),
        4 => JsonValue.Create(""),
        5 => JsonValue.Create("text é \n \"q\" 😀"),
        6 => JsonValue.Create(true),
        7 => new JsonArray(),
        8 => new JsonObject(),
        9 => new JsonArray(new JsonObject { ["index"] = random.Next(2), ["message"] = new JsonObject { ["content"] = "c" }, ["finish_reason"] = "stop" }),
        10 => new JsonObject { ["role"] = "user", ["content"] = "d", ["name"] = "n", ["tool_calls"] = new JsonArray(new JsonObject { ["id"] = "x", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "n", ["arguments"] = "{}" } }) },
        11 => new JsonArray(JsonValue.Create("part"), new JsonObject { ["type"] = "text", ["text"] = "t" }, new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "data:image/png;base64,AAAA" } }),
        12 => new JsonObject { ["prompt_tokens"] = 3, ["completion_tokens"] = 4, ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = 1 } },
        13 => new JsonArray(new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(JsonValue.Create("p")) }, new JsonObject { ["role"] = "tool", ["tool_call_id"] = "x", ["content"] = "r" }),
        14 => new JsonObject { ["type"] = "json_object" },
        _ => JsonValue.Create(long.MaxValue),
    };
}
