using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmObservability.Providers;

namespace LlmObservability.Tests.Capture;

/// <summary>Helpers shared by the provider adapter tests (Gemini, Ollama, Bedrock).</summary>
internal static class ProviderTestSupport
{
    /// <summary>A POST with a JSON body to <paramref name="url"/>, plus the given headers.</summary>
    public static HttpRequestMessage Post(string url, string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    /// <summary>A streamed 200 response of the given media type whose body arrives in the given chunks.</summary>
    public static HttpResponseMessage Streamed(string mediaType, Stream body)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(body) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return response;
    }

    /// <summary>An inner handler answering with <paramref name="body"/> as <paramref name="mediaType"/>, cut into chunks of <paramref name="chunkSize"/> bytes.</summary>
    public static StubHandler Chunked(byte[] body, string mediaType, int chunkSize) =>
        new((_, _) => Task.FromResult(Streamed(mediaType, new ChunkedStream([.. StubHandler.Split(body, chunkSize)]))));

    /// <summary>A whole JSON body with the given status.</summary>
    public static StubHandler Json(string json, HttpStatusCode status = HttpStatusCode.OK, Action<HttpResponseMessage>? configure = null) =>
        new((_, _) =>
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
            configure?.Invoke(response);
            return Task.FromResult(response);
        });

    /// <summary>Splits an SSE body into its events (each with its blank-line terminator), whatever the line ends.</summary>
    public static byte[][] SseEvents(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        var separator = text.Contains("\r\n\r\n", StringComparison.Ordinal) ? "\r\n\r\n" : "\n\n";
        return [.. text.Split(separator, StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + separator))];
    }

    /// <summary>The route the detector picks for a POST to <paramref name="url"/>.</summary>
    public static ProviderRoute? Detect(string url, string method = "POST")
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        return ProviderDetector.Detect(request);
    }

    public static async Task<byte[]> ReadAllAsync(Stream stream, int bufferSize)
    {
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0) output.Write(buffer, 0, read);
        return output.ToArray();
    }
}
