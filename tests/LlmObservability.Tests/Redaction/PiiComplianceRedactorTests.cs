using LlmObservability.Redaction;
using Microsoft.Extensions.Compliance.Redaction;

namespace LlmObservability.Tests.Redaction;

[TestFixture]
public sealed class PiiComplianceRedactorTests
{
    private const string Input = "mail jane@example.com from 10.0.0.1";
    private const string Expected = "mail [EMAIL] from [IP_ADDRESS]";

    [Test]
    public void Redacts_strings_through_the_compliance_contract()
    {
        Redactor redactor = new PiiComplianceRedactor();
        Assert.That(redactor.Redact(Input), Is.EqualTo(Expected));
        Assert.That(redactor.Redact((string?)null), Is.Empty);
    }

    [Test]
    public void Redacts_spans_into_a_buffer_of_the_reported_length()
    {
        Redactor redactor = new PiiComplianceRedactor(new PiiRedactor());
        var length = redactor.GetRedactedLength(Input.AsSpan());
        var buffer = new char[length];
        var written = redactor.Redact(Input.AsSpan(), buffer);
        Assert.That(new string(buffer, 0, written), Is.EqualTo(Expected));
        Assert.Throws<ArgumentException>(() => redactor.Redact(Input.AsSpan(), new char[3]));
    }

    [Test]
    public void Redacts_formattable_values()
    {
        Redactor redactor = new PiiComplianceRedactor();
        var value = new Uri("https://admin:Zq9vLm2Tx@db.example.com/");
        Assert.That(redactor.Redact(value, null, null), Is.EqualTo("https://admin:[PASSWORD]@db.example.com/"));
    }
}
