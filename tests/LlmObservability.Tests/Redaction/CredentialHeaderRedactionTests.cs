using LlmObservability.Redaction;

namespace LlmObservability.Tests.Redaction;

/// <summary>
/// The values of credential headers (Authorization, Proxy-Authorization, api-key, x-api-key, Cookie, Set-Cookie) never
/// survive redaction when they are echoed in text: as a header line (<c>Name: value</c>) or as a JSON member
/// (<c>"name":"value"</c>), e.g. in an error body that echoes the request's headers.
/// </summary>
[TestFixture]
public sealed class CredentialHeaderRedactionTests
{
    private static readonly PiiRedactor Default = new();

    private const string SessionId = "Zx8vLm2Tq9wR4yU7iO0pA3sD6fG";
    private const string SigV4Signature = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024";

    // (text, the secrets that must not survive)
    private static readonly object[] Echoes =
    [
        new object[] { $$$"""{"headers":{"cookie":"session={{{SessionId}}}"}}""", new[] { SessionId } },
        new object[] { "Cookie: JSESSIONID=8A3F9C2B7D1E4F6A0B5C8D2E7F1A3B9C", new[] { "8A3F9C2B7D1E4F6A0B5C8D2E7F1A3B9C" } },
        new object[] { """{"cookie":"sid=Qw7eRt9yUi2oPa4sDf6gHj8k"}""", new[] { "Qw7eRt9yUi2oPa4sDf6gHj8k" } },
        new object[] { $"set-cookie: __cf_bm={SessionId}; path=/; HttpOnly", new[] { SessionId } },
        new object[] { $$"""{"Set-Cookie":"__cf_bm={{SessionId}}; Path=/; Secure"}""", new[] { SessionId } },
        new object[] { $"Cookie: theme=dark; session={SessionId}; lang=en", new[] { SessionId } },
        new object[] { $"Set-Cookie: id={SessionId}; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure", new[] { SessionId } },
        new object[] { "Set-Cookie: token=\"Qw7eRt9yUi2oPa4sDf6gHj8k\"; Path=/", new[] { "Qw7eRt9yUi2oPa4sDf6gHj8k" } },
        new object[] { """{"authorization":"Bearer 9f8e7d6c5b4a3f2e1d0c"}""", new[] { "9f8e7d6c5b4a3f2e1d0c" } },
        new object[] { "Proxy-Authorization: Basic UFJPWFk6U0VDUkVUcGFzcw==", new[] { "UFJPWFk6U0VDUkVUcGFzcw==" } },
        new object[] { """{"proxy-authorization":"Basic UFJPWFk6U0VDUkVUcGFzcw=="}""", new[] { "UFJPWFk6U0VDUkVUcGFzcw==" } },
        new object[] { "api-key: 3f9a7c2e5b8d41f6a0c9e7b2d4f81a6c", new[] { "3f9a7c2e5b8d41f6a0c9e7b2d4f81a6c" } },
        new object[] { """{"api-key":"3f9a7c2e5b8d41f6a0c9e7b2d4f81a6c"}""", new[] { "3f9a7c2e5b8d41f6a0c9e7b2d4f81a6c" } },
        new object[] { "x-api-key: Kp4Rt8Wz2Ny6Qm1Vb5Xc9Lj3", new[] { "Kp4Rt8Wz2Ny6Qm1Vb5Xc9Lj3" } },
        new object[] { """{"x-api-key":"Kp4Rt8Wz2Ny6Qm1Vb5Xc9Lj3"}""", new[] { "Kp4Rt8Wz2Ny6Qm1Vb5Xc9Lj3" } },
        new object[]
        {
            $"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={SigV4Signature}",
            new[] { SigV4Signature },
        },
        new object[]
        {
            $$"""{"authorization":"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260524/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature={{SigV4Signature}}"}""",
            new[] { SigV4Signature },
        },
        new object[]
        {
            "Authorization: Digest username=\"Mufasa\", realm=\"api@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", uri=\"/v1/chat\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
            new[] { "6629fae49393a05397450978507c4ef1" },
        },
    ];

    [TestCaseSource(nameof(Echoes))]
    public void A_credential_header_value_echoed_in_text_is_redacted(string text, string[] secrets)
    {
        var redacted = Default.Redact(text);
        foreach (var secret in secrets) Assert.That(redacted, Does.Not.Contain(secret), redacted);
    }

    [TestCase("Cookie: theme=dark; session=Zx8vLm2Tq9wR4yU7iO0pA3sD6fG; lang=en", "Cookie: theme=dark; session=[SECRET_ASSIGNMENT]; lang=en")]
    [TestCase("set-cookie: __cf_bm=Zx8vLm2Tq9wR4yU7iO0pA3sD6fG; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly",
        "set-cookie: __cf_bm=[SECRET_ASSIGNMENT]; Path=/; Expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly")]
    [TestCase("""{"set-cookie":["a=Zx8vLm2Tq9wR4yU7iO0pA3sD6fG; Path=/; Secure", "b=Qw7eRt9yUi2oPa4sDf6gHj8k"]}""",
        """{"set-cookie":["a=[SECRET_ASSIGNMENT]; Path=/; Secure", "b=[SECRET_ASSIGNMENT]"]}""")]
    [TestCase("""{\"cookie\":\"sid=Qw7eRt9yUi2oPa4sDf6gHj8k\"}""", """{\"cookie\":\"sid=[SECRET_ASSIGNMENT]\"}""")]
    [TestCase("Authorization: Digest username=\"Mufasa\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", response=\"6629fae49393a05397450978507c4ef1\", qop=auth",
        "Authorization: Digest username=\"Mufasa\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", response=\"[SECRET_ASSIGNMENT]\", qop=auth")]
    [TestCase("https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=AKIA%2F&X-Amz-Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024&x=1",
        "https://bucket.s3.amazonaws.com/a.png?X-Amz-Credential=AKIA%2F&X-Amz-Signature=[SECRET_ASSIGNMENT]&x=1")]
    public void Only_the_credential_part_of_the_value_is_replaced(string text, string expected) =>
        Assert.That(Default.Redact(text), Is.EqualTo(expected));

    [TestCase("My favourite cookie: chocolate chip, then oatmeal.")]
    [TestCase("Cookie: session=<your-session-id>")]
    [TestCase("cookie=${SESSION_COOKIE} and Set-Cookie: theme=dark; Path=/")]
    [TestCase("The cookie=good one. Signature: John Smith, temperature: 0.7, structure=flat")]
    [TestCase("Authorization: Digest response=\"${RESPONSE}\"")]
    public void Text_without_a_cookie_value_or_signature_is_left_alone(string text)
    {
        Assert.That(Default.Find(text), Is.Empty);
        Assert.That(Default.Redact(text), Is.SameAs(text));
    }
}
