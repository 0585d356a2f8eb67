using System.Text.Json;
using LlmObservability.Telemetry;

namespace LlmObservability.Tests.Telemetry;

/// <summary>Model parameters, under each provider's own names, to the GenAI conventions' request attributes.</summary>
public class GenAiRequestAttributesTests
{
    private static Dictionary<string, object> Read(string parametersJson)
    {
        using var document = JsonDocument.Parse(parametersJson);
        var parameters = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        var read = new Dictionary<string, object>();
        GenAiRequestAttributes.Read(parameters, read, static (read, name, value) => read.Add(name, value));
        return read;
    }

    [TestCase("""{"temperature":0.2,"top_p":0.9,"max_tokens":256,"frequency_penalty":0.5,"presence_penalty":-0.5,"seed":7,"n":2,"stop":["END","STOP"]}""", TestName = "OpenAI chat")]
    [TestCase("""{"temperature":0.2,"top_p":0.9,"max_completion_tokens":256,"frequency_penalty":0.5,"presence_penalty":-0.5,"seed":7,"n":2,"stop":["END","STOP"]}""", TestName = "OpenAI chat, max_completion_tokens")]
    [TestCase("""{"temperature":0.2,"topP":0.9,"maxOutputTokens":256,"frequencyPenalty":0.5,"presencePenalty":-0.5,"seed":7,"candidateCount":2,"stopSequences":["END","STOP"]}""", TestName = "Gemini generationConfig")]
    [TestCase("""{"temperature":0.2,"top_p":0.9,"max_output_tokens":256,"frequency_penalty":0.5,"presence_penalty":-0.5,"seed":7,"candidate_count":2,"stop_sequences":["END","STOP"]}""", TestName = "Gemini generation_config in snake_case, as the API also takes it")]
    public void Each_providers_names_give_the_same_attributes(string parameters)
    {
        Assert.That(Read(parameters), Is.EquivalentTo(new Dictionary<string, object>
        {
            ["gen_ai.request.temperature"] = 0.2,
            ["gen_ai.request.top_p"] = 0.9,
            ["gen_ai.request.max_tokens"] = 256L,
            ["gen_ai.request.frequency_penalty"] = 0.5,
            ["gen_ai.request.presence_penalty"] = -0.5,
            ["gen_ai.request.seed"] = 7L,
            ["gen_ai.request.choice.count"] = 2L,
            ["gen_ai.request.stop_sequences"] = new[] { "END", "STOP" },
        }));
    }

    [TestCase("""{"max_tokens":1024,"top_k":40,"stop_sequences":["END"]}""", TestName = "Anthropic's names")]
    [TestCase("""{"max_output_tokens":1024,"top_k":40,"stop_sequences":["END"]}""", TestName = "max_output_tokens (OpenAI Responses)")]
    [TestCase("""{"maxTokens":1024,"topK":40,"stopSequences":["END"]}""", TestName = "camelCase names (Bedrock's maxTokens, Gemini's topK and stopSequences)")]
    [TestCase("""{"num_predict":1024,"top_k":40,"stop":"END"}""", TestName = "Ollama's names, one stop string")]
    public void Token_limits_top_k_and_stop_sequences_under_every_name(string parameters)
    {
        var read = Read(parameters);
        Assert.That(read["gen_ai.request.max_tokens"], Is.EqualTo(1024L));
        Assert.That(read["gen_ai.request.top_k"], Is.EqualTo(40.0), "top_k is a double in the conventions");
        Assert.That(read["gen_ai.request.stop_sequences"], Is.EqualTo(new[] { "END" }));
    }

    [Test]
    public void The_first_name_with_a_usable_value_wins()
    {
        Assert.That(Read("""{"max_tokens":100,"max_completion_tokens":200}""")["gen_ai.request.max_tokens"], Is.EqualTo(100L));
        Assert.That(Read("""{"max_tokens":"lots","max_completion_tokens":200}""")["gen_ai.request.max_tokens"], Is.EqualTo(200L));
    }

    [TestCase("""{"n":1}""", TestName = "one choice is the default")]
    [TestCase("""{"candidateCount":0}""", TestName = "zero candidates")]
    [TestCase("""{"num_predict":-1}""", TestName = "Ollama's -1, no limit")]
    [TestCase("""{"temperature":"hot","top_p":null,"seed":1.5,"max_tokens":256.5}""", TestName = "values of the wrong type")]
    [TestCase("""{"stop":[]}""", TestName = "no stop sequences")]
    [TestCase("""{"stop":["END",1]}""", TestName = "a stop list that is not all strings")]
    [TestCase("""{"stop":{"a":"b"}}""", TestName = "a stop object")]
    [TestCase("""{}""", TestName = "no parameters")]
    public void Values_that_are_not_an_attribute_are_left_out(string parameters) =>
        Assert.That(Read(parameters), Is.Empty);

    [Test]
    public void Integers_for_sampling_settings_are_doubles_and_no_parameters_at_all_is_nothing()
    {
        Assert.That(Read("""{"temperature":1}""")["gen_ai.request.temperature"], Is.EqualTo(1.0).And.TypeOf<double>());
        var none = 0;
        GenAiRequestAttributes.Read<object?>(null, null, (_, _, _) => none++);
        Assert.That(none, Is.Zero);
    }
}
