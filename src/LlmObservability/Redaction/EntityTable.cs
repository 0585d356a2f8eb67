namespace LlmObservability.Redaction;

/// <summary>Built-in entities in the order of <see cref="PiiEntities.All"/>; the value is the entity's index.</summary>
internal enum EntityKind
{
    Email,
    Phone,
    CreditCard,
    Iban,
    UsSsn,
    IpAddress,
    OpenAiApiKey,
    AnthropicApiKey,
    AnthropicAdminKey,
    AwsAccessKeyId,
    AwsSecretAccessKey,
    GitHubToken,
    GoogleApiKey,
    SlackToken,
    StripeKey,
    HuggingFaceToken,
    Jwt,
    PrivateKey,
    BearerToken,
    BasicAuth,
    Password,
    SecretAssignment,
}

/// <summary>Names and overlap priorities of the built-in entities.</summary>
internal static class EntityTable
{
    public const int BuiltInCount = (int)EntityKind.SecretAssignment + 1;

    /// <summary>Priority of custom entities: above personal data, below every secret.</summary>
    public const int CustomPriority = 55;

    /// <summary>
    /// When two candidates overlap, the higher priority wins, then the longer one. Specific token formats beat the
    /// context-based secrets that may contain them (a JWT after "Bearer" is reported as JWT), secrets beat personal data
    /// (an e-mail used as the user in <c>curl -u</c> goes with the credential), and personal data is ordered by how
    /// specific its validation is.
    /// </summary>
    private static readonly int[] Priorities =
    [
        50, // Email
        30, // Phone
        44, // CreditCard
        45, // Iban
        43, // UsSsn
        40, // IpAddress
        90, // OpenAiApiKey
        92, // AnthropicApiKey
        92, // AnthropicAdminKey
        90, // AwsAccessKeyId
        85, // AwsSecretAccessKey
        90, // GitHubToken
        90, // GoogleApiKey
        90, // SlackToken
        90, // StripeKey
        90, // HuggingFaceToken
        95, // Jwt
        100, // PrivateKey
        75, // BearerToken
        80, // BasicAuth
        70, // Password
        65, // SecretAssignment
    ];

    public static int Priority(EntityKind kind) => Priorities[(int)kind];

    public static string Name(EntityKind kind) => PiiEntities.All[(int)kind];

    public static bool TryGetBuiltIn(string name, out EntityKind kind)
    {
        var all = PiiEntities.All;
        for (var i = 0; i < all.Count; i++)
        {
            if (string.Equals(all[i], name, StringComparison.Ordinal))
            {
                kind = (EntityKind)i;
                return true;
            }
        }

        kind = default;
        return false;
    }
}
