using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The fast whole-body reader for OpenAI Responses (<see cref="ResponsesBodyReader"/>) against the
/// <see cref="JsonDocument"/> path it short-cuts (<see cref="OpenAiResponsesAdapter.ParseRequest"/> and
/// <see cref="OpenAiResponsesAdapter.ParseResponse"/>): every Responses request and response of the OpenAI fixtures,
/// bodies shaped as the SDKs write them, hand-written edge cases and fuzzed variants of all of them go through
/// <see cref="WholeBodyDifferential"/>. Fixed seeds.
/// </summary>
public class ResponsesBodyReaderTests
{
    private const int Seed = 20261129;
    private const int MutationsPerBody = 200;
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures", "openai");
    private static readonly ProviderRoute Route = new(OpenAiResponsesAdapter.Instance, "openai", "https://api.openai.com", "/v1/responses");

    private static readonly JsonMutator Mutator = new(
        ["model", "stream", "instructions", "input", "role", "content", "type", "text", "refusal", "filename", "image_url", "call_id", "id", "name",
         "arguments", "output", "summary", "status", "reasoning", "effort", "format", "verbosity", "prompt", "version", "variables", "tools", "functions",
         "response_format", "temperature", "max_output_tokens", "metadata", "store", "previous_response_id", "service_tier", "incomplete_details",
         "reason", "error", "code", "message", "usage", "input_tokens", "output_tokens", "total_tokens", "input_tokens_details", "cached_tokens",
         "output_tokens_details", "reasoning_tokens", "annotations", "encrypted_content"],
        RandomValue);

    private static readonly WholeBodyDifferential Differential = new(Route, Mutator, MutationsPerBody);

    private static readonly string[] RequestEdgeCases =
    [
        """{"model":"m","model":"n","input":"x"}""",
        """{"model":5,"stream":"yes","instructions":7,"input":{"role":"user"}}""",
        """{"model":null,"stream":null,"instructions":null,"input":null,"temperature":null,"top_k":7}""",
        """{"input":"","stream":true}""",
        """{"input":[]}""",
        """{"instructions":"","input":[]}""",
        """{"instructions":"only instructions"}""",
        """{"input":"x","input":"y"}""",
        """{"model":"m","model":null,"input":"x"}""",
        """{"input":[{"role":"user","content":"x"}],"input":null}""",
        """{"input":[{"role":"user","content":"x","content":null}]}""",
        """{"reasoning":{"effort":"low"},"reasoning":null}""",
        """{"text":{"format":{"type":"json_object"},"format":"text"}}""",
        """{"instructions":"a","instructions":"b"}""",
        """{"input":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"}""",
        """{"input":"\ud800 lone"}""",
        """{"instructions":"\udc00 lone"}""",
        """{"input":"a text well over the forty characters of the cap in this test"}""",
        """{"input":"exactly forty characters, not one more!"}""",
        """{"instructions":"instructions well over the forty characters of the cap","input":"and input well over the forty characters of the cap too"}""",
        """{"input":["plain string item","",5,null,[1],true,{"role":"user","content":"after them"}]}""",
        """{"input":[{"role":"user"},{"content":"no role"},{},{"role":7,"content":{"type":"input_text"}},{"role":"user","content":5},{"type":7,"role":"user","content":"numeric type"}]}""",
        """{"input":[{"type":"message","role":"developer","content":[{"type":"input_text","text":"one"},{"type":"input_text","text":"two"}]}]}""",
        """{"input":[{"role":"user","content":["a","",{"type":"input_text","text":""},{"type":"input_text","text":"b"},5,null,[1],{}]}]}""",
        """{"input":[{"role":"user","content":["",""," "]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_image","image_url":"https://x/y.png"},{"type":"input_file","filename":"a.pdf"},{"type":"input_file"},{"type":"input_file","filename":""},{"type":"input_file","filename":5},{"type":"input_audio","input_audio":{"data":"AAAA"}},{"type":"computer_screenshot"}]}]}""",
        """{"input":[{"role":"assistant","content":[{"type":"output_text","text":"t","annotations":[]},{"type":"refusal","refusal":"no"},{"type":"refusal"},{"type":"output_text"},{"type":"text","text":"plain"},{"type":"summary_text","text":"s"},{"type":"reasoning_text","text":"r"}]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_text","text":"t","type":"input_image"}]}]}""",
        """{"input":[{"role":"user","content":[{"typ\u0065":"input_text","text":"t"}]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_t\u0065xt","text":"escaped type"}]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_text","text":5}]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_text","text":"\ud800"}]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_image","text":"\ud800"}]}]}""",
        """{"input":[{"role":"user","content":[{"type":"input_text","text":"a part well over the forty characters of the cap"},{"type":"input_text","text":"and a second"}]}]}""",
        """{"input":[{"role":"user","content":"x","content":"y"}]}""",
        """{"input":[{"role":"user","role":"assistant","content":"x"}]}""",
        """{"input":[{"r\u006fle":"user","content":"escaped name"}]}""",
        """{"input":[{"content":"content before role","role":"user","type":"message"}]}""",
        """{"input":[{"type":"function_call","call_id":"call_1","id":"fc_1","name":"get_weather","arguments":"{\"location\":\"Paris\"}"},{"type":"function_call","id":"fc_2","name":"f"},{"type":"function_call"},{"type":"custom_tool_call","call_id":"c","name":"g","input":"raw input"},{"type":"function_call","arguments":"a","input":"i"},{"type":"function_call","call_id":5,"name":["n"],"arguments":{"a":1}}]}""",
        """{"input":[{"arguments":"{}","name":"late","call_id":"c9","type":"function_call"}]}""",
        """{"input":[{"type":"function_call","call_id":"c","name":"f","arguments":"a long argument string well over the forty characters of the cap"}]}""",
        """{"input":[{"type":"function_call_output","call_id":"call_1","output":"{\"temperature\":18}"},{"type":"function_call_output","call_id":"c2","output":[{"type":"input_text","text":"one"},{"type":"input_image"}]},{"type":"function_call_output"},{"type":"custom_tool_call_output","call_id":"c","output":"done"},{"type":"function_call_output","output":{"not":"text"}}]}""",
        """{"input":[{"type":"function_call_output","call_id":"c","output":"\ud800"}]}""",
        """{"input":[{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thinking"}],"encrypted_content":"gAAA"},{"type":"reasoning","summary":[]},{"type":"reasoning","content":[{"type":"reasoning_text","text":"r"}]}]}""",
        """{"input":[{"type":"web_search_call","id":"ws_1","status":"completed"},{"type":"item_reference","id":"msg_1"},{"type":"file_search_call","role":"assistant"},{"type":"mcp_call","name":"x"},{"type":""}]}""",
        """{"input":[{"type":"message","role":"user","content":"a","type":"reasoning"}]}""",
        """{"input":[{"type":"mess\u0061ge","role":"user","content":"escaped type"}]}""",
        """{"reasoning":{"effort":"high","summary":"detailed"},"text":{"format":{"type":"json_schema","name":"x","schema":{"type":"object"},"strict":true},"verbosity":"low"},"prompt":{"id":"pmpt_1","version":"2","variables":{"city":"Paris"}}}""",
        """{"reasoning":{"effort":null,"summary":null},"text":{"format":{"type":"text"}},"prompt":{"id":"pmpt_1"}}""",
        """{"reasoning":{"effort":5,"summary":["auto"]},"text":{"format":"json","verbosity":3},"prompt":{"id":7,"version":3}}""",
        """{"reasoning":"high","text":"json","prompt":"pmpt_1"}""",
        """{"reasoning":{},"text":{},"prompt":{}}""",
        """{"reasoning":{"effort":"low","effort":"high"}}""",
        """{"reasoning":{"effort":"low"},"reasoning":{"effort":"high"}}""",
        """{"text":{"format":{"type":"text","type":"json_object"}}}""",
        """{"text":{"format":{"type":"json_object"},"format":null}}""",
        """{"text":{"verbosity":"low","verbosity":"high"}}""",
        """{"text":{"format":{"type":5}}}""",
        """{"prompt":{"id":"a","id":"b"}}""",
        """{"prompt":{"id":"pmpt_1","version":1.5}}""",
        """{"prompt":{"id":"pmpt_1","version":true}}""",
        """{"prompt":{"id":"pmpt_1","version":-2e3}}""",
        """{"prompt":{"id":"pmpt_1","version":null}}""",
        """{"prompt":{"id":"pmpt_1","version":{"v":1}}}""",
        """{"prompt":{"id":"\ud800"}}""",
        """{"reasoning":{"effort":"\ud800"}}""",
        """{"reasoning_effort":"minimal","reasoning":{"effort":"high"},"text_format":"x","text":{"format":{"type":"text"}},"prompt_id":"p","prompt":{"id":"q"}}""",
        """{"tools":[{"type":"function","name":"a"},{"type":"web_search"},{"type":"file_search"},{"type":"mcp"},{"name":"e","parameters":{"type":"object","properties":{"x":{"type":"array","items":[1,[2],{"3":[]}]}}}},"f",7,null,[]],"functions":[{}]}""",
        """{"tools":{"a":1},"tools_count":9,"tools":[]}""",
        """{"response_format":{"type":"json_object"},"metadata":{"team":"travel","k":"\ud800"},"include":["reasoning.encrypted_content"],"store":false}""",
        """{"response_format":{"type":"json_schema","type":"text"}}""",
        """{"response_format":{"schema":{}},"tool_choice":{"type":"function","name":"f"},"parallel_tool_calls":true}""",
        """{"temperature":1e-7,"top_p":1.0,"max_output_tokens":12345678901234567890123,"service_tier":"flex","user":"u\u00e9","safety_identifier":"s"}""",
        """{"temperature":0.2,"temperature":0.5,"top_p":null,"top_p":1.0}""",
        """{"te\u006dperature":0.2}""",
        """{"input":"x"} trailing""",
        """[{"input":"x"}]""",
        """{"input":"x",}""",
        """ "just a string" """,
        """  { "model" : "gpt-4.1" , "input" : [ { "role" : "user" , "content" : [ { "type" : "input_text" , "text" : "spaces" } ] } ] }  """,
    ];

    private static readonly string[] ResponseEdgeCases =
    [
        """{"id":"","model":"","status":"","output":[]}""",
        """{"id":null,"model":null,"status":null,"output":null,"usage":null,"incomplete_details":null,"error":null}""",
        """{"id":5,"model":[1],"status":{},"output":{"type":"message"},"usage":"none","incomplete_details":"max_output_tokens","error":"boom"}""",
        """{"output":["a string",5,null,[1],{},{"type":"message","content":[{"type":"output_text","text":"after them"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"output_text"},{"type":"output_text","text":5},{"type":"output_text","text":""}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"output_text","text":"one"},{"type":"output_text","text":"two"}]},{"type":"message","content":[{"type":"output_text","text":"a third text that takes the output well over the cap"}]}]}""",
        """{"output":[{"type":"message","content":["plain",5,null,{"type":"input_text","text":"not output"},{"text":"no type"},{"type":"output_text","text":"kept"}]}]}""",
        """{"output":[{"type":"message","content":"not an array"},{"type":"message"},{"content":[{"type":"output_text","text":"no item type"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"refusal","refusal":"I can't help with that."},{"type":"refusal"},{"type":"refusal","refusal":"and a second refusal well over the cap of forty"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"refusal","refusal":""}]}]}""",
        """{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"first"},{"type":"summary_text","text":"second"}]},{"type":"reasoning","summary":[{"type":"summary_text","text":"third"}]}]}""",
        """{"output":[{"type":"reasoning","content":[{"type":"reasoning_text","text":"content first in the item"}],"summary":[{"type":"summary_text","text":"summary read first"}]}]}""",
        """{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":""},{"type":"summary_text"},"s",5,{"text":"no type"},{"type":"summary_text","text":"last"}],"content":"not an array"}]}""",
        """{"output":[{"type":"reasoning","summary":"not an array","encrypted_content":"gAAA"},{"type":"reasoning","summary":[]}]}""",
        """{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"a summary well over the forty characters of the cap"},{"type":"summary_text","text":"more"}]}]}""",
        """{"output":[{"type":"function_call","call_id":"call_1","id":"fc_1","name":"get_weather","arguments":"{\"location\":\"Paris\"}"},{"type":"function_call","id":"fc_2","name":"f"},{"type":"function_call"},{"type":"custom_tool_call","call_id":"c","name":"g","input":"raw"},{"type":"function_call","arguments":"a","input":"i"}],"status":"completed"}""",
        """{"status":"completed","output":[{"name":"late","arguments":"{}","call_id":"c","type":"function_call"}]}""",
        """{"output":[{"type":"function_call","call_id":"c","name":"f","arguments":"a long argument string well over the forty characters of the cap"}]}""",
        """{"output":[{"type":"web_search_call","id":"ws","status":"completed"},{"type":"file_search_call"},{"type":"image_generation_call","result":"AAAA"},{"type":"mcp_call","name":"x","arguments":"{}"}],"status":"completed"}""",
        """{"output":[{"type":"message","content":[{"type":"output_text","text":"\ud800"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"refusal","refusal":"\udfff"}]}]}""",
        """{"output":[{"type":"function_call","name":"\ud800"}]}""",
        """{"output":[{"type":"reasoning","summary":[{"type":"summary_text","text":"\ud800"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"output_text","text":"x","text":"y"}]}]}""",
        """{"output":[{"type":"message","type":"reasoning","content":[]}]}""",
        """{"output":[{"type":"message","content":[{"type":"output_text","t\u0065xt":"escaped name"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"output_t\u0065xt","text":"escaped type"}]}]}""",
        """{"output":[{"type":"message","content":[{"type":"output_text","text":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"}]}]}""",
        """{"status":"completed","status":"failed"}""",
        """{"status":"completed"}""",
        """{"status":"incomplete","incomplete_details":{"reason":"max_output_tokens"}}""",
        """{"status":"incomplete","incomplete_details":{"reason":"content_filter"}}""",
        """{"status":"incomplete","incomplete_details":{"reason":"something_new"}}""",
        """{"status":"incomplete","incomplete_details":{}}""",
        """{"status":"incomplete","incomplete_details":{"reason":7}}""",
        """{"status":"incomplete","incomplete_details":{"reason":"a","reason":"b"}}""",
        """{"status":"incomplete"}""",
        """{"status":"failed","error":{"code":"server_error","message":"The model failed."}}""",
        """{"status":"failed","error":{"code":429,"message":5}}""",
        """{"status":"failed","error":{"code":true}}""",
        """{"status":"failed","error":{"code":1.5e2,"message":"m"}}""",
        """{"status":"failed","error":{}}""",
        """{"error":{"code":"a","code":"b"}}""",
        """{"error":{"message":"\ud800"}}""",
        """{"status":"cancelled"}""",
        """{"status":"queued","background":true}""",
        """{"status":"in_progress"}""",
        """{"usage":{"input_tokens":1326,"input_tokens_details":{"cached_tokens":1152},"output_tokens":15,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":1341}}""",
        """{"usage":{"input_tokens":12,"output_tokens":48}}""",
        """{"usage":{"total_tokens":60}}""",
        """{"usage":{"input_tokens_details":{},"output_tokens_details":{}}}""",
        """{"usage":{"input_tokens_details":{"cached_tokens":null},"output_tokens_details":{"reasoning_tokens":null}}}""",
        """{"usage":{"input_tokens_details":5,"output_tokens_details":[1]}}""",
        """{"usage":{"input_tokens":"12"}}""",
        """{"usage":{"input_tokens":12.0}}""",
        """{"usage":{"input_tokens":1e3}}""",
        """{"usage":{"input_tokens":-4,"output_tokens":0}}""",
        """{"usage":{"input_tokens":12,"input_tokens":13}}""",
        """{"usage":{"input_tokens_details":{"cached_tokens":1,"cached_tokens":2}}}""",
        """{"usage":{"input_tokens":12,"input_tokens":null}}""",
        """{"usage":{"input_tokens_details":{"cached_tokens":5},"input_tokens_details":null}}""",
        """{"usage":{"output_tokens_details":{"reasoning_tokens":5},"output_tokens_details":[]}}""",
        """{"usage":{"input_tokens":1},"usage":null}""",
        """{"status":"completed","status":null}""",
        """{"incomplete_details":{"reason":"max_output_tokens"},"incomplete_details":null,"status":"incomplete"}""",
        """{"output":[{"type":"message","content":[{"type":"output_text","text":"x","text":null}]}]}""",
        """{"output":[{"type":"function_call","call_id":"c","call_id":null,"name":"f"}]}""",
        """{"usage":{"output_tokens_details":{"reasoning_tokens":"7"}}}""",
        """{"usage":{"input_tokens":true,"output_tokens":[1],"total_tokens":{}}}""",
        """{"usage":{"input_tokens":9223372036854775808}}""",
        """{"usage":{}}""",
        """{"model":"gpt-4.1-mini-2025-04-14","service_tier":"priority","usage":{"input_tokens":1000,"output_tokens":100}}""",
        """{"model":"o4-mini-2025-04-16","service_tier":"flex","usage":{"input_tokens":1000,"output_tokens":100}}""",
        """{"service_tier":"priority","service_tier":"default"}""",
        """{"service_tier":5}""",
        """{"service_tier":null}""",
        """{"service_tier":"\ud800"}""",
        """{"service_tier":"pr\u0069ority","model":"gpt-4.1-mini"}""",
        """{"servic\u0065_tier":"flex"}""",
        """{"\u006futput":[]}""",
        """{"output":[{"type":"message","content":[]}],}""",
        """{"output":[]} x""",
        """[{"output":[]}]""",
        """ "just a string" """,
        """  { "id" : "resp_1" , "status" : "completed" , "output" : [ { "type" : "message" , "content" : [ { "type" : "output_text" , "text" : "spaces" } ] } ] , "usage" : { "input_tokens" : 1 } }  """,
    ];

    // Not valid UTF-8 inside a string value.
    private static readonly byte[] InvalidUtf8Request = [.. "{\"input\":[{\"role\":\"user\",\"content\":\"bad "u8, 0xFF, .. " utf8\"}]}"u8];
    private static readonly byte[] InvalidUtf8Response = [.. "{\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"bad "u8, 0xFF, .. " utf8\"}]}]}"u8];

    [Test]
    public void The_fast_request_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var response = File.ReadAllBytes(Path.Combine(FixtureRoot, "responses-response.json"));
        var bodies = FixtureBodies("responses-request*.json").Concat(GeneratedRequests).Concat(RequestEdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8Request).ToList();
        Assert.That(bodies, Has.Count.GreaterThan(RequestEdgeCases.Length + GeneratedRequests.Length + 1), "fixture requests were found");
        var (taken, declined) = Differential.Check("responses-body-reader-request", bodies, body => (body, response), ResponsesBodyReader.TryReadRequest, Seed);
        AssertBothPathsExercised(bodies.Count, taken, declined);
    }

    [Test]
    public void The_fast_response_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var request = File.ReadAllBytes(Path.Combine(FixtureRoot, "responses-request.json"));
        var bodies = FixtureBodies("responses-response*.json").Concat(GeneratedResponses).Concat(ResponseEdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8Response).ToList();
        Assert.That(bodies, Has.Count.GreaterThan(ResponseEdgeCases.Length + GeneratedResponses.Length + 3), "fixture responses were found");
        var (taken, declined) = Differential.Check("responses-body-reader-response", bodies, body => (request, body), ResponsesBodyReader.TryReadResponse, Seed + 1);
        AssertBothPathsExercised(bodies.Count, taken, declined);
    }

    /// <summary>Both sides of the comparison carry weight: a third or more of the cases taken, a tenth or more declined.</summary>
    private static void AssertBothPathsExercised(int bodies, int taken, int declined)
    {
        var cases = bodies * (MutationsPerBody + 1);
        Assert.That(taken, Is.GreaterThanOrEqualTo(cases / 3), "the fast reader takes at least a third of the cases");
        Assert.That(declined, Is.GreaterThanOrEqualTo(cases / 10), "at least a tenth of the cases go to the document path");
    }

    /// <summary>The common shapes are taken, not declined: the fixtures (string and item input, messages, tool calls, reasoning, parameters) and the SDK-shaped bodies.</summary>
    [Test]
    public void The_common_shapes_are_taken()
    {
        Differential.AssertTakesAll(FixtureBodies("responses-request*.json").Concat(GeneratedRequests), ResponsesBodyReader.TryReadRequest);
        Differential.AssertTakesAll(FixtureBodies("responses-response*.json").Concat(GeneratedResponses), ResponsesBodyReader.TryReadResponse);
    }

    private static IEnumerable<byte[]> FixtureBodies(string pattern) =>
        Directory.GetFiles(FixtureRoot, pattern).Order(StringComparer.Ordinal).Select(File.ReadAllBytes);

    private static readonly string LongText =
        string.Join(" ", Enumerable.Range(0, 40).Select(i => $"Line {i}: café ☕ costs {i * 3}€ <b>\"bold\"</b> & more.\n"));

    /// <summary>
    /// Requests as the SDKs write them: no whitespace, every non-ASCII character and newline escaped. A string input; and
    /// a conversation with a tool round trip, reasoning carried over, parameters and the three settings objects.
    /// </summary>
    private static readonly byte[][] GeneratedRequests =
    [
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["model"] = "gpt-4.1-mini",
            ["instructions"] = "You are helpful.\nBe brief.",
            ["input"] = LongText,
            ["temperature"] = 0.2,
            ["max_output_tokens"] = 1024,
            ["service_tier"] = "auto",
        }),
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["model"] = "o4-mini",
            ["input"] = new JsonArray(
                new JsonObject { ["role"] = "developer", ["content"] = "Answer in French." },
                new JsonObject
                {
                    ["type"] = "message",
                    ["role"] = "user",
                    ["content"] = new JsonArray(
                        new JsonObject { ["type"] = "input_text", ["text"] = LongText },
                        new JsonObject { ["type"] = "input_image", ["image_url"] = "data:image/png;base64,iVBORw0KGgo", ["detail"] = "auto" }),
                },
                new JsonObject
                {
                    ["type"] = "reasoning",
                    ["id"] = "rs_1",
                    ["summary"] = new JsonArray(new JsonObject { ["type"] = "summary_text", ["text"] = "**Looking up**\n\nThe weather." }),
                    ["encrypted_content"] = "gAAAAABo",
                },
                new JsonObject { ["type"] = "function_call", ["id"] = "fc_1", ["call_id"] = "call_1", ["name"] = "lookup", ["arguments"] = "{\"q\":\"café\"}", ["status"] = "completed" },
                new JsonObject { ["type"] = "function_call_output", ["call_id"] = "call_1", ["output"] = "found \"it\"" },
                new JsonObject
                {
                    ["type"] = "message",
                    ["role"] = "assistant",
                    ["id"] = "msg_1",
                    ["status"] = "completed",
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = "Il fait beau.", ["annotations"] = new JsonArray() }),
                }),
            ["tools"] = new JsonArray(new JsonObject
            {
                ["type"] = "function",
                ["name"] = "lookup",
                ["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["q"] = new JsonObject { ["type"] = "string" } } },
                ["strict"] = true,
            }),
            ["tool_choice"] = "auto",
            ["reasoning"] = new JsonObject { ["effort"] = "medium", ["summary"] = "auto" },
            ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "text" }, ["verbosity"] = "medium" },
            ["prompt"] = new JsonObject { ["id"] = "pmpt_1", ["version"] = "3", ["variables"] = new JsonObject { ["city"] = "Paris" } },
            ["include"] = new JsonArray("reasoning.encrypted_content"),
            ["store"] = false,
            ["stream"] = false,
        }),
    ];

    /// <summary>Responses as the API sends them, with every non-ASCII character and newline escaped: an answer, and reasoning with tool calls.</summary>
    private static readonly byte[][] GeneratedResponses =
    [
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["id"] = "resp_01",
            ["object"] = "response",
            ["created_at"] = 1741476542,
            ["status"] = "completed",
            ["error"] = null,
            ["incomplete_details"] = null,
            ["model"] = "gpt-4.1-mini-2025-04-14",
            ["output"] = new JsonArray(new JsonObject
            {
                ["id"] = "msg_01",
                ["type"] = "message",
                ["status"] = "completed",
                ["role"] = "assistant",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = LongText, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() }),
            }),
            ["usage"] = new JsonObject
            {
                ["input_tokens"] = 500,
                ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 128 },
                ["output_tokens"] = 450,
                ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
                ["total_tokens"] = 950,
            },
            ["metadata"] = new JsonObject(),
            ["service_tier"] = "priority",
        }),
        JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["id"] = "resp_02",
            ["status"] = "completed",
            ["model"] = "o4-mini-2025-04-16",
            ["output"] = new JsonArray(
                new JsonObject
                {
                    ["id"] = "rs_02",
                    ["type"] = "reasoning",
                    ["summary"] = new JsonArray(
                        new JsonObject { ["type"] = "summary_text", ["text"] = "**Weather**\n\nCall the tool." },
                        new JsonObject { ["type"] = "summary_text", ["text"] = "**Time**\n\nAnd the clock, é." }),
                },
                new JsonObject { ["id"] = "fc_02", ["type"] = "function_call", ["status"] = "completed", ["arguments"] = "{\"q\":\"\\\"more\\\"\\n\"}", ["call_id"] = "call_02", ["name"] = "lookup" },
                new JsonObject
                {
                    ["id"] = "msg_02",
                    ["type"] = "message",
                    ["role"] = "assistant",
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "refusal", ["refusal"] = "I can't share that." }),
                }),
            ["service_tier"] = "flex",
            ["usage"] = new JsonObject
            {
                ["input_tokens"] = 312,
                ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 0 },
                ["output_tokens"] = 198,
                ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 128 },
                ["total_tokens"] = 510,
            },
        }),
    ];

    private static JsonNode? RandomValue(Random random) => random.Next(23) switch
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
        9 => JsonValue.Create(random.Next(8) switch
        {
            0 => "message", 1 => "function_call", 2 => "function_call_output", 3 => "reasoning", 4 => "output_text", 5 => "refusal", 6 => "input_file", _ => "custom_tool_call",
        }),
        10 => JsonValue.Create(random.Next(6) switch { 0 => "completed", 1 => "incomplete", 2 => "failed", 3 => "max_output_tokens", 4 => "content_filter", _ => "cancelled" }),
        11 => new JsonObject { ["type"] = "output_text", ["text"] = "t" },
        12 => new JsonArray(JsonValue.Create("part"), new JsonObject { ["type"] = "input_text", ["text"] = "t" }, new JsonObject { ["type"] = "input_image", ["image_url"] = "u" }),
        13 => new JsonObject { ["type"] = "function_call", ["call_id"] = "c", ["name"] = "n", ["arguments"] = "{}" },
        14 => new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "u" }, new JsonObject { ["type"] = "function_call_output", ["call_id"] = "c", ["output"] = "o" }),
        15 => new JsonArray(new JsonObject { ["type"] = "summary_text", ["text"] = "s" }, new JsonObject { ["type"] = "summary_text", ["text"] = "t" }),
        16 => new JsonArray(new JsonObject { ["type"] = "message", ["content"] = new JsonArray(new JsonObject { ["type"] = "refusal", ["refusal"] = "r" }) }),
        17 => new JsonObject { ["input_tokens"] = 3, ["output_tokens"] = 4, ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = 1 } },
        18 => new JsonObject { ["effort"] = "low", ["summary"] = "auto" },
        19 => new JsonObject { ["type"] = "json_schema", ["schema"] = new JsonObject() },
        20 => new JsonObject { ["reason"] = "max_output_tokens", ["code"] = "c", ["message"] = "m" },
        21 => JsonValue.Create(random.Next(5) switch { 0 => "priority", 1 => "flex", 2 => "default", 3 => "auto", _ => "scale" }),
        _ => JsonValue.Create(long.MaxValue),
    };
}
