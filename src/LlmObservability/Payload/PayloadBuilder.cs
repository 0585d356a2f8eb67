using System.IO.Compression;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmObservability.Capture;
using LlmObservability.Pricing;
using LlmObservability.Redaction;
using LlmObservability.Providers;
using static LlmObservability.Providers.CaptureLimits;

namespace LlmObservability.Payload;

/// <summary>
/// Turns a <see cref="CallRecord"/> into the immutable payload, on the dispatcher's loop: parses the request and any
/// whole response body with the provider's adapter, decides the outcome, computes timings, and applies the
/// message-logging policy. Never called on the caller's path.
/// </summary>
internal sealed class PayloadBuilder
{
    private readonly LlmObservabilityOptions options;
    private readonly CaptureLimits limits;
    private readonly TimeProvider time;
    private readonly PriceCatalog? prices;
    private readonly ILlmTokenEstimator? estimator;
    private readonly PayloadRedaction? redaction;

    /// <param name="options">Message policy, caps, service name.</param>
    /// <param name="time">The clock whose timestamps the records carry.</param>
    /// <param name="prices">Prices for the cost; null leaves every cost null.</param>
    /// <param name="estimator">Counts tokens when a provider reports no usage; null leaves them null.</param>
    public PayloadBuilder(LlmObservabilityOptions options, TimeProvider time, PriceCatalog? prices, ILlmTokenEstimator? estimator)
    {
        this.options = options;
        this.time = time;
        this.prices = prices;
        this.estimator = estimator;
        limits = new CaptureLimits(options.MaxContentChars, options.MaxErrorBodyChars);
        redaction = options.Redaction.Enabled ? new PayloadRedaction(options.Redaction) : null;
    }

    public StandardLoggingPayload Build(CallRecord record)
    {
        var adapter = record.Route.Adapter;
        CallHeaders.Read(record, adapter); // first, as when they were read on the caller's path: the body's error type overrides the header's
        if (record.PendingStream is { } stream)
        {
            // First, as when the stream was parsed as it came: its notes precede the request's.
            record.PendingStream = null;
            stream.Finish(record);
        }
        ParseRequest(record, adapter);
        ParseResponseBody(record, adapter);
        var estimated = EstimateUsageIfMissing(record);
        record.Usage = adapter.ToUsage(record);

        var status = DecideStatus(record);
        // Content is kept when the scope says so, or (without a scope override) when the options or any sink want it;
        // sinks that don't get a trimmed copy (see SinkWorker).
        var logMessages = record.Scope?.LogMessages ?? (options.LogMessages || AnySinkWantsMessages);
        var frequency = (double)record.TimestampFrequency;
        double Ms(long from, long to) => Math.Round((to - from) * 1000.0 / frequency, 3);

        var latency = Ms(record.StartTimestamp, record.EndTimestamp);
        long? contentStamp = status == LlmCallStatus.Success || record.IsEventStream ? record.FirstContentTimestamp : null;
        double? ttft = contentStamp is long stamp ? Ms(record.StartTimestamp, stamp) : null;
        double? tokensPerSecond = null;
        if (record.CompletionTokens is long completion && completion > 0)
        {
            // Streams: generation time after the first chunk. Whole bodies arrive at once, so the whole latency.
            var generationMs = record.IsEventStream && contentStamp is long first ? Ms(first, record.EndTimestamp) : latency;
            if (generationMs > 0) tokensPerSecond = Math.Round(completion * 1000.0 / generationMs, 2);
        }

        var toolCalls = record.ToolCalls is { Count: > 0 } ? record.ToolCalls.ToList() : null;
        LlmResponseOutput? output = null;
        if (record.OutputText is not null || record.ReasoningText is not null || record.RefusalText is not null)
        {
            // The text stays UTF-8 when it can (see Utf8Text); TextUtf8 = null leaves Text as set.
            var utf8 = record.OutputText?.ToUtf8();
            output = new LlmResponseOutput
            {
                Text = utf8 is null ? record.OutputText?.ToString() : null,
                TextUtf8 = utf8,
                Reasoning = record.ReasoningText?.ToString(),
                Refusal = record.RefusalText?.ToString(),
            };
        }
        else if (status == LlmCallStatus.Success && toolCalls is null)
        {
            output = new LlmResponseOutput { Text = string.Empty };
        }

        // Parameters can hold content too (prediction, a vendor's extras): capped like it, or cut to settings without it.
        // The notes are made from the parameters as sent, also when content is kept, for the sinks that must not get it.
        var parameterNotes = ModelParameterPolicy.ContentNotes(record.ModelParameters);
        var parameters = logMessages
            ? ModelParameterPolicy.Capped(record.ModelParameters, options.MaxContentChars)
            : ModelParameterPolicy.WithNotes(record.ModelParameters, parameterNotes);
        // Redacted before the payload is made, so it is made once.
        var content = new PayloadContent(logMessages ? record.Messages : null, logMessages ? output : null, logMessages ? toolCalls : null,
            BuildError(record, status), BuildMetadata(record.Scope), parameters);
        var entities = redaction?.Apply(ref content) ?? PayloadRedaction.NoEntities;
        return new StandardLoggingPayload
        {
            Id = record.Id,
            TraceId = record.TraceId,
            SpanId = record.SpanId,
            ParentSpanId = record.ParentSpanId,
            Attempt = record.Attempt,
            CallType = adapter.CallType,
            Provider = record.Route.Provider,
            ApiBase = record.Route.ApiBase,
            Endpoint = record.Route.Endpoint,
            Stream = record.Stream || record.IsEventStream,
            RequestedModel = record.RequestedModel,
            ResponseModel = record.ResponseModel,
            ModelParameters = content.ModelParameters,
            StartTime = record.StartTime,
            CompletionStartTime = contentStamp is long c ? record.StartTime.AddMilliseconds(Ms(record.StartTimestamp, c)) : null,
            EndTime = record.StartTime.AddMilliseconds(latency),
            TtftMs = ttft,
            LatencyMs = latency,
            OutputTokensPerSecond = tokensPerSecond,
            PromptTokens = record.PromptTokens,
            CompletionTokens = record.CompletionTokens,
            TotalTokens = record.TotalTokens ?? Json.Add(record.PromptTokens, record.CompletionTokens),
            CachedPromptTokens = record.CachedPromptTokens,
            CacheCreationTokens = record.CacheCreationTokens,
            ReasoningTokens = record.ReasoningTokens,
            UsageEstimated = estimated,
            Cost = Price(record, adapter),
            Status = status,
            HttpStatus = record.HttpStatus,
            FinishReasons = record.FinishReasons,
            Error = content.Error,
            Messages = content.Messages,
            Response = content.Response,
            ToolCalls = content.ToolCalls,
            Metadata = content.Metadata,
            ServiceName = options.ServiceName,
            Environment = options.Environment,
            RequestId = record.RequestId,
            ResponseId = record.ResponseId,
            RateLimit = record.RateLimit,
            ApiKey = DescribeKeyOfCall(record.ApiKey.Span),
            Redaction = new LlmRedactionSummary { MessageLogging = logMessages, Entities = entities },
            ScopeLogMessages = record.Scope?.LogMessages,
            ContentParameterNotes = logMessages ? parameterNotes : null,
        };
    }

    /// <summary>
    /// Whether adapters may read whole bodies without a <see cref="JsonDocument"/> (<see cref="ProviderAdapter.TryParseRequest"/>);
    /// the result is the same either way. Off only in tests that compare the two paths.
    /// </summary>
    internal bool FastPaths { get; init; } = true;

    /// <summary>Set by the dispatcher when a sink asks for message content although the options do not log it.</summary>
    public bool AnySinkWantsMessages { get; set; }

    /// <summary>
    /// When a successful call reported no usage (some streams, some compatible hosts), counts the tokens of what was sent
    /// and received with the configured estimator. Returns whether it did.
    /// </summary>
    private bool EstimateUsageIfMissing(CallRecord record)
    {
        if (estimator is null || record.PromptTokens is not null || record.CompletionTokens is not null) return false;
        if (record.HttpStatus is not (>= 200 and < 300) || record.End != CallEnd.Completed) return false;
        if (record.Messages is null && record.OutputText is null) return false;
        var model = record.ResponseModel ?? record.RequestedModel;
        var input = new StringBuilder();
        foreach (var message in record.Messages ?? [])
        {
            input.Append(message.Content).Append('\n');
            foreach (var call in message.ToolCalls ?? []) input.Append(call.Name).Append(call.Arguments).Append('\n');
        }
        var output = new StringBuilder().Append(record.OutputText?.ToString()).Append(record.ReasoningText?.ToString());
        foreach (var call in record.ToolCalls?.ToList() ?? []) output.Append(call.Name).Append(call.Arguments);
        var prompt = estimator.CountTokens(model, input.ToString());
        var completion = estimator.CountTokens(model, output.ToString());
        if (prompt is null || completion is null) return false;
        record.PromptTokens = prompt;
        record.CompletionTokens = completion;
        record.TotalTokens = prompt + completion;
        return true;
    }

    private LlmCost? Price(CallRecord record, ProviderAdapter adapter)
    {
        if (prices is null || record.Usage is not { } usage) return null;
        return prices.Calculate(record.Route.Provider, record.RequestedModel, record.ResponseModel, usage, adapter.PricedServiceTier(record));
    }

    private void ParseRequest(CallRecord record, ProviderAdapter adapter)
    {
        if (record.RequestBody is not { } body) return;
        if (FastPaths && adapter.TryParseRequest(body.Span, record, limits)) return;
        try
        {
            using var document = JsonDocument.Parse(body);
            // Every provider's request is an object: anything else is noted here, once for all adapters.
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                record.AddNote("request body is not a JSON object");
                return;
            }
            adapter.ParseRequest(document.RootElement, record, limits);
        }
        catch (JsonException)
        {
            record.AddNote("request body is not valid JSON");
        }
        catch (Exception ex) when (IsParsingFailure(ex))
        {
            // JSON of an unexpected shape: keep what was read, say what happened, never lose the record.
            record.AddNote($"request body could not be fully read ({ex.GetType().Name})");
        }
    }

    /// <summary>What reading an unexpected document can throw; anything else is a real fault and propagates.</summary>
    private static bool IsParsingFailure(Exception ex) =>
        ex is InvalidOperationException or FormatException or ArgumentException or OverflowException or KeyNotFoundException or IndexOutOfRangeException or InvalidCastException;

    private void ParseResponseBody(CallRecord record, ProviderAdapter adapter)
    {
        if (record.ResponseBody is null) return;
        var bytes = Decode(record);
        if (bytes.IsEmpty) return;
        var success = record.HttpStatus is >= 200 and < 300;
        if (!success) record.ErrorBody = limits.ErrorBodyText(bytes.Span);
        // A 2xx body may be an error body (ProviderAdapter.ErrorMemberMarksFailedSuccessBody). One vectorized search keeps
        // the check off other bodies; one that names "error" anywhere is read through the document, which tells.
        var mayBeError = success && adapter.ErrorMemberMarksFailedSuccessBody && bytes.Span.IndexOf("\"error\""u8) >= 0;
        if (success && !mayBeError && FastPaths && adapter.TryParseResponse(bytes.Span, record, limits))
        {
            WholeBodyRead(record);
            return;
        }
        try
        {
            using var document = JsonDocument.Parse(bytes);
            var root = document.RootElement;
            if (mayBeError && adapter.HasErrorAtRoot(root))
            {
                WholeBodyRead(record); // parsed whole, whether or not its error reads
                adapter.ReadErrorInSuccessBody(root, bytes.Span, record, limits);
                return;
            }
            if (success) adapter.ParseResponse(root, record, limits);
            else adapter.ParseError(root, record);
            WholeBodyRead(record);
        }
        catch (Exception ex) when (ex is not JsonException && IsParsingFailure(ex))
        {
            record.AddNote($"response body could not be fully read ({ex.GetType().Name})");
        }
        catch (JsonException)
        {
            if (record.ResponseBodyTruncated) record.AddNote($"response body is over the capture cap of {options.MaxResponseCaptureBytes} bytes; not parsed");
            else if (record.End == CallEnd.Completed || !success) record.AddNote("response body is not valid JSON");
        }
    }

    /// <summary>An unknown-length body that parsed as whole JSON was read in full, even if the caller skipped the final read.</summary>
    private static void WholeBodyRead(CallRecord record)
    {
        if (record.End == CallEnd.Disposed && !record.ResponseBodyTruncated) record.End = CallEnd.Completed;
    }

    private ReadOnlyMemory<byte> Decode(CallRecord record)
    {
        var raw = record.ResponseBodyMemory;
        if (record.ContentEncoding is not { } encoding || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase)) return raw;
        try
        {
            using var input = new MemoryStream(raw.ToArray());
            using Stream decoder = encoding.ToUpperInvariant() switch
            {
                "GZIP" or "X-GZIP" => new GZipStream(input, CompressionMode.Decompress),
                "BR" => new BrotliStream(input, CompressionMode.Decompress),
                "DEFLATE" => new ZLibStream(input, CompressionMode.Decompress),
                _ => throw new InvalidDataException($"unsupported content encoding '{encoding}'"),
            };
            using var output = new MemoryStream();
            var buffer = new byte[8192];
            int read;
            while ((read = decoder.Read(buffer)) > 0)
            {
                if (output.Length + read > options.MaxResponseCaptureBytes)
                {
                    record.AddNote("decoded response body is over the capture cap; not parsed");
                    return default;
                }
                output.Write(buffer, 0, read);
            }
            return output.ToArray();
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            record.AddNote($"response body could not be decoded ({encoding}): {ex.Message}");
            return default;
        }
    }

    private static LlmCallStatus DecideStatus(CallRecord record)
    {
        if (record.End is CallEnd.Exception or CallEnd.Cancelled or CallEnd.Disposed or CallEnd.Pending) return LlmCallStatus.Failure;
        if (record.HttpStatus is not (>= 200 and < 300)) return LlmCallStatus.Failure;
        if (record.ErrorType is not null || record.ErrorMessage is not null) return LlmCallStatus.Failure; // an error event inside a 200 stream
        return LlmCallStatus.Success;
    }

    private LlmError? BuildError(CallRecord record, LlmCallStatus status)
    {
        var notes = record.Notes is { Count: > 0 } ? string.Join("; ", record.Notes) : null;
        if (status == LlmCallStatus.Success)
        {
            // A successful call can still carry notes on what could not be read.
            return notes is null ? null : new LlmError { Type = "capture_note", Message = notes };
        }

        string? type = record.ErrorType;
        var message = record.ErrorMessage;
        var code = record.ErrorCode;
        switch (record.End)
        {
            case CallEnd.Cancelled:
                type = "cancelled";
                message = "The caller cancelled the call.";
                break;
            case CallEnd.Exception when record.Exception is { } ex:
                (type, code) = Classify(ex);
                message = record.HttpStatus is null ? ex.Message : $"The response body failed mid-way: {ex.Message}";
                break;
            case CallEnd.Disposed:
                type ??= "incomplete_response";
                message ??= "The caller disposed the response before reading it to the end.";
                break;
        }
        if (type is null && record.HttpStatus is int httpStatus) type = DefaultErrorType(httpStatus);
        if (notes is not null) message = message is null ? notes : $"{message} ({notes})";
        return new LlmError { Type = type, Message = Cap(message, limits.MaxErrorBodyChars), Code = code, Body = record.ErrorBody };
    }

    private static (string Type, string? Code) Classify(Exception exception) => exception switch
    {
        TaskCanceledException { InnerException: TimeoutException } => ("timeout", null),
        TimeoutException => ("timeout", null),
        HttpRequestException http => ("connection_error", http.HttpRequestError.ToString()),
        IOException => ("stream_error", null),
        OperationCanceledException => ("cancelled", null),
        _ => (exception.GetType().Name, null),
    };

    private static string DefaultErrorType(int status) => status switch
    {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        408 => "timeout",
        413 => "request_too_large",
        429 => "rate_limit_error",
        >= 500 => "server_error",
        _ => $"http_{status}",
    };

    private static LlmCallMetadata? BuildMetadata(LlmObservabilityScope? scope)
    {
        if (scope is null) return null;
        return new LlmCallMetadata
        {
            UserId = scope.UserId,
            SessionId = scope.SessionId,
            Tags = scope.Tags.Count == 0 ? null : scope.Tags,
            Custom = scope.Metadata.Count == 0 ? null : scope.Metadata,
        };
    }

    /// <summary>A short prefix that identifies the key's kind (never more than a quarter of it) plus its SHA-256.</summary>
    internal static LlmApiKeyInfo? DescribeKey(string? key) => DescribeKey(key.AsSpan());

    /// <inheritdoc cref="DescribeKey(string?)"/>
    internal static LlmApiKeyInfo? DescribeKey(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty) return null;
        var prefixLength = Math.Min(8, key.Length / 4);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var length = Encoding.UTF8.GetByteCount(key);
        var rented = length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> bytes = rented ?? stackalloc byte[512];
        Encoding.UTF8.GetBytes(key, bytes);
        SHA256.HashData(bytes[..length], hash);
        if (rented is not null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        return new LlmApiKeyInfo { Prefix = key[..prefixLength].ToString(), Sha256 = Convert.ToHexStringLower(hash) };
    }

    /// <summary>
    /// <see cref="DescribeKey(ReadOnlySpan{char})"/> for the key of the previous call is that call's description: an
    /// application uses one key (or a few) for every call, so hashing it once spares each call the hash and its strings.
    /// The key is held here as the application's own configuration holds it, and never leaves this object.
    /// </summary>
    private LlmApiKeyInfo? DescribeKeyOfCall(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty) return null;
        if (Volatile.Read(ref _lastKey) is { } last && key.SequenceEqual(last.Key)) return last.Info;
        var info = DescribeKey(key)!;
        Volatile.Write(ref _lastKey, new DescribedKey(key.ToString(), info));
        return info;
    }

    private DescribedKey? _lastKey;

    // A class, not a record: nothing prints the key.
    private sealed class DescribedKey(string key, LlmApiKeyInfo info)
    {
        public string Key { get; } = key;

        public LlmApiKeyInfo Info { get; } = info;
    }
}
