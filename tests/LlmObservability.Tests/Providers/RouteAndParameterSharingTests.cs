using System.Text.Json;
using LlmObservability.Providers;

namespace LlmObservability.Tests.Providers;

/// <summary>What the per-call parse shares between calls instead of making again: routes per URL, repeated parameter values and names.</summary>
public class RouteAndParameterSharingTests
{
    private static ProviderRoute? Detect(string url, IList<LlmProviderMapping>? mappings = null) =>
        ProviderDetector.Detect(new HttpRequestMessage(HttpMethod.Post, url), mappings);

    [Test]
    public void The_same_URL_gets_the_same_route_and_other_URLs_their_own()
    {
        var first = Detect("https://api.openai.com/v1/chat/completions");
        var again = Detect("https://api.openai.com/v1/chat/completions");
        var other = Detect("https://api.groq.com/openai/v1/chat/completions");
        var embeddings = Detect("https://api.openai.com/v1/embeddings");

        Assert.That(again, Is.SameAs(first));
        Assert.That(other!.Provider, Is.EqualTo("groq"));
        Assert.That(other.ApiBase, Is.EqualTo("https://api.groq.com/openai/v1"));
        Assert.That(embeddings!.Adapter.CallType, Is.EqualTo("embedding"));

        // Many URLs (more than the cache holds) keep their own routes, however they collide.
        for (var i = 0; i < 200; i++)
        {
            var route = Detect($"https://gateway{i}.example.com/v1/chat/completions")!;
            Assert.That(route.ApiBase, Is.EqualTo($"https://gateway{i}.example.com/v1"));
            Assert.That(Detect($"https://gateway{i}.example.com/v1/chat/completions")!.ApiBase, Is.EqualTo(route.ApiBase));
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    public void A_URL_whose_route_depends_on_the_headers_is_decided_again_for_every_call(bool headersFirst)
    {
        // A proxy's /v1/messages is Anthropic's only with Anthropic's headers; a memo of the first answer would give
        // every later call to that URL the same answer, whatever its headers.
        const string url = "https://llm-proxy.example.com/v1/messages";
        ProviderRoute? Call(bool withHeaders)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url);
            if (withHeaders) request.Headers.Add("anthropic-version", "2023-06-01");
            return ProviderDetector.Detect(request);
        }

        for (var i = 0; i < 3; i++)
        {
            var withHeaders = headersFirst ? Call(true) : null;
            Assert.That(Call(false), Is.Null, "a chat or SMS API's /messages is not an LLM call");
            withHeaders ??= Call(true);
            Assert.That(withHeaders!.Provider, Is.EqualTo("anthropic"));
        }
    }

    [Test]
    public void A_URL_mapped_to_another_format_is_not_confused_with_the_same_URL_unmapped()
    {
        const string url = "https://llm.internal.example/v1/chat/completions";
        var plain = Detect(url);
        var mapped = Detect(url, [new LlmProviderMapping { Host = "llm.internal.example", Format = "openai", Provider = "internal" }]);

        Assert.That(plain!.Provider, Is.EqualTo("openai_compatible"));
        Assert.That(mapped!.Provider, Is.EqualTo("internal"));
        Assert.That(Detect(url)!.Provider, Is.EqualTo("openai_compatible"));
    }

    [Test]
    public void A_URL_with_a_query_is_routed_afresh_every_time_and_its_key_stays_masked()
    {
        const string url = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaSyDUMMYKEY0123456789";
        var first = Detect(url);
        var again = Detect(url);

        Assert.That(again, Is.Not.SameAs(first), "a URL with a query (a key, maybe) is not kept");
        Assert.That(again!.ApiBase, Is.EqualTo(first!.ApiBase));
        Assert.That(first.ApiBase, Does.Not.Contain("AIzaSyDUMMYKEY0123456789"));
    }

    [Test]
    public void Names_are_read_as_they_are_and_the_same_name_is_one_string()
    {
        var longModel = new string('m', 80);
        using var first = JsonDocument.Parse($$"""{"role":"assistant","model":"gpt-4o-mini","tier":"fl\u0065x","long":"{{longModel}}","empty":"","n":1}""");
        using var second = JsonDocument.Parse("""{"role":"assistant","model":"gpt-4o"}""");
        var root = first.RootElement;

        Assert.Multiple(() =>
        {
            Assert.That(Json.Name(root, "role"), Is.EqualTo("assistant"));
            Assert.That(Json.Name(second.RootElement, "role"), Is.SameAs(Json.Name(root, "role")));
            Assert.That(Json.Name("assistant".AsSpan()), Is.SameAs(Json.Name(root, "role")));
            Assert.That(Json.Name(second.RootElement, "model"), Is.EqualTo("gpt-4o"));
            Assert.That(Json.Name(root, "model"), Is.EqualTo("gpt-4o-mini"));
            Assert.That(Json.Name(root, "tier"), Is.EqualTo("flex"));
            Assert.That(Json.Name(root, "long"), Is.EqualTo(longModel));
            Assert.That(Json.Name(root, "empty"), Is.EqualTo(""));
            Assert.That(Json.Name(root, "n"), Is.Null);
            Assert.That(Json.Name(root, "missing"), Is.Null);
        });
    }

    [Test]
    public void Kept_parameter_values_outlive_their_document_and_read_the_same()
    {
        JsonElement temperature, again, user, budget;
        using (var document = JsonDocument.Parse("""{"temperature":0.2,"user":"jane@example.com","budget":1024,"flag":true}"""))
        {
            temperature = Json.Keep(document.RootElement.GetProperty("temperature"));
            user = Json.Keep(document.RootElement.GetProperty("user"));
            budget = Json.Keep(document.RootElement.GetProperty("budget"));
        }
        using (var document = JsonDocument.Parse("""{"temperature":0.2}"""))
        {
            again = Json.Keep(document.RootElement.GetProperty("temperature"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(temperature.GetDouble(), Is.EqualTo(0.2));
            Assert.That(again.GetRawText(), Is.EqualTo("0.2"));
            Assert.That(user.GetString(), Is.EqualTo("jane@example.com"));
            Assert.That(budget.GetInt32(), Is.EqualTo(1024));
            Assert.That(JsonSerializer.Serialize(new Dictionary<string, JsonElement> { ["t"] = again, ["u"] = user }),
                Is.EqualTo("""{"t":0.2,"u":"jane@example.com"}"""));
        });
    }
}
