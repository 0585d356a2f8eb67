using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LlmObservability.Providers;

namespace LlmObservability.ReliabilityTests;

/// <summary>
/// The fast whole-body reader for Anthropic Messages (<see cref="AnthropicBodyReader"/>) against the
/// <see cref="JsonDocument"/> path it short-cuts (<see cref="AnthropicMessagesAdapter.ParseRequest"/> and
/// <see cref="AnthropicMessagesAdapter.ParseResponse"/>): every request and response of the Anthropic fixtures, bodies
/// shaped as the SDKs write them, hand-written edge cases and fuzzed variants of all of them go through
/// <see cref="WholeBodyDifferential"/>. Fixed seeds.
/// </summary>
public class AnthropicBodyReaderTests
{
    private const int Seed = 20261126;
    private const int MutationsPerBody = 200;
    private static readonly string FixtureRoot = Path.Combine(AppContext.BaseDirectory, "Fixtures", "anthropic");
    private static readonly ProviderRoute Route = new(AnthropicMessagesAdapter.Instance, "anthropic", "https://api.anthropic.com", "/v1/messages");

    private static readonly JsonMutator Mutator = new(
        ["model", "stream", "system", "messages", "role", "content", "type", "text", "title", "id", "name", "input", "tool_use_id", "is_error",
         "thinking", "signature", "data", "source", "cache_control", "citations", "tools", "mcp_servers", "metadata", "user_id", "budget_tokens",
         "output_config", "format", "effort", "output_format", "temperature", "max_tokens", "stop_sequences", "tool_choice", "tools_count",
         "stop_reason", "stop_sequence", "usage", "input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
         "cache_creation", "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens", "output_tokens_details", "thinking_tokens", "service_tier", "speed"],
        RandomValue);

    private static readonly WholeBodyDifferential Differential = new(Route, Mutator, MutationsPerBody);

    private static readonly string[] RequestEdgeCases =
    [
        """{"model":"m","model":"n","messages":[]}""",
        """{"model":5,"stream":"yes","system":7,"messages":{"role":"user"}}""",
        """{"model":null,"stream":null,"system":null,"messages":null,"temperature":null,"top_k":7}""",
        """{"system":"","stream":true}""",
        """{"system":[]}""",
        """{"system":["plain",{"type":"text","text":"t","cache_control":{"type":"ephemeral"}},{"type":"text"},{"type":"image"},5,null,[1],{"text":"no type"},{"type":7}]}""",
        """{"system":"s","system":"t"}""",
        """{"messages":[{"role":"user","content":"caf\u00e9 \ud83d\ude00 \n\t\"q\" \/"}]}""",
        """{"messages":[{"role":"user","content":"\ud800 lone"}]}""",
        """{"messages":[{"role":"user","content":[{"type":"text","text":"\udc00 lone"}]}]}""",
        """{"messages":[{"role":"user","content":"a text well over the forty characters of the cap in this test"}]}""",
        """{"messages":[{"role":"user","content":"exactly forty characters, not one more!"}]}""",
        """{"messages":[{"role":"user","content":[{"type":"text","text":"a block well over the forty characters of the cap"},{"type":"text","text":"and a second"}]}]}""",
        """{"messages":[{"content":[{"type":"text","text":"content before role"},{"type":"tool_use","id":"t","name":"f","input":{}}],"role":"assistant"}]}""",
        """{"messages":[{"content":"string before role","role":"user"}]}""",
        """{"messages":[{"role":"user"},{"content":"no role"},{},{"role":7,"content":{"type":"text"}},{"role":"user","content":5}]}""",
        """{"messages":["not an object",5,null,[],{"role":"user","content":"after them"}]}""",
        """{"messages":[{"role":"user","content":"x","content":"y"}]}""",
        """{"messages":[{"role":"user","role":"assistant","content":"x"}]}""",
        """{"messages":[{"r\u006fle":"user","content":"escaped name"}]}""",
        """{"messages":[{"role":"user","content":[]}]}""",
        """{"messages":[{"role":"user","content":["a","",{"type":"text","text":""},{"type":"text","text":"b"},5,null,[1],{}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo"}},{"type":"document","title":"Plan"},{"type":"document","title":""},{"type":"document"},{"type":"document","title":5},{"type":"search_result","content":[{"type":"text","text":"s"}]}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"text","text":"t","type":"image"}]}]}""",
        """{"messages":[{"role":"user","content":[{"typ\u0065":"text","text":"t"}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"t\u0065xt","text":"escaped type"}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"text","text":5}]}]}""",
        """{"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"redacted_thinking","data":"xyz"},{"type":"text","text":"answer"}]}]}""",
        """{"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":{"k":[1,2,{"x":"\u00e9"}]}},{"type":"tool_use","id":"b","name":"g","input":"text input"},{"type":"tool_use","id":"c","name":"h","input":null},{"type":"tool_use","name":"i"},{"type":"tool_use","id":5,"name":["n"],"input":  { "spaced" : true } }]}]}""",
        """{"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{"query":"q"}},{"type":"mcp_tool_use","id":"m","name":"x","server_name":"srv","input":{}},{"type":"web_search_tool_result","tool_use_id":"s","content":[{"type":"web_search_result","title":"T","url":"u"}]}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"15 degrees"},{"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"one"},{"type":"image"},"two",{"type":"tool_result","content":"nested"}],"is_error":true},{"type":"tool_result","tool_use_id":"c"},{"type":"tool_result","content":{"type":"text"}},{"type":"tool_result","tool_use_id":7,"content":null}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"text","text":"before"},{"type":"tool_result","tool_use_id":"a","content":"r"},{"type":"text","text":"after"},{"type":"tool_use","id":"u","name":"f","input":{}},{"type":"tool_result","tool_use_id":"b","content":"s"}]}]}""",
        """{"messages":[{"role":"user","content":[{"content":"content before type","type":"tool_result","tool_use_id":"a"},{"content":[{"type":"text","text":"array before type"}],"tool_use_id":"b","type":"tool_result"}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"\ud800"}]}]}""",
        """{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":"a tool result well over the forty characters of the cap"}]}]}""",
        """{"tools":[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"},{"name":"e","input_schema":{"type":"object","properties":{"x":{"type":"array","items":[1,[2],{"3":[]}]}}}},"f",7,null,[]],"mcp_servers":[{},{},{},{},{},{}]}""",
        """{"tools":[{"name":"a","input_schema":{}},{"name":"b"}],"mcp_servers":[{"type":"url","url":"https://mcp","authorization_token":"secret"}],"tool_choice":{"type":"auto"}}""",
        """{"tools":{"a":1},"mcp_servers":"none","tools_count":9,"tools":[]}""",
        """{"metadata":{"user_id":"u-42","other":1},"thinking":{"type":"enabled","budget_tokens":2048}}""",
        """{"metadata":{"user_id":null},"thinking":{"budget_tokens":"2048"}}""",
        """{"metadata":{"user_id":{"nested":[1]}},"thinking":{"budget_tokens":1024.5,"type":"enabled"}}""",
        """{"metadata":{"user_id":5,"user_id":6}}""",
        """{"metadata":{"user_id":"caf\u00e9"}}""",
        """{"metadata":{"user_id":"\ud800"},"top_k":"\ud800"}""",
        """{"metadata":{"user_id":{"a":"\udc00"}}}""",
        """{"metadata":"not an object","thinking":"adaptive","output_config":[1]}""",
        """{"thinking":{"type":"enabled","type":"disabled"}}""",
        """{"thinking":{"type":"\ud800"}}""",
        """{"output_config":{"effort":"high","format":{"type":"json_schema","schema":{"type":"object"}},"extra":null,"nested":{"a":"\ud800"}}}""",
        """{"output_config":{"format":"json","effort":"low","effort":"high"}}""",
        """{"output_config":{"format":{"type":"json_schema"},"format":null}}""",
        """{"output_format":{"type":"json_schema","schema":{}}}""",
        """{"output_format":{"schema":{}},"output_config":{"format":{"type":7}}}""",
        """{"output_format":"json","temperature":0.2,"temperature":0.5,"top_p":null,"top_p":1.0}""",
        """{"temperature":1e-7,"top_k":12345678901234567890123,"stop_sequences":["\n\nHuman:","END"],"service_tier":"auto","container":"c\u00e9"}""",
        """{"te\u006dperature":0.2}""",
        """{"messages":[]} trailing""",
        """[{"messages":[]}]""",
        """{"messages":[],}""",
        """  {"model" : "claude-sonnet-4-5" , "messages" : [ { "role" : "user" , "content" : [ { "type" : "text" , "text" : "spaces" } ] } ] }  """,
    ];

    private static readonly string[] ResponseEdgeCases =
    [
        """{"id":"","model":"","stop_reason":"","content":[]}""",
        """{"id":null,"model":null,"stop_reason":null,"content":null,"usage":null}""",
        """{"id":5,"model":[1],"stop_reason":{},"content":{"type":"text","text":"not an array"},"usage":"none"}""",
        """{"content":["a string",5,null,[1],{},{"type":"text","text":"after them"},{"type":"tool_use","id":"t","name":"f","input":{}}]}""",
        """{"content":[{"type":"text"},{"type":"text","text":5},{"type":"text","text":""}]}""",
        """{"content":[{"type":"text","text":"one"},{"type":"text","text":"two"},{"type":"text","text":"a third text that takes the output well over the cap"}]}""",
        """{"content":[{"type":"thinking","thinking":""},{"type":"thinking","thinking":"first"},{"type":"redacted_thinking","data":"x"},{"type":"thinking","thinking":"second"},{"type":"thinking"}]}""",
        """{"content":[{"type":"tool_use","id":"a","name":"f","input":{"k":"v","n":[1,{"m":null}]}},{"type":"tool_use","id":"b","name":"g","input":"text"},{"type":"tool_use","id":"c","input":null},{"type":"tool_use"}]}""",
        """{"content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{"query":"q"}},{"type":"web_search_tool_result","tool_use_id":"s","content":[{"type":"web_search_result","url":"u","title":"t","encrypted_content":"e"}]},{"type":"mcp_tool_use","id":"m","name":"n","server_name":"srv","input":{}},{"type":"mcp_tool_result","tool_use_id":"m","content":[{"type":"text","text":"r"}]},{"type":"tool_result","content":"unexpected here"}]}""",
        """{"content":[{"type":"text","text":"x","citations":[{"type":"char_location","cited_text":"c"}]}]}""",
        """{"content":[{"type":"text","text":"\ud800"}]}""",
        """{"content":[{"type":"tool_use","id":"a","name":"\udfff","input":{}}]}""",
        """{"content":[{"type":"tool_use","id":"a","name":"f","input":{"bad":"\ud800"}}]}""",
        """{"content":[{"type":"text","text":"x","text":"y"}]}""",
        """{"content":[{"type":"text","t\u0065xt":"escaped name"}]}""",
        """{"content":[{"type":"t\u0065xt","text":"escaped type"}]}""",
        """{"stop_reason":"end_turn","stop_reason":"max_tokens"}""",
        """{"usage":{"input_tokens":12,"output_tokens":48,"cache_read_input_tokens":2048,"cache_creation_input_tokens":1500,"cache_creation":{"ephemeral_5m_input_tokens":300,"ephemeral_1h_input_tokens":1200}}}""",
        """{"usage":{"input_tokens":12,"cache_creation":{"ephemeral_5m_input_tokens":300,"ephemeral_1h_input_tokens":1200}}}""",
        """{"usage":{"input_tokens":12,"cache_creation":{"ephemeral_5m_input_tokens":300}}}""",
        """{"usage":{"input_tokens":12,"cache_creation":{},"output_tokens_details":{}}}""",
        """{"usage":{"output_tokens":300,"output_tokens_details":{"thinking_tokens":270}}}""",
        """{"usage":{"output_tokens":300,"output_tokens_details":{"thinking_tokens":null}}}""",
        """{"usage":{"input_tokens":"12"}}""",
        """{"usage":{"input_tokens":12.0}}""",
        """{"usage":{"input_tokens":1e3}}""",
        """{"usage":{"input_tokens":-4,"output_tokens":0}}""",
        """{"usage":{"input_tokens":12,"input_tokens":13}}""",
        """{"usage":{"input_tokens":true,"output_tokens":[1],"cache_read_input_tokens":{},"cache_creation":"x","output_tokens_details":5}}""",
        """{"usage":{"input_tokens":9223372036854775808}}""",
        """{"usage":{"input_tokens":1,"server_tool_use":{"web_search_requests":2},"service_tier":"standard"}}""",
        """{"usage":{}}""",
        """{"model":"claude-opus-4-8","usage":{"input_tokens":10,"output_tokens":5,"service_tier":"standard","speed":"fast"}}""",
        """{"model":"claude-opus-4-8","usage":{"input_tokens":10,"output_tokens":5,"service_tier":"batch","speed":"standard"}}""",
        """{"usage":{"service_tier":"priority","service_tier":"batch"}}""",
        """{"usage":{"speed":"fast","speed":"standard"}}""",
        """{"usage":{"service_tier":5,"speed":null}}""",
        """{"usage":{"service_tier":"\ud800","speed":"f\u0061st"}}""",
        """{"usage":{"speed":"fast"},"usage":{"speed":"standard"}}""",
        """{"c\u006fntent":[]}""",
        """{"content":[{"type":"text","text":"a"}],}""",
        """{"content":[{"type":"text","text":"a"}]} x""",
        """[{"content":[]}]""",
        """ "just a string" """,
        """  { "id" : "msg_1" , "content" : [ { "type" : "text" , "text" : "spaces" } ] , "usage" : { "input_tokens" : 1 } }  """,
    ];

    // Not valid UTF-8 inside a string value.
    private static readonly byte[] InvalidUtf8Request = [.. "{\"messages\":[{\"role\":\"user\",\"content\":\"bad "u8, 0xFF, .. " utf8\"}]}"u8];
    private static readonly byte[] InvalidUtf8Response = [.. "{\"content\":[{\"type\":\"text\",\"text\":\"bad "u8, 0xFF, .. " utf8\"}]}"u8];

    [Test]
    public void The_fast_request_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var response = File.ReadAllBytes(Path.Combine(FixtureRoot, "messages-response.json"));
        var bodies = FixtureBodies("messages-request*.json").Append(GeneratedRequest).Append(GeneratedFastModeRequest).Concat(RequestEdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8Request).ToList();
        Assert.That(bodies, Has.Count.GreaterThan(RequestEdgeCases.Length + 2), "fixture requests were found");
        Differential.Check("anthropic-body-reader-request", bodies, body => (body, response), AnthropicBodyReader.TryReadRequest, Seed);
    }

    [Test]
    public void The_fast_response_reader_builds_exactly_the_payload_the_document_path_builds()
    {
        var request = File.ReadAllBytes(Path.Combine(FixtureRoot, "messages-request.json"));
        var bodies = FixtureBodies("messages-response*.json").Append(GeneratedResponse).Append(GeneratedFastModeResponse).Concat(ResponseEdgeCases.Select(Encoding.UTF8.GetBytes)).Append(InvalidUtf8Response).ToList();
        Assert.That(bodies, Has.Count.GreaterThan(ResponseEdgeCases.Length + 2), "fixture responses were found");
        Differential.Check("anthropic-body-reader-response", bodies, body => (request, body), AnthropicBodyReader.TryReadResponse, Seed + 1);
    }

    /// <summary>The common shapes are taken, not declined: a plain chat, a system prompt, tool use and its result, a whole answer.</summary>
    [Test]
    public void The_common_shapes_are_taken()
    {
        Differential.AssertTakesAll(FixtureBodies("messages-request*.json").Append(GeneratedRequest).Append(GeneratedFastModeRequest), AnthropicBodyReader.TryReadRequest);
        Differential.AssertTakesAll(FixtureBodies("messages-response*.json").Append(GeneratedResponse).Append(GeneratedFastModeResponse), AnthropicBodyReader.TryReadResponse);
    }

    private static IEnumerable<byte[]> FixtureBodies(string pattern) =>
        Directory.GetFiles(FixtureRoot, pattern).Order(StringComparer.Ordinal).Select(File.ReadAllBytes);

    private static readonly string LongText =
        string.Join(" ", Enumerable.Range(0, 40).Select(i => $"Line {i}: café ☕ costs {i * 3}€ <b>\"bold\"</b> & more.\n"));

    /// <summary>A request as the SDKs write it: no whitespace, every non-ASCII character and newline escaped, a tool round trip.</summary>
    private static readonly byte[] GeneratedRequest = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["model"] = "claude-sonnet-4-5",
        ["max_tokens"] = 1024,
        ["system"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "You are helpful.\nBe brief.", ["cache_control"] = new JsonObject { ["type"] = "ephemeral" } }),
        ["messages"] = new JsonArray(
            new JsonObject { ["role"] = "user", ["content"] = LongText },
            new JsonObject
            {
                ["role"] = "assistant",
                ["content"] = new JsonArray(
                    new JsonObject { ["type"] = "text", ["text"] = "Let me look." },
                    new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_1", ["name"] = "lookup", ["input"] = new JsonObject { ["q"] = "café" } }),
            },
            new JsonObject
            {
                ["role"] = "user",
                ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "toolu_1", ["content"] = "found \"it\"" }),
            }),
        ["tools"] = new JsonArray(new JsonObject { ["name"] = "lookup", ["input_schema"] = new JsonObject { ["type"] = "object" } }),
        ["temperature"] = 0.2,
        ["stream"] = false,
    });

    private static readonly byte[] GeneratedResponse = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["id"] = "msg_01",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = "claude-sonnet-4-5-20250929",
        ["content"] = new JsonArray(
            new JsonObject { ["type"] = "text", ["text"] = LongText },
            new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_2", ["name"] = "lookup", ["input"] = new JsonObject { ["q"] = "\"more\"\n" } }),
        ["stop_reason"] = "tool_use",
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = 500, ["cache_creation_input_tokens"] = 0, ["cache_read_input_tokens"] = 0, ["output_tokens"] = 450 },
    });

    /// <summary>A fast-mode request as the docs show it: <c>speed</c> beside the service tier the caller allows.</summary>
    private static readonly byte[] GeneratedFastModeRequest = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["model"] = "claude-opus-4-8",
        ["max_tokens"] = 4096,
        ["speed"] = "fast",
        ["service_tier"] = "auto",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Refactor this module to use dependency injection" }),
    });

    /// <summary>A message served in fast mode: its usage names the service tier and the speed (priced as tier fast).</summary>
    private static readonly byte[] GeneratedFastModeResponse = JsonSerializer.SerializeToUtf8Bytes(new JsonObject
    {
        ["id"] = "msg_02",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = "claude-opus-4-8",
        ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = LongText }),
        ["stop_reason"] = "end_turn",
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject
        {
            ["input_tokens"] = 1000,
            ["cache_creation_input_tokens"] = 0,
            ["cache_read_input_tokens"] = 0,
            ["output_tokens"] = 200,
            ["service_tier"] = "standard",
            ["speed"] = "fast",
        },
    });

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
        9 => JsonValue.Create(random.Next(6) switch { 0 => "text", 1 => "tool_use", 2 => "tool_result", 3 => "thinking", 4 => "document", _ => "server_tool_use" }),
        10 => new JsonObject { ["type"] = "text", ["text"] = "t" },
        11 => new JsonArray(JsonValue.Create("part"), new JsonObject { ["type"] = "text", ["text"] = "t" }, new JsonObject { ["type"] = "image", ["source"] = new JsonObject { ["type"] = "base64", ["data"] = "AAAA" } }),
        12 => new JsonObject { ["type"] = "tool_use", ["id"] = "x", ["name"] = "n", ["input"] = new JsonObject { ["a"] = 1 } },
        13 => new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "x", ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "r" }) }, new JsonObject { ["type"] = "text", ["text"] = "t" }),
        14 => new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "u" }, new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(new JsonObject { ["type"] = "thinking", ["thinking"] = "h" }) }),
        15 => new JsonObject { ["input_tokens"] = 3, ["output_tokens"] = 4, ["cache_creation"] = new JsonObject { ["ephemeral_1h_input_tokens"] = 1 } },
        16 => new JsonObject { ["type"] = "enabled", ["budget_tokens"] = 1024 },
        17 => new JsonObject { ["type"] = "json_schema", ["schema"] = new JsonObject() },
        18 => new JsonObject { ["user_id"] = "u-1" },
        19 => JsonValue.Create(random.Next(5) switch { 0 => "fast", 1 => "standard", 2 => "priority", 3 => "batch", _ => "auto" }),
        _ => JsonValue.Create(long.MaxValue),
    };
}
