using System.Net.Http.Headers;
using LlmObservability.Providers;

namespace LlmObservability.Capture;

/// <summary>
/// The request's and the response's headers, read when the payload is built rather than on the caller's path. The
/// handler keeps the two collections by reference (<see cref="CallRecord.RequestHeaders"/>,
/// <see cref="CallRecord.ResponseHeaders"/>); by the time the record is built the call has ended, so no inner handler
/// is still sending the request, and reading alongside the caller's own reads is safe (concurrent reads of
/// <see cref="HttpHeaders"/> are, since .NET 7). The request's headers are therefore the ones that were sent,
/// including what an inner handler set on the way (a token handler's <c>Authorization</c>).
/// </summary>
internal static class CallHeaders
{
    /// <summary>Reads and lets go of the headers the record holds: API key and attempt, then the adapter's request ID and rate limits.</summary>
    public static void Read(CallRecord record, ProviderAdapter adapter)
    {
        if (record.RequestHeaders is { } request)
        {
            record.RequestHeaders = null;
            try
            {
                (record.ApiKey, record.Attempt) = ReadRequest(request);
            }
            catch (Exception ex)
            {
                // Only if something changed them while they were read (a handler re-sending this same request).
                record.AddNote($"request headers could not be read: {ex.GetType().Name}");
            }
        }
        if (record.ResponseHeaders is { } response)
        {
            record.ResponseHeaders = null;
            try
            {
                adapter.ReadResponseHeaders(response, record);
            }
            catch (Exception ex)
            {
                record.AddNote($"response headers could not be read: {ex.GetType().Name}");
            }
        }
    }

    /// <summary>
    /// The API key and the attempt, in one pass over the request's raw headers (instead of a lookup per name, each of
    /// which finds the name's descriptor and searches the headers again). The key is a bearer token, or else the value of
    /// the first of <c>api-key</c>, <c>x-api-key</c>, <c>x-goog-api-key</c> that is there, whatever the headers' order:
    /// a slice of the header's own string; it is described (prefix and hash), never kept in the payload. The attempt is
    /// 1, or the SDK's <c>x-stainless-retry-count</c> + 1.
    /// </summary>
    public static (ReadOnlyMemory<char> ApiKey, int Attempt) ReadRequest(HttpRequestHeaders headers)
    {
        ReadOnlyMemory<char> bearer = default;
        string? apiKey = null, xApiKey = null, googleKey = null, retries = null;
        var hasBearer = false;
        foreach (var header in headers.NonValidated)
        {
            var name = header.Key;
            switch (name.Length)
            {
                case 13 when !hasBearer && name.Equals("Authorization", StringComparison.OrdinalIgnoreCase):
                    hasBearer = TryBearer(RawHeader.First(header.Value), out bearer);
                    break;
                case 7 when name.Equals("api-key", StringComparison.OrdinalIgnoreCase):
                    apiKey ??= RawHeader.First(header.Value);
                    break;
                case 9 when name.Equals("x-api-key", StringComparison.OrdinalIgnoreCase):
                    xApiKey ??= RawHeader.First(header.Value);
                    break;
                case 14 when name.Equals("x-goog-api-key", StringComparison.OrdinalIgnoreCase):
                    googleKey ??= RawHeader.First(header.Value);
                    break;
                case 23 when name.Equals("x-stainless-retry-count", StringComparison.OrdinalIgnoreCase):
                    retries ??= RawHeader.First(header.Value);
                    break;
            }
        }
        var attempt = retries is not null && int.TryParse(retries, out var retryCount) && retryCount >= 0 ? retryCount + 1 : 1;
        return (hasBearer ? bearer : (apiKey ?? xApiKey ?? googleKey).AsMemory(), attempt);
    }

    private static bool TryBearer(string? authorization, out ReadOnlyMemory<char> token)
    {
        var value = authorization.AsMemory().Trim();
        token = value.Length > 7 && value.Span.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase) && char.IsWhiteSpace(value.Span[6]) ? value[7..].TrimStart() : default;
        return !token.IsEmpty;
    }
}
