using System.Collections.Concurrent;
using LlmObservability.Payload;
using LlmObservability.Sinks;

namespace LlmObservability.Testing;

/// <summary>Keeps every payload it is given.</summary>
public sealed class CollectingSink : ILlmLogSink
{
    private readonly ConcurrentQueue<StandardLoggingPayload> _payloads = new();
    private int _batches;

    public IReadOnlyList<StandardLoggingPayload> Payloads => [.. _payloads];

    public int Batches => _batches;

    public List<int> BatchSizes { get; } = [];

    public ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _batches);
        lock (BatchSizes) BatchSizes.Add(batch.Count);
        foreach (var payload in batch) _payloads.Enqueue(payload);
        return ValueTask.CompletedTask;
    }
}
