using System.ClientModel.Primitives;
using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// Per test: the OpenAI emulator on 127.0.0.1, the handler in front of a real <see cref="SocketsHttpHandler"/>, and a
/// collecting sink behind a real dispatcher.
/// </summary>
public abstract class EmulatorFixture
{
    internal OpenAiEmulator Server { get; private set; } = null!;
    internal CollectingSink Sink { get; private set; } = null!;
    internal LlmLogDispatcher Dispatcher { get; private set; } = null!;
    internal HttpClient Http { get; private set; } = null!;

    [SetUp]
    public async Task StartEmulatorAsync()
    {
        Server = await OpenAiEmulator.StartAsync();
        Sink = new CollectingSink();
        Dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(Sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })]);
        Http = new HttpClient(new LlmObservabilityHandler(Dispatcher) { InnerHandler = new SocketsHttpHandler() });
    }

    [TearDown]
    public async Task StopEmulatorAsync()
    {
        Http.Dispose();
        await Dispatcher.DisposeAsync();
        await Server.DisposeAsync();
    }

    /// <summary>SDK options pointing at the emulator through the observed HttpClient, without retries.</summary>
    internal T SdkOptions<T>(T options, string path = "/v1") where T : ClientPipelineOptions
    {
        options.Transport = new HttpClientPipelineTransport(Http);
        options.RetryPolicy = new ClientRetryPolicy(maxRetries: 0);
        typeof(T).GetProperty("Endpoint")!.SetValue(options, new Uri(Server.BaseUrl + path));
        return options;
    }

    internal async Task<StandardLoggingPayload> SinglePayloadAsync()
    {
        await Dispatcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(Sink.Payloads, Has.Count.EqualTo(1));
        return Sink.Payloads[0];
    }
}
