using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>
/// Checks AWS Signature Version 4 on every request that passes, independently of the SDK that signed it: s3rver checks
/// only the header's shape and the access key, so this is what proves the signatures are right. Put it in the sink's
/// <see cref="IHttpClientFactory"/> client; it records one verdict per request and never changes what is sent.
/// </summary>
internal sealed class SigV4Verifier(string accessKey, string secretKey) : DelegatingHandler
{
    private readonly Lock _gate = new();

    /// <summary>One entry per request: null when the signature is right, otherwise what is wrong.</summary>
    public List<string?> Verdicts { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Buffers the body, so it is still sent whole afterwards.
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var verdict = Verify(request, body);
        lock (_gate) Verdicts.Add(verdict);
        return await base.SendAsync(request, cancellationToken);
    }

    private string? Verify(HttpRequestMessage request, byte[] body)
    {
        const string Scheme = "AWS4-HMAC-SHA256 ";
        var authorization = Header(request, "Authorization");
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.Ordinal)) return $"no AWS4-HMAC-SHA256 Authorization header (was '{authorization}')";
        var parts = authorization[Scheme.Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        var credential = parts["Credential"].Split('/'); // key/date/region/service/aws4_request
        if (credential[0] != accessKey) return $"signed with access key {credential[0]}";
        var signedHeaders = parts["SignedHeaders"].Split(';');
        var amzDate = Header(request, "x-amz-date");
        var payloadHash = Header(request, "x-amz-content-sha256");
        if (amzDate is null || payloadHash is null) return "x-amz-date or x-amz-content-sha256 missing";
        if (payloadHash != "UNSIGNED-PAYLOAD" && payloadHash != Hex(SHA256.HashData(body))) return "x-amz-content-sha256 does not match the body sent";

        var canonicalHeaders = new StringBuilder();
        foreach (var name in signedHeaders)
        {
            var value = name == "host" ? request.RequestUri!.Authority : Header(request, name);
            if (value is null) return $"signed header {name} not sent";
            canonicalHeaders.Append(name).Append(':').Append(string.Join(' ', value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))).Append('\n');
        }
        var uri = request.RequestUri!;
        var canonicalQuery = string.Join('&', uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => (Key: Encode(Uri.UnescapeDataString(p[0]), slash: true), Value: Encode(Uri.UnescapeDataString(p.Length > 1 ? p[1] : ""), slash: true)))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));
        var canonicalRequest = string.Join('\n',
            request.Method.Method,
            Encode(Uri.UnescapeDataString(uri.AbsolutePath), slash: false),
            canonicalQuery,
            canonicalHeaders.ToString(),
            parts["SignedHeaders"],
            payloadHash);
        var scope = string.Join('/', credential[1..]);
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + secretKey);
        foreach (var step in credential[1..]) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(step));
        var expected = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        return expected == parts["Signature"] ? null : $"signature {parts["Signature"]} is not the expected {expected}";
    }

    private static string? Header(HttpRequestMessage request, string name) =>
        request.Headers.TryGetValues(name, out var values) || (request.Content?.Headers.TryGetValues(name, out values) ?? false)
            ? string.Join(',', values!)
            : null;

    /// <summary>AWS's URI encoding: everything but unreserved characters as %XX (upper case); '/' kept in paths.</summary>
    private static string Encode(string value, bool slash)
    {
        var builder = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' || (c == '/' && !slash)) builder.Append(c);
            else builder.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
