using System.Text.RegularExpressions;
using LlmObservability.Sinks;

namespace LlmObservability.Langfuse;

/// <summary>
/// Where and how <see cref="LangfuseSink"/> sends spans. Bound from a configuration section by
/// <c>AddLangfuseSink(IConfigurationSection)</c>, with the environment variables <c>LANGFUSE_PUBLIC_KEY</c>,
/// <c>LANGFUSE_SECRET_KEY</c>, <c>LANGFUSE_BASE_URL</c> (or the older <c>LANGFUSE_HOST</c>),
/// <c>LANGFUSE_TRACING_ENVIRONMENT</c> and <c>LANGFUSE_RELEASE</c> as defaults; validated at start-up.
/// </summary>
public sealed partial class LangfuseSinkOptions
{
    /// <summary>Langfuse Cloud, EU data region (the default host).</summary>
    public const string EuCloudHost = "https://cloud.langfuse.com";

    /// <summary>Langfuse Cloud, US data region.</summary>
    public const string UsCloudHost = "https://us.cloud.langfuse.com";

    /// <summary>The OTLP/HTTP traces path below the host.</summary>
    public const string TracesPath = "/api/public/otel/v1/traces";

    /// <summary>Environment variable holding the project's public key (<c>pk-lf-…</c>).</summary>
    public const string PublicKeyVariable = "LANGFUSE_PUBLIC_KEY";

    /// <summary>Environment variable holding the project's secret key (<c>sk-lf-…</c>).</summary>
    public const string SecretKeyVariable = "LANGFUSE_SECRET_KEY";

    /// <summary>Environment variable holding the host, as the current Langfuse SDKs name it.</summary>
    public const string BaseUrlVariable = "LANGFUSE_BASE_URL";

    /// <summary>Environment variable holding the host, as older Langfuse SDKs name it; used when <see cref="BaseUrlVariable"/> is unset.</summary>
    public const string HostVariable = "LANGFUSE_HOST";

    /// <summary>Environment variable holding the tracing environment.</summary>
    public const string EnvironmentVariable = "LANGFUSE_TRACING_ENVIRONMENT";

    /// <summary>Environment variable holding the release.</summary>
    public const string ReleaseVariable = "LANGFUSE_RELEASE";

    /// <summary>
    /// The Langfuse base address, e.g. <see cref="EuCloudHost"/> (<c>https://cloud.langfuse.com</c>),
    /// <see cref="UsCloudHost"/> (<c>https://us.cloud.langfuse.com</c>) or a self-hosted <c>https://langfuse.example.com</c>
    /// (a path prefix is kept). Spans go to <c>{Host}/api/public/otel/v1/traces</c>. Default: <see cref="EuCloudHost"/>.
    /// An empty value (an appsettings.json placeholder) means not set: the environment variable, else the default.
    /// </summary>
    public string Host
    {
        get => _host ?? EuCloudHost;
        set => _host = Blank(value);
    }

    /// <summary>
    /// The project's public key (<c>pk-lf-…</c>), the user name of Basic auth. Required. An empty value means not set
    /// (<c>LANGFUSE_PUBLIC_KEY</c> fills it in).
    /// </summary>
    public string? PublicKey
    {
        get => _publicKey;
        set => _publicKey = Blank(value);
    }

    /// <summary>
    /// The project's secret key (<c>sk-lf-…</c>), the password of Basic auth. Required. An empty value means not set
    /// (<c>LANGFUSE_SECRET_KEY</c> fills it in).
    /// </summary>
    public string? SecretKey
    {
        get => _secretKey;
        set => _secretKey = Blank(value);
    }

    private string? _host;
    private string? _publicKey;
    private string? _secretKey;
    private string? _environment;
    private string? _release;

    /// <summary>
    /// The Langfuse environment (<c>langfuse.environment</c>): lower-case letters, digits, <c>-</c> and <c>_</c>, at most
    /// 40 characters, not starting with <c>langfuse</c>. When null, each payload's <c>environment</c> is used, adjusted
    /// to those rules. An empty value means not set. Default: null.
    /// </summary>
    public string? Environment
    {
        get => _environment;
        set => _environment = Blank(value);
    }

    /// <summary>The release of your application (<c>langfuse.release</c>), e.g. a version or commit. An empty value means not set. Default: null.</summary>
    public string? Release
    {
        get => _release;
        set => _release = Blank(value);
    }

    /// <summary>How long one HTTP attempt may take before it is cancelled and retried. Default: 10 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Retries of one request on 408, 429, 5xx and network errors, with exponential backoff and jitter, waiting as long
    /// as a <c>Retry-After</c> header says. When they are spent the batch goes back to the dispatcher, which retries it
    /// per <c>LlmSinkOptions</c>. 0 turns these retries off. Default: 3.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry delay; it doubles per retry, with jitter. At most 30 seconds. Default: 1 second.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long the circuit stays open after most requests in a minute failed (at least 10 of them): requests fail
    /// at once meanwhile and the dispatcher keeps the records for its own retries. At least 0.5 seconds. Default: 30 seconds.
    /// </summary>
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Largest uncompressed OTLP request body in bytes. A batch that would be larger is split over several requests;
    /// a single span that would be larger has its largest values (input, output, …) truncated with a marker, never
    /// dropped. Langfuse logs a warning above 16 MiB and many proxies limit bodies, so the default stays well below.
    /// At least 16 KiB. Default: 4 MiB.
    /// </summary>
    public int MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Whether the request messages and the output (text, tool calls) are sent as the generation's input and output.
    /// When false only metadata, usage and cost are sent. Default: true.
    /// </summary>
    public bool IncludeInputOutput { get; set; } = true;

    /// <summary>The address spans are posted to: <see cref="Host"/> followed by <see cref="TracesPath"/>.</summary>
    public Uri GetTracesEndpoint() => new(Host.TrimEnd('/') + TracesPath, UriKind.Absolute);

    /// <summary>Describes every invalid setting; empty when the options are valid.</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Host)
            || !Uri.TryCreate(Host, UriKind.Absolute, out var host)
            || (host.Scheme != Uri.UriSchemeHttps && host.Scheme != Uri.UriSchemeHttp)
            || !string.IsNullOrEmpty(host.Query))
        {
            errors.Add($"Langfuse Host '{Host}' is not an absolute http(s) address without a query, e.g. {EuCloudHost} (EU) or {UsCloudHost} (US); set {BaseUrlVariable} or the Host setting.");
        }
        if (string.IsNullOrWhiteSpace(PublicKey))
        {
            errors.Add($"Langfuse PublicKey is missing: set the {PublicKeyVariable} environment variable or the PublicKey setting (configuration section or AddLangfuseSink(o => o.PublicKey = ...)).");
        }
        else if (PublicKey.StartsWith("sk-lf-", StringComparison.Ordinal))
        {
            errors.Add($"Langfuse PublicKey starts with 'sk-lf-', which is a secret key: are {PublicKeyVariable} and {SecretKeyVariable} swapped?");
        }
        if (string.IsNullOrWhiteSpace(SecretKey))
        {
            errors.Add($"Langfuse SecretKey is missing: set the {SecretKeyVariable} environment variable or the SecretKey setting (configuration section or AddLangfuseSink(o => o.SecretKey = ...)).");
        }
        if (Environment is not null && !IsValidEnvironment(Environment))
        {
            errors.Add($"Langfuse Environment '{Environment}' must be 1-40 lower-case letters, digits, '-' or '_' and must not start with 'langfuse'.");
        }
        SinkResilience.Validate(errors, MaxRetries, RetryBaseDelay, CircuitBreakDuration, Timeout);
        if (MaxRequestBytes < 16 * 1024) errors.Add($"MaxRequestBytes must be at least 16384 (was {MaxRequestBytes}).");
        return errors;
    }

    /// <summary>Whether <paramref name="environment"/> is a valid Langfuse environment name.</summary>
    public static bool IsValidEnvironment(string environment) =>
        environment.Length is > 0 and <= 40 && EnvironmentPattern().IsMatch(environment);

    /// <summary>
    /// Sets values from the <c>LANGFUSE_*</c> environment variables read by <paramref name="read"/>: every value a
    /// variable gives, or, with <paramref name="onlyWhereUnset"/>, only those the options leave unset (null or empty).
    /// </summary>
    internal void ApplyEnvironmentVariables(Func<string, string?> read, bool onlyWhereUnset = false)
    {
        if ((!onlyWhereUnset || _publicKey is null) && Blank(read(PublicKeyVariable)) is { } publicKey) PublicKey = publicKey;
        if ((!onlyWhereUnset || _secretKey is null) && Blank(read(SecretKeyVariable)) is { } secretKey) SecretKey = secretKey;
        if ((!onlyWhereUnset || _host is null) && (Blank(read(BaseUrlVariable)) ?? Blank(read(HostVariable))) is { } host) Host = host;
        if ((!onlyWhereUnset || _environment is null) && Blank(read(EnvironmentVariable)) is { } environment) Environment = environment;
        if ((!onlyWhereUnset || _release is null) && Blank(read(ReleaseVariable)) is { } release) Release = release;
    }

    /// <summary>Null for a missing or blank value, else the value trimmed: configuration placeholders (<c>""</c>) mean "not set".</summary>
    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    [GeneratedRegex("^(?!langfuse)[a-z0-9-_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvironmentPattern();
}
