namespace LlmObservability.Redaction;

/// <summary>What <see cref="PiiRedactor"/> writes in place of a detected entity.</summary>
public enum PiiRedactionAction
{
    /// <summary>A typed placeholder: <c>[EMAIL]</c>. The default.</summary>
    Placeholder,

    /// <summary>
    /// A keyed pseudonym: <c>[EMAIL:3f9a1c2b]</c>, the first hex digits of HMAC-SHA256 over the UTF-8 value with
    /// <see cref="PiiRedactorOptions.PseudonymKey"/>. The same value gives the same pseudonym across calls and processes
    /// that share the key, so records can be correlated without revealing the value.
    /// </summary>
    Pseudonym,

    /// <summary>
    /// Keep the last four characters: <c>[CREDIT_CARD:…4242]</c>. Values shorter than eight characters get the
    /// plain placeholder, so that no more than half of a value is ever shown.
    /// </summary>
    Partial,

    /// <summary>Remove the value: it is replaced by the empty string.</summary>
    Remove,
}
