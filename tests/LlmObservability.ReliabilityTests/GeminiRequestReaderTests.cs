using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LlmObservability.Capture;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The fast reader for whole Gemini requests (<see cref="GeminiRequestReader"/>) against the <see cref="JsonDocument"/>
/// path it short-cuts (<see cref="GeminiGenerateContentAdapter.ParseRequest"/>): the fixture's request, requests shaped
/// as the SDKs write them, hand-written edge cases and fuzzed variants of all of them go through
/// <see cref="WholeBodyDifferential"/>. The API takes every member under its snake_case proto name as well as its
/// lowerCamelCase one, so each body also goes through with its member names respelled at random, one by one (a member
/// can then be given under both spellings), and the fuzzer sets and duplicates members under both. Fixed seed.
/// </summary>
public class GeminiRequestReaderTests
{
    private const int Seed = 20261132;
    private const int MutationsPerBody = 200;
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures", "gemini");
    private static readonly ProviderRoute Route = new(GeminiGenerateContentAdapter.Instance, "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash:streamGenerateContent");

    private static readonly JsonMutator Mutator = new(
        ["contents", "systemInstruction", "generationConfig", "tools", "toolConfig", "cachedContent", "role", "parts", "text", "thought",
         "functionCall", "functionResponse", "inlineData", "fileData", "executableCode", "codeExecutionResult", "name", "id", "args", "response",
         "functionDeclarations", "googleSearch", "codeExecution", "temperature", "topK", "responseSchema", "responseJsonSchema", "speechConfig",
         "thinkingConfig", "safetySettings", "mimeType", "data",
         "system_instruction", "generation_config", "tool_config", "cached_content", "function_call", "function_response", "inline_data",
         "file_data", "executable_code", "code_execution_result", "function_declarations", "google_search", "code_execution", "top_k",
         "max_output_tokens", "response_schema", "response_json_schema", "speech_config", "thinking_config", "safety_settings", "mime_type"],
        random => Respelled(random, RandomValue(random)));

    private static readonly WholeBodyDifferential Differential = new(Route, Mutator, MutationsPerBody);

    private static readonly string[] EdgeCases =
    [
        """{}""",
        """{"contents":[],"systemInstruction":null,"generationConfig":null,"tools":null,"toolConfig":null,"cachedContent":null}""",
        """{"contents":{"role":"user"},"systemInstruction":5,"generationConfig":[1],"tools":{"a":1},"toolConfig":"x","cachedContent":7}""",
        """{"systemInstruction":"You are terse."}""",
        """{"systemInstruction":"a system text well over the forty characters of the cap"}""",
        """{"systemInstruction":"\ud800 lone"}""",
        """{"systemInstruction":{"parts":[{"text":"sys"}],"role":"ignored"}}""",
        """{"systemInstruction":[{"text":"an array"}]}""",
        """{"systemInstruction":true,"contents":[{"parts":[{"text":"u"}]}]}""",
        """{"systemInstruction":"a","systemInstruction":"b"}""",
        """{"contents":[],"contents":[]}""",
        """{"c\u006fntents":[{"parts":[{"text":"escaped name"}]}]}""",
        """{"contents":[{"role":"user","parts":[{"text":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"}]}]}""",
        """{"contents":[{"role":"user","parts":[{"text":"\ud800 lone"}]}]}""",
        """{"contents":[{"role":"\udc00","parts":[{"text":"bad role"}]}]}""",
        """{"contents":[{"role":"user","role":"model","parts":[]}]}""",
        """{"contents":[{"role":"user","parts":[],"parts":[]}]}""",
        """{"contents":[{"parts":[{"text":"no role"}]},{},{"role":7,"parts":{"text":"x"}},{"role":null,"parts":null},5,null,"s",[1]]}""",
        """{"contents":[{"parts":[{"text":""},{"text":"after empty"},{"text":""},{"text":"x"}]}]}""",
        """{"contents":[{"parts":["str",5,null,[1],{},{"text":5},{"text":null}]}]}""",
        """{"contents":[{"parts":[{"text":"x","text":"y"}]}]}""",
        """{"contents":[{"parts":[{"t\u0065xt":"escaped"}]}]}""",
        """{"contents":[{"role":"model","parts":[{"text":"secret plan","thought":true},{"text":"not a thought","thought":false},{"thought":true},{"text":"","thought":true},{"text":"t","thought":"yes"}]}]}""",
        """{"contents":[{"role":"model","parts":[{"text":"a text well over the forty characters of the cap in this test"},{"text":"and more"}]}]}""",
        """{"contents":[{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"location":"Paris","n":[1,{"a":null}]}}},{"functionCall":{"id":"c1","name":"f","args":  { "spaced" : true } }},{"functionCall":{"name":"no_args"}},{"functionCall":{"name":"null_args","args":null}},{"functionCall":{}},{"functionCall":"x"},{"text":"with calls"}]}]}""",
        """{"contents":[{"role":"model","parts":[{"functionCall":{"name":"\ud800"}}]}]}""",
        """{"contents":[{"role":"model","parts":[{"functionCall":{"name":"f","name":"g"}}]}]}""",
        """{"contents":[{"role":"model","parts":[{"text":"t","functionCall":{"name":"not_read"}},{"text":null,"functionCall":{"name":"read"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"get_weather","id":"c1","response":{"temperature":18,"s":"caf\u00e9"}}},{"functionResponse":{"name":"second","id":"c2","response":"text"}},{"functionResponse":{}},{"functionResponse":{"response":null}},{"functionResponse":"x"}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":5,"id":[1],"response":[1,2]}},{"functionResponse":{"name":"later","id":"later"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"\ud800"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"a","name":"b"}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo"}},{"fileData":{"fileUri":"gs://x"}},{"executableCode":{"code":"print(1)"}},{"codeExecutionResult":{"output":"1"}},{"inlineData":null,"fileData":{}},{"codeExecutionResult":5,"executableCode":null},{"inlineData":1,"fileData":1,"executableCode":1,"codeExecutionResult":1},{"other":{}}]}]}""",
        """{"contents":[{"role":"user","parts":[{"inlineData":{},"inlineData":{}}]}]}""",
        """{"generationConfig":{"temperature":0.4,"topP":0.95,"topK":40,"maxOutputTokens":1024,"candidateCount":1,"stopSequences":["END","\n\n"],"responseMimeType":"application/json","thinkingConfig":{"thinkingBudget":512,"includeThoughts":true},"seed":7}}""",
        """{"generationConfig":{"responseSchema":{"type":"OBJECT"},"responseJsonSchema":{},"_responseJsonSchema":{},"speechConfig":{"voiceConfig":{}},"temperature":null,"topK":3}}""",
        """{"generationConfig":{"temperature":0.2,"temperature":0.5,"topK":null,"topK":4,"topP":1,"topP":null}}""",
        """{"generationConfig":{"t\u0065mperature":0.2}}""",
        """{"generationConfig":{"stopSequences":["\ud800"],"responseMimeType":"\udc00"}}""",
        """{"generationConfig":{"temperature":1e-7,"maxOutputTokens":12345678901234567890123,"presencePenalty":-0.5,"enableEnhancedCivicAnswers":false}}""",
        """{"generationConfig":{"tools_count":9,"toolConfig":1},"tools":[{"googleSearch":{}}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}""",
        """{"generationConfig":{},"generationConfig":{}}""",
        """{"tools":[]}""",
        """{"tools":[{"functionDeclarations":[{"name":"a"},{"name":"b"},{"name":"c"}]},{"googleSearch":{}},{"codeExecution":{}},{"functionDeclarations":{"name":"not an array"}},{"functionDeclarations":[],"googleSearch":{}},{},5,"x",null,[1]]}""",
        """{"tools":[{"functionDeclarations":[{"name":"a"}],"functionDeclarations":[{"name":"b"}]}]}""",
        """{"tools":[{"functionD\u0065clarations":[{"name":"a"}]}]}""",
        """{"tools":[{"urlContext":{},"googleSearchRetrieval":{"dynamicRetrievalConfig":{"mode":"MODE_DYNAMIC"}}}],"tools":[]}""",
        """{"toolConfig":{"functionCallingConfig":{"mode":"AUTO","allowedFunctionNames":["f","caf\u00e9"]}}}""",
        """{"toolConfig":{"a":"\ud800"}}""",
        """{"toolConfig":{},"toolConfig":{}}""",
        """{"cachedContent":"cachedContents/abc123"}""",
        """{"cachedContent":"caf\u00e9"}""",
        """{"cachedContent":"\ud800"}""",
        """{"cachedContent":null,"safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}]}""",
        """{"contents":[{"parts":[{"text":"a"}]}],}""",
        """{"contents":[]} x""",
        """[{"contents":[]}]""",
        """ "just a string" """,
        """  { "contents" : [ { "role" : "user" , "parts" : [ { "text" : "spaces" } ] } ] , "generationConfig" : { "temperature" : 0.1 } }  """,
        // snake_case, and members given under both spellings (the reader declines those; the document reads the camelCase one)
        """{"system_instruction":{"parts":[{"text":"sys"}]},"generation_config":{"max_output_tokens":5,"top_p":0.5,"candidate_count":2},"tool_config":{"function_calling_config":{"mode":"ANY"}},"cached_content":"cachedContents/x"}""",
        """{"system_instruction":"You are terse.","contents":[{"parts":[{"text":"u"}]}]}""",
        """{"systemInstruction":{"parts":[{"text":"camel"}]},"system_instruction":{"parts":[{"text":"snake"}]}}""",
        """{"system_instruction":{"parts":[{"text":"snake"}]},"systemInstruction":null}""",
        """{"systemInstruction":5,"system_instruction":"snake"}""",
        """{"generationConfig":{"temperature":0.1},"generation_config":{"temperature":0.9}}""",
        """{"generation_config":{"maxOutputTokens":6,"max_output_tokens":5,"response_schema":{"type":"OBJECT"},"response_json_schema":{},"_response_json_schema":{},"speech_config":{},"thinking_config":{"thinking_budget":0}}}""",
        """{"toolConfig":{"functionCallingConfig":{}},"tool_config":{"function_calling_config":{}}}""",
        """{"tool_config":"x","cached_content":5}""",
        """{"cachedContent":"a","cached_content":"b"}""",
        """{"cached_content":"\ud800"}""",
        """{"tools":[{"function_declarations":[{"name":"a"},{"name":"b"}]},{"google_search":{}},{"code_execution":{}},{"functionDeclarations":[{"name":"c"}],"function_declarations":[{"name":"d"},{"name":"e"}]},{"function_declarations":{"name":"x"}}]}""",
        """{"contents":[{"role":"model","parts":[{"text":"t"},{"function_call":{"id":"c1","name":"f","args":{"a":1}}},{"function_call":{"name":"g"}}]},{"role":"user","parts":[{"function_response":{"name":"f","id":"c1","response":{"r":1}}}]}]}""",
        """{"contents":[{"parts":[{"inline_data":{"mime_type":"image/png","data":"AAAA"}},{"file_data":{"file_uri":"gs://x"}},{"executable_code":{}},{"code_execution_result":{}},{"inline_data":null,"file_data":{}},{"inline_data":null}]}]}""",
        """{"contents":[{"parts":[{"functionCall":{"name":"f"},"function_call":{"name":"g"}}]}]}""",
        """{"contents":[{"parts":[{"functionCall":"x","function_call":{"name":"g"}},{"function_response":{"name":"r"},"functionResponse":null}]}]}""",
        """{"contents":[{"parts":[{"inlineData":{},"inline_data":{}}]}]}""",
        """{"contents":[{"parts":[{"fileData":null,"file_data":{}}]}]}""",
    ];

    private static readonly byte[] InvalidUtf8 = [.. "{\"contents\":[{\"parts\":[{\"text\":\"bad "u8, 0xFF, .. " utf8\"}]}]}"u8];

    [Test]
    public void The_fast_request_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var response = File.ReadAllBytes(Path.Combine(FixtureRoot, "generate-content-response.json"));
        var originals = FixtureRequests().Append(GeneratedRequest).Concat(EdgeCases.Select(Encoding.UTF8.GetBytes)).ToList();
        var random = new Random(Seed);
        var bodies = originals.Concat(originals.Select(body => Respelled(random, body))).Append(InvalidUtf8).ToList();
        Assert.That(originals, Has.Count.GreaterThan(EdgeCases.Length + 2), "the fixture requests were found");
        var (taken, declined) = Differential.Check("gemini-request-reader", bodies, body => (body, response), GeminiRequestReader.TryReadRequest, Seed);
        Assert.That(taken, Is.GreaterThan((taken + declined) / 4), "the fast reader takes a good share of the requests");
        Assert.That(declined, Is.GreaterThan((taken + declined) / 10), "a good share of the requests go to the document path");
    }

    /// <summary>
    /// The common shapes are taken, not declined: the fixtures' requests and one as the SDKs write it, in camelCase, in
    /// snake_case and in mixes of the two.
    /// </summary>
    [Test]
    public void The_common_shapes_are_taken()
    {
        var common = FixtureRequests().Append(GeneratedRequest).ToList();
        var random = new Random(Seed);
        var respelled = common.SelectMany(body => Enumerable.Range(0, 10).Select(_ => Respelled(random, body))).ToList();
        Assert.That(FixtureRequests().Select(Encoding.UTF8.GetString), Has.Some.Contains("\"system_instruction\""), "the snake_case fixture was found");
        Differential.AssertTakesAll(common.Concat(respelled).Append(Respelled(new Random(Seed), GeneratedRequest, always: true)), GeminiRequestReader.TryReadRequest);
    }

    /// <summary>
    /// The body with each member name that has capitals (and looks like one: <c>"name":</c>) spelled in snake_case,
    /// each one by chance (every one with <paramref name="always"/>), the rest of the text as it was: duplicates,
    /// escapes and odd shapes stay, and a member given twice can now be given once under each spelling.
    /// </summary>
    private static byte[] Respelled(Random random, byte[] body, bool always = false) =>
        Encoding.UTF8.GetBytes(Regex.Replace(Encoding.UTF8.GetString(body), "\"([A-Za-z_]*[A-Z][A-Za-z_]*)\"(\\s*):",
            m => always || random.Next(2) == 0 ? $"\"{SnakeCase(m.Groups[1].Value)}\"{m.Groups[2].Value}:" : m.Value));

    /// <summary>A random value with its member names (nested ones too) in snake_case by chance, one by one.</summary>
    private static JsonNode? Respelled(Random random, JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.ToList().Select(p => KeyValuePair.Create(
            random.Next(2) == 0 ? SnakeCase(p.Key) : p.Key, Respelled(random, p.Value?.DeepClone())))),
        JsonArray array => new JsonArray([.. array.Select(item => Respelled(random, item?.DeepClone()))]),
        _ => node,
    };

    private static string SnakeCase(string name) => Regex.Replace(name, "[A-Z]", m => "_" + m.Value.ToLowerInvariant());

    /// <summary>The stream flag comes from the endpoint on both paths (the differential above uses the streaming one only).</summary>
    [TestCase(":generateContent", false)]
    [TestCase(":streamGenerateContent", true)]
    public void The_stream_flag_follows_the_endpoint(string method, bool stream)
    {
        var route = new ProviderRoute(GeminiGenerateContentAdapter.Instance, "gemini", "https://generativelanguage.googleapis.com/v1beta", "/models/gemini-2.5-flash" + method);
        var limits = new CaptureLimits(1000, 1000);
        var fast = new CallRecord(route) { Id = "id" };
        var document = new CallRecord(route) { Id = "id" };
        using var parsed = JsonDocument.Parse(GeneratedRequest);

        Assert.That(GeminiRequestReader.TryReadRequest(GeneratedRequest, fast, limits), Is.True);
        GeminiGenerateContentAdapter.Instance.ParseRequest(parsed.RootElement, document, limits);

        Assert.That((fast.Stream, document.Stream), Is.EqualTo((stream, stream)));
        Assert.That(fast.RequestedModel, Is.EqualTo("gemini-2.5-flash").And.EqualTo(document.RequestedModel));
    }

    private static IEnumerable<byte[]> FixtureRequests() =>
        Directory.GetFiles(FixtureRoot, "generate-content-request*.json").Order(StringComparer.Ordinal).Select(File.ReadAllBytes);

    private static readonly string LongText =
        string.Join(" ", Enumerable.Range(0, 40).Select(i => $"Line {i}: café ☕ costs {i * 3}€ <b>\"bold\"</b> & more.\n"));

    /// <summary>A request as the SDKs write it: no whitespace, non-ASCII and newlines escaped, a function call round trip.</summary>
    private static readonly byte[] GeneratedRequest = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["contents"] = new JsonArray(
            new JsonObject { ["role"] = "user", ["parts"] = new JsonArray(new JsonObject { ["text"] = LongText }, new JsonObject { ["inlineData"] = new JsonObject { ["mimeType"] = "image/png", ["data"] = "iVBORw0KGgo" } }) },
            new JsonObject
            {
                ["role"] = "model",
                ["parts"] = new JsonArray(
                    new JsonObject { ["text"] = "Let me look.", ["thought"] = true },
                    new JsonObject { ["functionCall"] = new JsonObject { ["name"] = "lookup", ["args"] = new JsonObject { ["q"] = "café" } }, ["thoughtSignature"] = "CiQB" }),
            },
            new JsonObject { ["role"] = "user", ["parts"] = new JsonArray(new JsonObject { ["functionResponse"] = new JsonObject { ["name"] = "lookup", ["response"] = new JsonObject { ["result"] = "found \"it\"" } } }) }),
        ["systemInstruction"] = new JsonObject { ["parts"] = new JsonArray(new JsonObject { ["text"] = "You are helpful.\nBe brief." }) },
        ["generationConfig"] = new JsonObject { ["temperature"] = 0.2, ["maxOutputTokens"] = 1024, ["responseSchema"] = new JsonObject { ["type"] = "OBJECT" }, ["thinkingConfig"] = new JsonObject { ["thinkingBudget"] = 256 } },
        ["tools"] = new JsonArray(new JsonObject { ["functionDeclarations"] = new JsonArray(new JsonObject { ["name"] = "lookup", ["parameters"] = new JsonObject { ["type"] = "OBJECT" } }) }),
        ["safetySettings"] = new JsonArray(new JsonObject { ["category"] = "HARM_CATEGORY_HARASSMENT", ["threshold"] = "BLOCK_NONE" }),
    });

    private static JsonNode? RandomValue(Random random) => random.Next(18) switch
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
        9 => JsonValue.Create(random.Next(3) switch { 0 => "user", 1 => "model", _ => "function" }),
        10 => new JsonObject { ["text"] = "t", ["thought"] = random.Next(2) == 0 },
        11 => new JsonArray(new JsonObject { ["text"] = "part" }, new JsonObject { ["functionCall"] = new JsonObject { ["name"] = "f", ["args"] = new JsonObject { ["a"] = 1 } } }, new JsonObject { ["fileData"] = new JsonObject { ["fileUri"] = "u" } }),
        12 => new JsonObject { ["name"] = "n", ["id"] = "i", ["response"] = new JsonObject { ["k"] = new JsonArray(1, "v") } },
        13 => new JsonArray(new JsonObject { ["role"] = "user", ["parts"] = new JsonArray(new JsonObject { ["text"] = "c" }) }),
        14 => new JsonArray(new JsonObject { ["functionDeclarations"] = new JsonArray(new JsonObject { ["name"] = "a" }, new JsonObject { ["name"] = "b" }) }, new JsonObject { ["googleSearch"] = new JsonObject() }),
        15 => new JsonObject { ["temperature"] = 0.5, ["topK"] = 3, ["responseSchema"] = new JsonObject() },
        16 => new JsonObject { ["functionCallingConfig"] = new JsonObject { ["mode"] = "AUTO" } },
        _ => JsonValue.Create(long.MaxValue),
    };
}
