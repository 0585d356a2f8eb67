using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using LlmObservability.Payload;
using LlmObservability.Sinks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace LlmObservability.S3;

/// <summary>
/// Writes each batch to S3 (or any S3-compatible store) as one JSON-lines object, optionally gzip-compressed, under a
/// key partitioned by UTC date and hour (<see cref="S3KeyLayout"/>). A batch larger than
/// <see cref="S3SinkOptions.MaxObjectBytes"/> becomes several objects; a single record that is too large on its own has
/// its longest text cut to fit.
/// </summary>
/// <remarks>
/// <para>
/// Each upload runs in a resilience pipeline (Polly, the engine of Microsoft.Extensions.Http.Resilience; the same
/// strategies as the HTTP and Langfuse sinks): throttling (429, 503 SlowDown), 408, 5xx, clock skew, network errors and
/// timed-out attempts are retried with exponential backoff and jitter, under a circuit breaker and a timeout per attempt
/// (<see cref="S3SinkOptions.MaxRetries"/>, <see cref="S3SinkOptions.Timeout"/>, <see cref="S3SinkOptions.CircuitBreakDuration"/>).
/// The pipeline wraps the SDK call rather than the SDK's HttpClient because every attempt must be signed anew (SigV4
/// signs the time) over a rewound body. A client the sink builds has the SDK's own retries off, so attempts are not
/// multiplied, and when the sink is registered with <c>AddS3Sink</c> its requests go through the
/// <see cref="IHttpClientFactory"/> client <see cref="S3SinkOptions.HttpClientName"/>. A client from the container keeps
/// its own settings, retries included.
/// </para>
/// <para>
/// When an upload still fails, the sink tells the dispatcher how far the batch got (<see cref="LlmSinkWriteException"/>)
/// and the dispatcher tries the rest later. Objects already written are not written again, and a retried object keeps
/// its key, so a write that succeeded without its answer arriving is overwritten, not doubled. 400 and 409 reject that
/// object's records; 403 (access denied), 404 (no such bucket) and other errors reject the rest of the batch, counted
/// in <see cref="Dispatch.LlmSinkStatistics.Rejected"/> and logged once.
/// </para>
/// </remarks>
public sealed partial class S3LlmLogSink : ILlmLogSink, IDisposable
{
    private readonly S3SinkOptions _options;
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _prefix;
    private readonly ResiliencePipeline<PutObjectResponse> _pipeline;
    // The key each object got when first tried, by its first record, so a retry overwrites instead of duplicating.
    private readonly ConditionalWeakTable<StandardLoggingPayload, string> _keys = [];
    private long _truncated;

    /// <summary>Creates the sink.</summary>
    /// <param name="options">Bucket, key layout, compression, encryption, limits and (for a client of its own) endpoint and credentials.</param>
    /// <param name="client">The S3 client to use, owned by the caller; null to build one from <paramref name="options"/> (owned and disposed by the sink).</param>
    /// <param name="timeProvider">The clock for object keys; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Where retries and truncations are reported; nothing is logged when null.</param>
    /// <param name="httpClientFactory">
    /// Where a client the sink builds gets its HttpClients (<see cref="S3SinkOptions.HttpClientName"/>); null lets the SDK
    /// create its own. Not used with <paramref name="client"/>.
    /// </param>
    public S3LlmLogSink(S3SinkOptions options, IAmazonS3? client = null, TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null, IHttpClientFactory? httpClientFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _client = client ?? CreateClient(options, httpClientFactory);
        _ownsClient = client is null;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<S3LlmLogSink>() ?? NullLogger.Instance;
        _prefix = options.Prefix.Trim('/');
        _pipeline = new ResiliencePipelineBuilder<PutObjectResponse> { TimeProvider = _time }
            .AddSinkStrategies(
                new SinkResilienceSettings("s3", options.MaxRetries, options.RetryBaseDelay, options.CircuitBreakDuration, options.Timeout),
                static outcome => outcome.Exception is { } ex && IsTransient(ex),
                static _ => null,
                static outcome => outcome.Exception is AmazonServiceException ex ? $"{(int)ex.StatusCode} {ex.ErrorCode}" : SinkResilience.DescribeException(outcome.Exception),
                _logger)
            .Build();
    }

    /// <summary>The bucket objects are written to.</summary>
    public string BucketName => _options.BucketName!;

    /// <summary>How many records had text cut to fit <see cref="S3SinkOptions.MaxObjectBytes"/>.</summary>
    public long TruncatedRecords => Interlocked.Read(ref _truncated);

    /// <summary>
    /// The key of an object written at <paramref name="utcTime"/>, e.g.
    /// <c>llm-logs/2026/11/22/10/20261122T101530123Z_0196f3c2….jsonl.gz</c> or, Hive-style,
    /// <c>llm-logs/dt=2026-11-22/hour=10/20261122T101530123Z_0196f3c2….jsonl.gz</c>.
    /// </summary>
    public string GetObjectKey(DateTimeOffset utcTime, string batchId)
    {
        ArgumentException.ThrowIfNullOrEmpty(batchId);
        var t = utcTime.UtcDateTime;
        var partition = _options.KeyLayout == S3KeyLayout.Hive
            ? t.ToString("'dt='yyyy-MM-dd'/hour='HH", CultureInfo.InvariantCulture)
            : t.ToString("yyyy'/'MM'/'dd'/'HH", CultureInfo.InvariantCulture);
        var name = string.Concat(t.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture), "_", batchId, _options.Gzip ? ".jsonl.gz" : ".jsonl");
        return _prefix.Length == 0 ? $"{partition}/{name}" : $"{_prefix}/{partition}/{name}";
    }

    /// <inheritdoc/>
    public async ValueTask WriteBatchAsync(IReadOnlyList<StandardLoggingPayload> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) return;

        var lines = SerializeLines(batch);
        await LlmSinkBatchProgress.WriteInPartsAsync(lines.Length, start => FitCount(lines, start),
            (start, count, progress, ct) => PutAsync(batch, lines, start, count, progress, ct), $"S3 bucket '{BucketName}'", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Disposes the client when the sink built it.</summary>
    public void Dispose()
    {
        if (_ownsClient) _client.Dispose();
    }

    private byte[][] SerializeLines(IReadOnlyList<StandardLoggingPayload> batch)
    {
        var maxRecordBytes = _options.MaxObjectBytes - 1; // the newline
        var lines = new byte[batch.Count][];
        for (var i = 0; i < batch.Count; i++)
        {
            var bytes = LlmPayloadJson.SerializeToUtf8Bytes(batch[i]);
            if (bytes.Length > maxRecordBytes)
            {
                var original = bytes.Length;
                bytes = LlmPayloadTruncation.SerializeWithin(batch[i], maxRecordBytes, LlmPayloadJson.SerializeToUtf8Bytes, out _);
                Interlocked.Increment(ref _truncated);
                LogTruncated(_logger, batch[i].Id, original, bytes.Length, _options.MaxObjectBytes);
            }
            lines[i] = bytes;
        }
        return lines;
    }

    private int FitCount(byte[][] lines, int start)
    {
        long size = 0;
        var count = 0;
        for (var i = start; i < lines.Length; i++)
        {
            var add = lines[i].Length + 1;
            if (count > 0 && size + add > _options.MaxObjectBytes) break;
            size += add;
            count++;
        }
        return count;
    }

    private byte[] Body(byte[][] lines, int start, int count)
    {
        using var buffer = new MemoryStream();
        using (Stream target = _options.Gzip ? new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true) : buffer)
        {
            for (var i = start; i < start + count; i++)
            {
                target.Write(lines[i]);
                target.WriteByte((byte)'\n');
            }
        }
        return buffer.ToArray();
    }

    private string KeyFor(StandardLoggingPayload first) =>
        _keys.GetValue(first, _ =>
        {
            var now = _time.GetUtcNow();
            return GetObjectKey(now, Guid.CreateVersion7(now).ToString("N"));
        });

    private async Task PutAsync(IReadOnlyList<StandardLoggingPayload> batch, byte[][] lines, int start, int count, LlmSinkBatchProgress progress, CancellationToken cancellationToken)
    {
        var key = KeyFor(batch[start]);
        var body = Body(lines, start, count);

        string reason;
        Outcome outcome;
        try
        {
            // Every attempt is a new request over the same bytes, signed when it is sent.
            await _pipeline.ExecuteAsync(async (state, ct) =>
            {
                using var stream = new MemoryStream(state.body, writable: false);
                return await _client.PutObjectAsync(NewPutRequest(state.key, stream), ct).ConfigureAwait(false);
            }, (key, body), cancellationToken).ConfigureAwait(false);
            progress.Written(count);
            return;
        }
        catch (AmazonServiceException ex) when (!cancellationToken.IsCancellationRequested)
        {
            outcome = Classify(ex);
            reason = $"S3 PUT s3://{BucketName}/{key} answered {(int)ex.StatusCode} {ex.ErrorCode}: {ex.Message}";
            if (outcome == Outcome.Transient) throw progress.Transient(reason, ex);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && (IsTransient(ex) || ex is BrokenCircuitException))
        {
            // Network trouble or timed-out attempts after the pipeline's retries, or its open circuit (whose remaining
            // break is the pause before the dispatcher tries again).
            throw progress.Transient($"S3 PUT s3://{BucketName}/{key} failed: {ex.Message}", ex, SinkResilience.RetryAfterOf(ex));
        }

        switch (outcome)
        {
            case Outcome.TooLarge when count > 1:
                var half = count / 2;
                await PutAsync(batch, lines, start, half, progress, cancellationToken).ConfigureAwait(false);
                await PutAsync(batch, lines, start + half, count - half, progress, cancellationToken).ConfigureAwait(false);
                return;
            case Outcome.TooLarge:
            case Outcome.RejectRecords:
                progress.Refused(count, reason);
                return;
            default:
                throw progress.Permanent(reason);
        }
    }

    private PutObjectRequest NewPutRequest(string key, MemoryStream body)
    {
        var request = new PutObjectRequest
        {
            BucketName = BucketName,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = _options.Gzip ? "application/gzip" : "application/x-ndjson",
            // The body is in memory: sign it whole rather than in aws-chunked framing, which S3-compatible servers
            // support unevenly.
            UseChunkEncoding = false,
        };
        switch (_options.ServerSideEncryption)
        {
            case S3ServerSideEncryption.Aes256:
                request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AES256;
                break;
            case S3ServerSideEncryption.Kms:
                request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.AWSKMS;
                if (_options.KmsKeyId is { } kmsKey) request.ServerSideEncryptionKeyManagementServiceKeyId = kmsKey;
                break;
        }
        return request;
    }

    /// <summary>Whether an upload that failed this way is worth another attempt.</summary>
    private static bool IsTransient(Exception exception) => exception switch
    {
        AmazonServiceException service => Classify(service) == Outcome.Transient,
        // Network trouble, a timed-out attempt, or the SDK client's own timeout (a cancelled request the caller did not cancel).
        AmazonClientException or HttpRequestException or IOException or TimeoutRejectedException or OperationCanceledException => true,
        _ => false,
    };

    private enum Outcome
    {
        Transient,
        TooLarge,
        RejectRecords,
        RejectAll,
    }

    private static Outcome Classify(AmazonServiceException ex)
    {
        switch (ex.ErrorCode)
        {
            case "SlowDown" or "RequestTimeout" or "RequestTimeTooSkewed" or "InternalError" or "ServiceUnavailable" or "Throttling" or "ThrottlingException":
                return Outcome.Transient; // RequestTimeTooSkewed: the client corrects its clock offset for the next attempt
            case "EntityTooLarge":
                return Outcome.TooLarge;
        }
        return (int)ex.StatusCode switch
        {
            0 => Outcome.Transient, // no answer at all
            408 or 425 or 429 or >= 500 => Outcome.Transient,
            413 => Outcome.TooLarge,
            400 or 409 or 422 => Outcome.RejectRecords,
            _ => Outcome.RejectAll,
        };
    }

    private static AmazonS3Client CreateClient(S3SinkOptions options, IHttpClientFactory? httpClientFactory)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // The sink's pipeline retries; SDK retries under it would multiply attempts.
            MaxErrorRetry = 0,
            // Checksums only where S3 requires them: S3-compatible servers do not all know the newer checksum headers.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        // Attempts are timed by the pipeline.
        config.Timeout = Timeout.InfiniteTimeSpan;
        if (httpClientFactory is not null) config.HttpClientFactory = new FactoryHttpClients(httpClientFactory, options.HttpClientName);
        if (options.ServiceUrl is { } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (options.Region is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        if (options.AccessKeyId is { } accessKey)
        {
            AWSCredentials credentials = options.SessionToken is { } token
                ? new SessionAWSCredentials(accessKey, options.SecretAccessKey, token)
                : new BasicAWSCredentials(accessKey, options.SecretAccessKey);
            return new AmazonS3Client(credentials, config);
        }
        return new AmazonS3Client(config);
    }

    [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "LlmObservability S3 sink: record {CallId} is {Bytes} bytes as JSON, more than the object limit of {Limit}; its longest text was cut, leaving {NewBytes} bytes.")]
    private static partial void LogTruncated(ILogger logger, string callId, int bytes, int newBytes, int limit);

    /// <summary>Hands the SDK the container's named HttpClient for every request, so its handlers and settings apply.</summary>
    private sealed class FactoryHttpClients(IHttpClientFactory factory, string name) : Amazon.Runtime.HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var client = factory.CreateClient(name);
            client.Timeout = Timeout.InfiniteTimeSpan; // attempts are timed by the pipeline
            return client;
        }

        // The factory pools the handlers: the SDK keeps no client and disposes each after use (which leaves the handler be).
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => true;
    }
}
