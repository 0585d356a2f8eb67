using LlmObservability.Payload;
using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>Redaction of a payload's content copies only what a replacement changed, and keeps everything else as it is.</summary>
[TestFixture]
public sealed class PayloadRedactionCopyTests
{
    private static readonly PayloadRedaction Redaction = new(new LlmRedactionOptions());

    [Test]
    public void Clean_content_keeps_its_instances_and_reports_no_entities()
    {
        var messages = new List<LlmMessage> { new() { Role = "user", Content = "What is the capital of France?" } };
        var response = new LlmResponseOutput { Text = "Paris." };
        var content = new PayloadContent(messages, response, null, null, null, null);

        var entities = Redaction.Apply(ref content);

        Assert.Multiple(() =>
        {
            Assert.That(content.Messages, Is.SameAs(messages));
            Assert.That(content.Response, Is.SameAs(response));
            Assert.That(entities, Is.Empty);
        });
    }

    [Test]
    public void Only_the_message_with_a_match_is_copied_and_the_others_keep_their_places()
    {
        var first = new LlmMessage { Role = "system", Content = "Be brief." };
        var second = new LlmMessage { Role = "user", Content = "Mail me at jane.doe@example.com" };
        var third = new LlmMessage { Role = "assistant", Content = "Sure." };
        var content = new PayloadContent([first, second, third], null, null, null, null, null);

        var entities = Redaction.Apply(ref content);

        Assert.Multiple(() =>
        {
            Assert.That(content.Messages, Has.Count.EqualTo(3));
            Assert.That(content.Messages![0], Is.SameAs(first));
            Assert.That(content.Messages[1].Content, Is.EqualTo("Mail me at [EMAIL]"));
            Assert.That(content.Messages[1].Role, Is.EqualTo("user"));
            Assert.That(content.Messages[2], Is.SameAs(third));
            Assert.That(second.Content, Is.EqualTo("Mail me at jane.doe@example.com"), "the original is not changed");
            Assert.That(entities, Is.EqualTo(new Dictionary<string, int> { ["EMAIL"] = 1 }));
        });
    }
}
