using System.Buffers;
using System.Globalization;
using System.Text.Json;
using LlmObservability.Payload;

namespace LlmObservability.Sinks;

/// <summary>Options for <see cref="JsonLinesFileSink"/>.</summary>
public sealed class JsonLinesFileSinkOptions
{
    /// <summary>The folder the files go in; created when missing. Required.</summary>
    public string Directory { get; set; } = "llm-logs";

    /// <summary>The start of each file name; the UTC date and <c>.jsonl</c> follow, e.g. <c>llm-2026-11-22.jsonl</c>. Default: <c>llm-</c>.</summary>
    public string FilePrefix { get; set; } = "llm-";

    /// <summary>How long a batch waits for another writer that holds the file before the attempt fails (and is retried by the dispatcher). Default: 10 seconds.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Appends one payload per line (JSON Lines) to a file per UTC day. Each batch is one append under an exclusive file
/// lock, so several sinks or processes can share a folder without interleaving lines; the file is flushed to disk
/// before the batch counts as delivered.
/// </summary>
public sealed class JsonLinesFileSink : ILlmLogSink
{
    private readonly JsonLinesFileSinkOptions _options;
    private readonly TimeProvider _time;

    /// <summary>Creates the sink.</summary>
    public JsonLinesFileSink(JsonLinesFileSinkOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Directory)) throw new ArgumentException("JsonLinesFileSinkOptions.Directory is required.", nameof(options));
        if (options.FilePrefix.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0) throw new ArgumentException($"JsonLinesFileSinkOptions.FilePrefix '{options.FilePrefix}' contains characters not allowed in a file name.", nameof(options));
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        Directory = Path.GetFullPath(options.Directory);
    }

    /// <summary>Creates the sink writing to <paramref name="directory"/>.</summary>
    public JsonLinesFileSink(string directory)
        : this(new JsonLinesFileSinkOptions { Directory = directory })
    {
    }

    /// <summary>The absolute folder the files are written to.</summary>
    public string Directory { get; }

    /// <summary>The file that a record written at <paramref name="utcNow"/> goes to.</summary>
    public string GetFilePath(DateTimeOffset utcNow) =>
        Path.Combine(Directory, $"{_options.FilePrefix}{utcNow.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}.jsonl");

    /// <inheritdoc/>
    public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) return;

        var buffer = new ArrayBufferWriter<byte>(batch.Count * 2048);
        using (var writer = new Utf8JsonWriter(buffer, LlmPayloadJson.WriterOptions))
        {
            foreach (var payload in batch)
            {
                LlmPayloadJson.Serialize(writer, payload);
                writer.Flush();
                buffer.Write("\n"u8);
                writer.Reset();
            }
        }

        System.IO.Directory.CreateDirectory(Directory);
        var path = GetFilePath(_time.GetUtcNow());
        await using var stream = await OpenExclusiveAsync(path, cancellationToken).ConfigureAwait(false);
        stream.Seek(0, SeekOrigin.End);
        await stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>
    /// FileShare.None takes an exclusive lock (flock on Unix, a share mode on Windows) that other writers, in this process
    /// or another, respect; a writer that finds the file locked waits briefly and tries again.
    /// </summary>
    private async Task<FileStream> OpenExclusiveAsync(string path, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            }
            catch (IOException ex) when (ex is not DirectoryNotFoundException && _time.GetElapsedTime(started) < _options.LockTimeout)
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(50).Ticks));
            }
        }
    }
}
