using LlmObservability.Sinks;

namespace LlmObservability.S3;

/// <summary>
/// Options for <see cref="S3LlmLogSink"/>. Bound from configuration by <c>AddS3Sink(IConfigurationSection)</c>.
/// </summary>
/// <remarks>
/// <para>An empty value of an optional setting (<see cref="ServiceUrl"/>, <see cref="Region"/>, credentials,
/// <see cref="KmsKeyId"/>) means not set, as an appsettings.json placeholder (<c>""</c>) leaves it.</para>
/// The client settings (<see cref="ServiceUrl"/>, <see cref="Region"/>, <see cref="ForcePathStyle"/>, credentials) are used
/// when the sink builds its own client: when any of <see cref="ServiceUrl"/>, <see cref="Region"/> or
/// <see cref="AccessKeyId"/> is set, or when no <c>IAmazonS3</c> is registered in the container. Otherwise the registered
/// <c>IAmazonS3</c> is used as it is.
/// </remarks>
public sealed class S3SinkOptions
{
    /// <summary>The bucket objects are written to. Required.</summary>
    public string? BucketName { get; set; }

    /// <summary>The start of every object key, without a trailing slash; empty for none. Default: <c>llm-logs</c>.</summary>
    public string Prefix { get; set; } = "llm-logs";

    /// <summary>How keys are partitioned by time. Default: <see cref="S3KeyLayout.DateHour"/>.</summary>
    public S3KeyLayout KeyLayout { get; set; } = S3KeyLayout.DateHour;

    /// <summary>Whether objects are gzip-compressed (key ends <c>.jsonl.gz</c>). Default: true.</summary>
    public bool Gzip { get; set; } = true;

    /// <summary>Server-side encryption requested for each object. Default: <see cref="S3ServerSideEncryption.None"/> (the bucket's default applies).</summary>
    public S3ServerSideEncryption ServerSideEncryption { get; set; } = S3ServerSideEncryption.None;

    /// <summary>The KMS key ID or ARN for <see cref="S3ServerSideEncryption.Kms"/>; null uses the account's AWS-managed key.</summary>
    public string? KmsKeyId
    {
        get => _kmsKeyId;
        set => _kmsKeyId = NotSetWhenBlank(value);
    }

    /// <summary>
    /// The largest object in bytes before compression. A batch that would be larger is written as several objects; a
    /// single record that is larger on its own has its longest text cut (marked <c>…[truncated N bytes]</c>) to fit.
    /// Default: 16 MiB.
    /// </summary>
    public int MaxObjectBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>The name of the <see cref="IHttpClientFactory"/> client a sink registered with <c>AddS3Sink</c> uses unless <see cref="HttpClientName"/> says otherwise.</summary>
    public const string DefaultHttpClientName = "LlmObservability.S3";

    /// <summary>How long one attempt of an upload may take before it is abandoned and retried. Default: 30 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Retries of one upload on throttling (429, 503 SlowDown), 408, 5xx, clock skew, network errors and timed-out
    /// attempts, with exponential backoff and jitter. Each retry is a new, newly signed request. When they are spent the
    /// batch goes back to the dispatcher, which tries it again later per <see cref="Dispatch.LlmSinkOptions"/>. 0 turns
    /// these retries off. Default: 3.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry delay; it doubles per retry, with jitter. At most 30 seconds. Default: 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the circuit stays open after most uploads in a minute failed (at least 10 of them): uploads fail at once
    /// meanwhile and the dispatcher keeps the records for later. At least 0.5 seconds. Default: 30 seconds.
    /// </summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The <see cref="IHttpClientFactory"/> client that carries the requests of a client the sink builds itself when it
    /// is registered with <c>AddS3Sink</c>, so that a proxy, certificates or handlers can be configured with
    /// <c>services.AddHttpClient(name)</c>. Default: <see cref="DefaultHttpClientName"/>.
    /// </summary>
    public string HttpClientName { get; set; } = DefaultHttpClientName;

    /// <summary>The endpoint of an S3-compatible service (MinIO, R2, Ceph, LocalStack...), e.g. <c>http://127.0.0.1:9000</c>. Null for AWS.</summary>
    public string? ServiceUrl
    {
        get => _serviceUrl;
        set => _serviceUrl = NotSetWhenBlank(value);
    }

    /// <summary>The AWS region (e.g. <c>eu-west-1</c>); with <see cref="ServiceUrl"/>, the region requests are signed for. Null: the SDK's default lookup.</summary>
    public string? Region
    {
        get => _region;
        set => _region = NotSetWhenBlank(value);
    }

    /// <summary>Addresses the bucket in the path (<c>host/bucket/key</c>) instead of the host name; most S3-compatible servers need it. Default: false.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>Access key ID; with <see cref="SecretAccessKey"/>. Null: the SDK's default credential chain (environment, profile, instance role...).</summary>
    public string? AccessKeyId
    {
        get => _accessKeyId;
        set => _accessKeyId = NotSetWhenBlank(value);
    }

    /// <summary>Secret access key for <see cref="AccessKeyId"/>.</summary>
    public string? SecretAccessKey
    {
        get => _secretAccessKey;
        set => _secretAccessKey = NotSetWhenBlank(value);
    }

    /// <summary>Session token for temporary credentials, with <see cref="AccessKeyId"/>.</summary>
    public string? SessionToken
    {
        get => _sessionToken;
        set => _sessionToken = NotSetWhenBlank(value);
    }

    private string? _kmsKeyId;
    private string? _serviceUrl;
    private string? _region;
    private string? _accessKeyId;
    private string? _secretAccessKey;
    private string? _sessionToken;

    // The optional settings take an empty value as "not set": appsettings.json placeholders are "", and an empty
    // ServiceUrl or Region must not fail validation or ask for a client of the sink's own.
    private static string? NotSetWhenBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>True when the settings ask for a client of the sink's own rather than one from the container.</summary>
    internal bool WantsOwnClient => ServiceUrl is not null || Region is not null || AccessKeyId is not null;

    /// <summary>Describes every invalid setting; empty when the options are valid.</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(BucketName)) errors.Add("BucketName is required.");
        if (Prefix is null) errors.Add("Prefix must not be null (use an empty string for none).");
        if (!Enum.IsDefined(KeyLayout)) errors.Add($"KeyLayout '{KeyLayout}' is not one of DateHour, Hive.");
        if (!Enum.IsDefined(ServerSideEncryption)) errors.Add($"ServerSideEncryption '{ServerSideEncryption}' is not one of None, Aes256, Kms.");
        if (KmsKeyId is not null && ServerSideEncryption != S3ServerSideEncryption.Kms) errors.Add("KmsKeyId is set but ServerSideEncryption is not Kms.");
        if (MaxObjectBytes < 1024) errors.Add($"MaxObjectBytes must be at least 1024 (was {MaxObjectBytes}).");
        SinkResilience.Validate(errors, MaxRetries, RetryBaseDelay, CircuitBreakDuration, Timeout);
        if (string.IsNullOrWhiteSpace(HttpClientName)) errors.Add("HttpClientName is required.");
        if (ServiceUrl is not null && (!Uri.TryCreate(ServiceUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"ServiceUrl must be an absolute http or https address (was '{ServiceUrl}').");
        }
        if ((AccessKeyId is null) != (SecretAccessKey is null)) errors.Add("AccessKeyId and SecretAccessKey go together: set both or neither.");
        if (SessionToken is not null && AccessKeyId is null) errors.Add("SessionToken needs AccessKeyId and SecretAccessKey.");
        return errors;
    }

    internal void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0) throw new ArgumentException($"Invalid S3 sink options: {string.Join(" ", errors)}");
    }
}

/// <summary>How <see cref="S3LlmLogSink"/> lays out object keys by time (UTC, when the batch is first written).</summary>
public enum S3KeyLayout
{
    /// <summary><c>{prefix}/yyyy/MM/dd/HH/{time}_{batch-id}.jsonl[.gz]</c>.</summary>
    DateHour,

    /// <summary>
    /// <c>{prefix}/dt=yyyy-MM-dd/hour=HH/{time}_{batch-id}.jsonl[.gz]</c>: Hive-style partitions that Athena, Glue and
    /// Spark read as the columns <c>dt</c> and <c>hour</c>.
    /// </summary>
    Hive,
}

/// <summary>Server-side encryption for the objects <see cref="S3LlmLogSink"/> writes.</summary>
public enum S3ServerSideEncryption
{
    /// <summary>Ask for none; the bucket's default encryption applies (S3 encrypts with SSE-S3 by default).</summary>
    None,

    /// <summary>SSE-S3: <c>x-amz-server-side-encryption: AES256</c>.</summary>
    Aes256,

    /// <summary>SSE-KMS: <c>x-amz-server-side-encryption: aws:kms</c>, with <see cref="S3SinkOptions.KmsKeyId"/> when set.</summary>
    Kms,
}
