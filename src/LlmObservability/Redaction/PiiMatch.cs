namespace LlmObservability.Redaction;

/// <summary>One detected entity: its name and where it sits in the scanned text.</summary>
/// <param name="Entity">The entity name, one of <see cref="PiiEntities"/> or a custom entity's name.</param>
/// <param name="Start">Offset of the first character, in UTF-16 code units.</param>
/// <param name="Length">Length in UTF-16 code units.</param>
public readonly record struct PiiMatch(string Entity, int Start, int Length)
{
    /// <summary>Offset just past the last character (<see cref="Start"/> + <see cref="Length"/>).</summary>
    public int End => Start + Length;
}
