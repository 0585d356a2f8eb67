namespace LlmObservability.Redaction;

/// <summary>
/// Names of the entities the built-in <see cref="PiiRedactor"/> detects. The names appear in placeholders
/// (<c>[EMAIL]</c>), in <see cref="PiiMatch.Entity"/>, and as keys of the payload's <c>redaction.entities</c> counts.
/// </summary>
/// <remarks>
/// Personal data: <see cref="Email"/>, <see cref="Phone"/>, <see cref="CreditCard"/>, <see cref="Iban"/>,
/// <see cref="UsSsn"/>, <see cref="IpAddress"/>. Everything else is a secret (see <see cref="Secrets"/>).
/// Every entity is on by default; turn one off with <see cref="PiiRedactorOptions.Disable(string[])"/>.
/// </remarks>
public static class PiiEntities
{
    /// <summary><c>EMAIL</c>: an e-mail address (<c>local@domain.tld</c>, at least two domain labels, alphabetic TLD).</summary>
    public const string Email = "EMAIL";

    /// <summary>
    /// <c>PHONE</c>: a telephone number. International numbers start with <c>+</c> and hold 8 to 15 digits (E.164);
    /// national numbers hold 9 to 12 digits in separated groups such as <c>(415) 555-0132</c>, <c>090-1234-5678</c>
    /// or <c>030 1234567</c>; an unseparated run of 10 or 11 digits counts only after a word such as "phone" or "call".
    /// </summary>
    public const string Phone = "PHONE";

    /// <summary>
    /// <c>CREDIT_CARD</c>: a payment card number of 12 to 19 digits, optionally grouped with spaces or dashes, starting
    /// with 1 to 6, that passes the Luhn check.
    /// </summary>
    public const string CreditCard = "CREDIT_CARD";

    /// <summary>
    /// <c>IBAN</c>: an international bank account number in upper case, compact or grouped with single spaces, whose
    /// country is in the IBAN registry, whose length and BBAN structure match that country, and whose mod-97 check is 1.
    /// </summary>
    public const string Iban = "IBAN";

    /// <summary>
    /// <c>US_SSN</c>: a US social security number written <c>AAA-GG-SSSS</c> (dashes, spaces or dots, used consistently);
    /// nine bare digits count only after "SSN" or "social security". Area 000, 666 and 900-999, group 00, serial 0000
    /// and publicly known fake numbers (078-05-1120, 219-09-9999, 457-55-5462, 123-45-6789, repeated digits) are rejected.
    /// </summary>
    public const string UsSsn = "US_SSN";

    /// <summary>
    /// <c>IP_ADDRESS</c>: an IPv4 or IPv6 address (compressed, zone-scoped and IPv4-mapped forms included), with its
    /// CIDR prefix length when one follows; validated with <see cref="System.Net.IPAddress.TryParse(System.ReadOnlySpan{char}, out System.Net.IPAddress?)"/>.
    /// </summary>
    public const string IpAddress = "IP_ADDRESS";

    /// <summary><c>OPENAI_API_KEY</c>: an OpenAI key, <c>sk-…</c>, <c>sk-proj-…</c>, <c>sk-svcacct-…</c>, <c>sk-admin-…</c>.</summary>
    public const string OpenAiApiKey = "OPENAI_API_KEY";

    /// <summary><c>ANTHROPIC_API_KEY</c>: an Anthropic API key, <c>sk-ant-api03-…AA</c>.</summary>
    public const string AnthropicApiKey = "ANTHROPIC_API_KEY";

    /// <summary><c>ANTHROPIC_ADMIN_KEY</c>: an Anthropic admin key, <c>sk-ant-admin01-…AA</c>.</summary>
    public const string AnthropicAdminKey = "ANTHROPIC_ADMIN_KEY";

    /// <summary><c>AWS_ACCESS_KEY_ID</c>: an AWS access key ID, <c>AKIA…</c>, <c>ASIA…</c>, <c>ABIA…</c>, <c>ACCA…</c> (20 characters).</summary>
    public const string AwsAccessKeyId = "AWS_ACCESS_KEY_ID";

    /// <summary>
    /// <c>AWS_SECRET_ACCESS_KEY</c>: a 40-character AWS secret access key, recognised only where the context shows it,
    /// i.e. as the value of a key named like <c>aws_secret_access_key</c> or <c>SecretAccessKey</c>.
    /// </summary>
    public const string AwsSecretAccessKey = "AWS_SECRET_ACCESS_KEY";

    /// <summary><c>GITHUB_TOKEN</c>: a GitHub token, <c>ghp_</c>, <c>gho_</c>, <c>ghu_</c>, <c>ghs_</c>, <c>ghr_</c> or <c>github_pat_</c>.</summary>
    public const string GitHubToken = "GITHUB_TOKEN";

    /// <summary><c>GOOGLE_API_KEY</c>: a Google API key, <c>AIza</c> followed by 35 characters.</summary>
    public const string GoogleApiKey = "GOOGLE_API_KEY";

    /// <summary><c>SLACK_TOKEN</c>: a Slack token, <c>xoxb-</c>, <c>xoxp-</c>, <c>xoxa-</c>, <c>xoxe-</c>, <c>xoxo-</c>, <c>xoxr-</c>, <c>xoxs-</c>.</summary>
    public const string SlackToken = "SLACK_TOKEN";

    /// <summary><c>STRIPE_KEY</c>: a Stripe secret or restricted key, <c>sk_live_</c>, <c>sk_test_</c>, <c>rk_live_</c>, <c>rk_test_</c>.</summary>
    public const string StripeKey = "STRIPE_KEY";

    /// <summary><c>HUGGINGFACE_TOKEN</c>: a Hugging Face access token, <c>hf_</c> followed by 34 letters.</summary>
    public const string HuggingFaceToken = "HUGGINGFACE_TOKEN";

    /// <summary><c>JWT</c>: a JSON Web Token, <c>eyJ…</c>.<c>ey…</c>[.<c>signature</c>].</summary>
    public const string Jwt = "JWT";

    /// <summary><c>PRIVATE_KEY</c>: a PEM or PGP private key block, from <c>-----BEGIN … PRIVATE KEY…-----</c> to its END line.</summary>
    public const string PrivateKey = "PRIVATE_KEY";

    /// <summary><c>BEARER_TOKEN</c>: the credential after <c>Bearer</c>, e.g. in <c>Authorization: Bearer …</c>.</summary>
    public const string BearerToken = "BEARER_TOKEN";

    /// <summary>
    /// <c>BASIC_AUTH</c>: HTTP basic credentials: the base64 value after <c>Authorization: Basic</c> (it must decode to
    /// <c>user:password</c>) and the <c>user:password</c> given to <c>curl -u</c> / <c>--user</c>.
    /// </summary>
    public const string BasicAuth = "BASIC_AUTH";

    /// <summary>
    /// <c>PASSWORD</c>: the value assigned to a key named like a password (<c>password=…</c>, <c>"db_passwd": "…"</c>,
    /// <c>pwd: …</c>), and the password in a URL's <c>user:password@</c>.
    /// </summary>
    public const string Password = "PASSWORD";

    /// <summary>
    /// <c>SECRET_ASSIGNMENT</c>: the value assigned to a key named like a secret (<c>api_key: …</c>, <c>client_secret=…</c>,
    /// <c>X-Api-Token: …</c>, <c>"access_token": "…"</c>, <c>Signature=…</c>); non-Bearer, non-Basic <c>Authorization</c>
    /// credentials, including the <c>response="…"</c> hash of a Digest one; and cookie values after <c>Cookie:</c> /
    /// <c>Set-Cookie:</c> or in a <c>"cookie": "…"</c> member (values of eight characters or more).
    /// </summary>
    public const string SecretAssignment = "SECRET_ASSIGNMENT";

    /// <summary>Every built-in entity name, personal data first, then secrets.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Email, Phone, CreditCard, Iban, UsSsn, IpAddress,
        OpenAiApiKey, AnthropicApiKey, AnthropicAdminKey, AwsAccessKeyId, AwsSecretAccessKey, GitHubToken, GoogleApiKey,
        SlackToken, StripeKey, HuggingFaceToken, Jwt, PrivateKey, BearerToken, BasicAuth, Password, SecretAssignment,
    ];

    /// <summary>The built-in entity names that are secrets (credentials, keys and tokens) rather than personal data.</summary>
    public static IReadOnlyList<string> Secrets { get; } =
    [
        OpenAiApiKey, AnthropicApiKey, AnthropicAdminKey, AwsAccessKeyId, AwsSecretAccessKey, GitHubToken, GoogleApiKey,
        SlackToken, StripeKey, HuggingFaceToken, Jwt, PrivateKey, BearerToken, BasicAuth, Password, SecretAssignment,
    ];

    /// <summary>Whether <paramref name="entity"/> is one of the built-in <see cref="Secrets"/>.</summary>
    /// <param name="entity">An entity name.</param>
    /// <returns>True for a built-in secret entity; false otherwise.</returns>
    public static bool IsSecret(string entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        return EntityTable.TryGetBuiltIn(entity, out var kind) && kind >= EntityKind.OpenAiApiKey;
    }
}
