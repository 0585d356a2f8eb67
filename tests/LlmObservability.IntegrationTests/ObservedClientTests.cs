using LlmObservability.Dispatch;
using LlmObservability.Payload;

namespace LlmObservability.IntegrationTests;

/// <summary>
/// What every integration test needs besides its emulator: an HttpClient with the handler over a real socket handler,
/// a dispatcher that sends at once, and a sink that keeps every payload.
/// </summary>
public abstract class ObservedClientTests
{
    protected CollectingSink Sink { get; private set; } = null!;

    protected LlmLogDispatcher Dispatcher { get; private set; } = null!;

    protected HttpClient Http { get; private set; } = null!;

    /// <summary>The transport under the handler; a test class can replace it (e.g. to redirect a host name).</summary>
    protected virtual HttpMessageHandler CreateTransport() => new SocketsHttpHandler();

    [SetUp]
    public void StartClient()
    {
        Sink = new CollectingSink();
        Dispatcher = new LlmLogDispatcher([new LlmSinkRegistration(Sink, new LlmSinkOptions { BatchInterval = TimeSpan.Zero })]);
        Http = new HttpClient(new LlmObservabilityHandler(Dispatcher) { InnerHandler = CreateTransport() });
    }

    [TearDown]
    public async Task StopClientAsync()
    {
        Http.Dispose();
        await Dispatcher.DisposeAsync();
    }

    /// <summary>Flushes and returns the only payload recorded.</summary>
    protected async Task<StandardLoggingPayload> SinglePayloadAsync()
    {
        await Dispatcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(Sink.Payloads, Has.Count.EqualTo(1));
        return Sink.Payloads[0];
    }
}
