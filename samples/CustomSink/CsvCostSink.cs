using System.Globalization;
using System.Text;
using LlmObservability.Payload;
using LlmObservability.Sinks;

namespace CustomSink;

/// <summary>
/// A custom sink is one class: this one appends a CSV line per call (time, model, tokens, cost, status) for a finance
/// team's spreadsheet. The dispatcher calls it with batches, never concurrently; throwing means "retry this batch".
/// </summary>
public sealed class CsvCostSink(string path) : ILlmLogSink
{
    public string Path { get; } = path;

    public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        var lines = new StringBuilder();
        if (!File.Exists(Path)) lines.AppendLine("start_time,call_id,provider,model,prompt_tokens,completion_tokens,cost_usd,status");
        foreach (var call in batch)
        {
            lines.Append(CultureInfo.InvariantCulture, $"{call.StartTime:O},{call.Id},{call.Provider},{call.ResponseModel ?? call.RequestedModel},")
                .Append(CultureInfo.InvariantCulture, $"{call.PromptTokens},{call.CompletionTokens},{call.Cost?.Total},{call.Status}")
                .AppendLine();
        }
        await File.AppendAllTextAsync(Path, lines.ToString(), cancellationToken);
    }
}
