using Microsoft.Extensions.Compliance.Redaction;

namespace LlmObservability.Redaction;

/// <summary>
/// Adapts <see cref="PiiRedactor"/> to Microsoft.Extensions.Compliance's <see cref="Redactor"/>, so that free text
/// classified as sensitive (e.g. a logged prompt) has its personal data and secrets replaced rather than being erased
/// or hashed whole. Register it with <c>IRedactionBuilder.SetRedactor&lt;PiiComplianceRedactor&gt;(classifications)</c>.
/// </summary>
/// <remarks>
/// <see cref="Redact(string?)"/> scans once. The span-based contract asks for the redacted length before the redaction
/// itself, and for free text that length is only known after scanning, so <see cref="GetRedactedLength(ReadOnlySpan{char})"/>
/// and <see cref="Redact(ReadOnlySpan{char}, Span{char})"/> each scan. Prefer <see cref="PiiRedactor.Redact(string)"/>
/// directly where the compliance abstraction is not needed.
/// </remarks>
public sealed class PiiComplianceRedactor : Redactor
{
    private readonly PiiRedactor _redactor;

    /// <summary>Creates an adapter over a redactor with the default options (every built-in entity, placeholders).</summary>
    public PiiComplianceRedactor()
        : this(new PiiRedactor())
    {
    }

    /// <summary>Creates an adapter over <paramref name="redactor"/>.</summary>
    /// <param name="redactor">The redactor to use.</param>
    public PiiComplianceRedactor(PiiRedactor redactor)
    {
        ArgumentNullException.ThrowIfNull(redactor);
        _redactor = redactor;
    }

    /// <inheritdoc />
    public override string Redact(string? source) => string.IsNullOrEmpty(source) ? string.Empty : _redactor.Redact(source);

    /// <inheritdoc />
    public override int GetRedactedLength(ReadOnlySpan<char> input)
        => input.IsEmpty ? 0 : _redactor.Redact(input.ToString()).Length;

    /// <inheritdoc />
    public override int Redact(ReadOnlySpan<char> source, Span<char> destination)
    {
        if (source.IsEmpty) return 0;
        var redacted = _redactor.Redact(source.ToString());
        if (redacted.Length > destination.Length)
            throw new ArgumentException("The destination is shorter than GetRedactedLength reported.", nameof(destination));
        redacted.AsSpan().CopyTo(destination);
        return redacted.Length;
    }
}
