using LlmObservability.Payload;

namespace LlmObservability.Dispatch;

/// <summary>
/// What the handler hands the dispatcher: the raw facts of a call, turned into a payload later, off the caller's path.
/// </summary>
internal abstract class PendingRecord
{
    /// <summary>The record below this one on the intake stack, then the next one to build (<see cref="IntakeStack"/>).</summary>
    internal PendingRecord? Next;

    /// <summary>Builds the payload (parsing, cost, redaction) with the dispatcher's builder. Null means nothing is to be logged.</summary>
    public abstract StandardLoggingPayload? Build(PayloadBuilder builder);

    /// <summary>After a successful build: record metrics and finish the call's span, from the finished (redacted) payload.</summary>
    public virtual void OnBuilt(StandardLoggingPayload payload, Telemetry.LlmMetrics metrics, bool captureContent)
    {
    }

    /// <summary>Lets go of buffers and ends anything left open; called once, whether or not <see cref="Build"/> ran.</summary>
    public virtual void Release()
    {
    }
}

/// <summary>A payload built elsewhere, passed through as it is.</summary>
internal sealed class ReadyRecord(StandardLoggingPayload payload) : PendingRecord
{
    public override StandardLoggingPayload Build(PayloadBuilder builder) => payload;
}
