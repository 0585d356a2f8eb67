using System.ClientModel;
using LlmObservability.Payload;
using OpenAI;
using OpenAI.Embeddings;

namespace LlmObservability.IntegrationTests;

/// <summary>The real OpenAI SDK's embedding client, through the handler, against the emulator.</summary>
public class OpenAiEmbeddingsSdkTests : EmulatorFixture
{
    private EmbeddingClient Client() => new("text-embedding-3-small", new ApiKeyCredential("sk-test-1234567890abcdef"), SdkOptions(new OpenAIClientOptions()));

    [Test]
    public async Task Embeddings_are_recorded_with_the_usage_the_SDK_returned_and_without_vectors()
    {
        var raw = await Client().GenerateEmbeddingsAsync(["The food was delicious.", "Le repas était délicieux."], new EmbeddingGenerationOptions { Dimensions = 16 });
        OpenAIEmbeddingCollection result = raw;
        var payload = await SinglePayloadAsync();

        Assert.That(result, Has.Count.EqualTo(2));
        Assert.That(result[0].ToFloats().Length, Is.EqualTo(16), "the SDK got its vectors");
        Assert.Multiple(() =>
        {
            Assert.That(payload.CallType, Is.EqualTo("embedding"));
            Assert.That(payload.RequestedModel, Is.EqualTo("text-embedding-3-small"));
            Assert.That(payload.ResponseModel, Is.EqualTo(result.Model));
            Assert.That(payload.PromptTokens, Is.EqualTo(result.Usage.InputTokenCount));
            Assert.That(payload.TotalTokens, Is.EqualTo(result.Usage.TotalTokenCount));
            Assert.That(payload.ModelParameters!["dimensions"].GetInt32(), Is.EqualTo(16));
            Assert.That(payload.ModelParameters["input_count"].GetInt32(), Is.EqualTo(2));
            Assert.That(payload.Messages!.Select(m => m.Content), Is.EqualTo(new[] { "The food was delicious.", "Le repas était délicieux." }));
            Assert.That(payload.Response!.Text, Is.EqualTo("[2 embeddings]"));
            Assert.That(payload.Status, Is.EqualTo(LlmCallStatus.Success));
        });
        var json = LlmPayloadJson.Serialize(payload);
        using var wire = System.Text.Json.JsonDocument.Parse(raw.GetRawResponse().Content);
        var vectors = wire.RootElement.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("embedding").GetString()!).ToList();
        Assert.That(payload.ModelParameters!["encoding_format"].GetString(), Is.EqualTo("base64"), "the SDK asks for base64 vectors");
        Assert.That(vectors, Has.Count.EqualTo(2).And.All.Length.GreaterThan(40));
        foreach (var vector in vectors) Assert.That(json, Does.Not.Contain(vector[..16]), "no vector text in the payload");
    }

    [Test]
    public async Task A_batch_larger_than_the_capture_cap_still_records_its_usage()
    {
        var inputs = Enumerable.Range(0, 400).Select(i => $"document {i}").ToArray();
        OpenAIEmbeddingCollection result = await Client().GenerateEmbeddingsAsync(inputs, new EmbeddingGenerationOptions { Dimensions = 1536 });
        var payload = await SinglePayloadAsync();

        Assert.That(result, Has.Count.EqualTo(400));
        Assert.That(payload.PromptTokens, Is.EqualTo(result.Usage.InputTokenCount).And.EqualTo(2000));
        Assert.That(payload.Response!.Text, Is.EqualTo("[400 embeddings]"));
        Assert.That(payload.Error, Is.Null);
    }
}
