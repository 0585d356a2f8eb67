using System.Globalization;
using System.Text;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.Sinks.Http;
using LlmObservability.Sinks.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Sinks.Tests.Http;

public class HttpSinkTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Every_record_arrives_once_as_a_json_array_with_the_configured_headers()
    {
        await using var receiver = await LogReceiver.StartAsync();
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.Headers["Authorization"] = "Bearer secret-token", s => s.MaxBatchSize = 10);
        var sent = Payloads.Many(25);

        harness.Enqueue(sent);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.RecordIds(), Is.EqualTo(sent.Select(p => p.Id)), "every record once, in order");
        Assert.That(receiver.Requests, Has.Count.EqualTo(3));
        Assert.That(receiver.Requests.Select(r => r.ContentType), Has.All.EqualTo("application/json"));
        Assert.That(receiver.Requests.Select(r => r.Headers["Authorization"]), Has.All.EqualTo("Bearer secret-token"));
        Assert.That(receiver.Requests.Select(r => r.Query), Has.All.EqualTo("?key=secret-in-query"));
        // The received record is the payload in the schema's own JSON.
        Assert.That(receiver.Records[0].GetRawText(), Is.EqualTo(LlmPayloadJson.Serialize(sent[0])));
        Assert.That(harness.Statistics.Delivered, Is.EqualTo(25));
    }

    [Test]
    public async Task Ndjson_sends_one_record_per_line()
    {
        await using var receiver = await LogReceiver.StartAsync();
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.Format = HttpSinkFormat.Ndjson);
        var sent = Payloads.Many(3);

        harness.Enqueue(sent);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        var request = receiver.Requests.Single();
        Assert.That(request.ContentType, Is.EqualTo("application/x-ndjson"));
        var expected = string.Concat(sent.Select(p => LlmPayloadJson.Serialize(p) + "\n"));
        Assert.That(Encoding.UTF8.GetString(request.Body), Is.EqualTo(expected));
    }

    [Test]
    public async Task Records_sent_while_the_receiver_is_down_arrive_once_when_it_is_back()
    {
        await using var receiver = await LogReceiver.StartAsync();
        await receiver.StopAsync();
        await using var harness = HttpSinkHarness.Create(receiver.Url, sink: s =>
        {
            s.MaxBatchSize = 10;
            s.MaxRetries = 1000; // the dispatcher keeps the batch; the pipeline's open circuit spaces the attempts
        });
        var sent = Payloads.Many(25);

        harness.Enqueue(sent);
        var flush = harness.Dispatcher.FlushAsync();
        // Refused connections: each write tries 4 times (3 pipeline retries), and the circuit opens after 10 attempts.
        await harness.Logs.WaitForAsync(e => e.EventId == 501).WaitAsync(Wait);
        var attemptsWhenOpened = harness.Attempts.Attempts;
        await harness.Logs.WaitForAsync(e => e.EventId == 10, 4).WaitAsync(Wait); // the dispatcher retried while it was open
        await receiver.RestartAsync();
        await flush.WaitAsync(Wait);

        Assert.That(receiver.RecordIds(), Is.EquivalentTo(sent.Select(p => p.Id)));
        Assert.That(receiver.RecordIds(), Is.Unique);
        Assert.That(harness.Statistics, Has.Property("Delivered").EqualTo(25).And.Property("Failed").EqualTo(0));
        Assert.That(attemptsWhenOpened, Is.GreaterThanOrEqualTo(10), "the breaker samples at least 10 attempts");
        Assert.That(harness.Logs.Entries.Count(e => e.EventId == 500), Is.GreaterThanOrEqualTo(3), "the pipeline retried");
        Assert.That(harness.Logs.Entries.Count(e => e.EventId == 501), Is.EqualTo(1), "circuit opened, reported once");
        Assert.That(harness.Logs.Entries.Count(e => e.EventId == 502), Is.EqualTo(1), "and closed again");
        Assert.That(harness.Attempts.Attempts - harness.Attempts.Failures, Is.EqualTo(3), "three requests once it was back, none repeated");
    }

    [Test]
    public async Task A_500_is_retried_and_the_batch_arrives_once()
    {
        await using var receiver = await LogReceiver.StartAsync();
        receiver.Script = (n, _) => n == 1 ? new Answer(500) : null;
        await using var harness = HttpSinkHarness.Create(receiver.Url);
        var sent = Payloads.Many(4);

        harness.Enqueue(sent);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.Requests, Has.Count.EqualTo(2));
        Assert.That(receiver.RecordIds(), Is.EqualTo(sent.Select(p => p.Id)));
        Assert.That(harness.Statistics.Delivered, Is.EqualTo(4));
    }

    [Test]
    public async Task A_failure_part_way_through_a_split_batch_resends_only_what_was_not_accepted()
    {
        await using var receiver = await LogReceiver.StartAsync();
        receiver.Script = (n, _) => n == 2 ? new Answer(503) : null;
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.MaxRequestBytes = 8 * 1024);
        var sent = Enumerable.Range(0, 12).Select(_ => Payloads.Chat(responseText: new string('x', 1500))).ToList();

        harness.Enqueue(sent);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.Requests.Count, Is.GreaterThanOrEqualTo(4), "several requests, one of them refused");
        Assert.That(receiver.RecordIds(), Is.EqualTo(sent.Select(p => p.Id)), "every record once, in order: the first request is not repeated");
        Assert.That(harness.Statistics, Has.Property("Delivered").EqualTo(12).And.Property("Failed").EqualTo(0));
    }

    [TestCase("30", 30, 500, Description = "a pause of up to 30 s is waited inside the resilience pipeline")]
    [TestCase("http-date", 45, 10, Description = "a longer one goes back to the dispatcher, which is not bound by the write timeout")]
    public async Task A_429_waits_as_long_as_Retry_After_says_then_sends_once(string retryAfter, int seconds, int retryEvent)
    {
        var time = new TimerWatchingTimeProvider(new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero));
        await using var receiver = await LogReceiver.StartAsync();
        var header = retryAfter == "http-date" ? time.GetUtcNow().AddSeconds(seconds).ToString("R", CultureInfo.InvariantCulture) : retryAfter;
        receiver.Script = (n, _) => n == 1 ? new Answer(429, RetryAfter: header) : null;
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.RetryBaseDelay = TimeSpan.FromMilliseconds(100), s =>
        {
            s.RetryBaseDelay = TimeSpan.FromMilliseconds(100);
            s.RetryMaxDelay = TimeSpan.FromMinutes(2);
        }, time: time);
        var sent = Payloads.Many(3);

        var pause = time.WaitForTimerAsync(TimeSpan.FromSeconds(seconds));
        harness.Enqueue(sent);
        var flush = harness.Dispatcher.FlushAsync();
        var retrying = await harness.Logs.WaitForAsync(e => e.EventId == retryEvent).WaitAsync(Wait);
        await pause.WaitAsync(Wait);

        Assert.That(retrying.Values["Delay"], Is.EqualTo(TimeSpan.FromSeconds(seconds)), "the pause asked for, not the 100 ms backoff");
        Assert.That(receiver.Requests, Has.Count.EqualTo(1), "nothing is sent while the clock has not moved");
        time.Advance(TimeSpan.FromSeconds(seconds));
        await flush.WaitAsync(Wait);

        Assert.That(receiver.Requests, Has.Count.EqualTo(2));
        Assert.That(receiver.RecordIds(), Is.EqualTo(sent.Select(p => p.Id)));
        Assert.That(harness.Statistics, Has.Property("Delivered").EqualTo(3).And.Property("Failed").EqualTo(0));
    }

    [Test]
    public async Task A_401_rejects_without_retrying_and_is_reported_once_and_counted()
    {
        await using var receiver = await LogReceiver.StartAsync();
        receiver.Script = (_, _) => new Answer(401, Body: "invalid api key");
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.Headers["Authorization"] = "Bearer secret-token", s => s.MaxBatchSize = 2);

        harness.Enqueue(Payloads.Many(6));
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.Requests, Has.Count.EqualTo(3), "one request per batch, no retries");
        Assert.That(harness.Statistics, Has.Property("Rejected").EqualTo(6).And.Property("Failed").EqualTo(0).And.Property("Delivered").EqualTo(0));
        var errors = harness.Logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        Assert.That(errors, Has.Count.EqualTo(1), "reported once");
        Assert.That(errors[0].EventId, Is.EqualTo(12));
        Assert.That(errors[0].Exception!.Message, Does.Contain("401").And.Contain("invalid api key"));
        Assert.That(harness.Logs.Entries.Count(e => e.EventId == 13), Is.EqualTo(2), "later rejections at Debug");
        Assert.That(harness.Logs.Entries.Select(e => e.Message + e.Exception), Has.None.Contain("secret-token").And.None.Contain("secret-in-query"), "no credentials in logs");
    }

    [Test]
    public async Task A_batch_larger_than_MaxRequestBytes_is_split_into_requests_that_fit()
    {
        await using var receiver = await LogReceiver.StartAsync();
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.MaxRequestBytes = 8 * 1024);
        var sent = Enumerable.Range(0, 20).Select(i => Payloads.Chat(responseText: new string('x', 1500))).ToList();

        harness.Enqueue(sent);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.Requests, Has.Count.GreaterThan(1));
        Assert.That(receiver.Requests.Select(r => r.Body.Length), Has.All.LessThanOrEqualTo(8 * 1024));
        Assert.That(receiver.RecordIds(), Is.EqualTo(sent.Select(p => p.Id)), "every record once, in order");
        Assert.That(harness.Statistics.Delivered, Is.EqualTo(20));
    }

    [Test]
    public async Task A_413_halves_the_request_and_a_lone_record_still_refused_is_rejected_and_counted()
    {
        await using var receiver = await LogReceiver.StartAsync();
        receiver.MaxBodyBytes = 6000;
        await using var harness = HttpSinkHarness.Create(receiver.Url, sink: s => s.MaxBatchSize = 100);
        var sent = Enumerable.Range(0, 12).Select(i => Payloads.Chat(responseText: new string('y', 1500))).ToList();
        var huge = Payloads.Chat(responseText: new string('z', 10_000));
        sent.Insert(5, huge);

        harness.Enqueue(sent);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.RecordIds(), Is.EqualTo(sent.Where(p => p != huge).Select(p => p.Id)), "the rest once each, in order");
        Assert.That(harness.Statistics, Has.Property("Delivered").EqualTo(12).And.Property("Rejected").EqualTo(1).And.Property("Failed").EqualTo(0));
        Assert.That(harness.Logs.Entries.Single(e => e.EventId == 12).Exception!.Message, Does.Contain("413"));
    }

    [Test]
    public async Task A_single_record_larger_than_MaxRequestBytes_arrives_with_its_longest_text_cut_and_marked()
    {
        await using var receiver = await LogReceiver.StartAsync();
        await using var harness = HttpSinkHarness.Create(receiver.Url, o => o.MaxRequestBytes = 4096);
        var big = Payloads.Chat(responseText: new string('a', 20_000));

        harness.Enqueue([big]);
        await harness.Dispatcher.FlushAsync().WaitAsync(Wait);

        var request = receiver.Requests.Single();
        Assert.That(request.Body, Has.Length.LessThanOrEqualTo(4096));
        var record = receiver.Records.Single();
        var text = record.GetProperty("response").GetProperty("text").GetString()!;
        var match = System.Text.RegularExpressions.Regex.Match(text, @"^(a*)…\[truncated (\d+) bytes\]$");
        Assert.That(match.Success, Is.True, text);
        Assert.That(match.Groups[1].Length + int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), Is.EqualTo(20_000), "kept + cut = original");
        Assert.That(record.GetProperty("id").GetString(), Is.EqualTo(big.Id));
        Assert.That(record.GetProperty("messages")[1].GetProperty("content").GetString(), Is.EqualTo("Say hello."), "short fields untouched");
        Assert.That(big.Response!.Text, Has.Length.EqualTo(20_000), "the shared payload is not changed");
        Assert.That(harness.Statistics.Delivered, Is.EqualTo(1));
        Assert.That(harness.Logs.Entries.Count(e => e.EventId == 450), Is.EqualTo(1));
    }

    [Test]
    public async Task Records_queued_when_the_host_stops_are_all_sent_within_the_shutdown_timeout()
    {
        await using var receiver = await LogReceiver.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddLlmObservability(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20))
            .AddHttpSink(receiver.Url.ToString(), s =>
            {
                s.BatchInterval = TimeSpan.FromHours(1);
                s.MaxBatchSize = 15;
            });
        using var host = builder.Build();
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<LlmLogDispatcher>();
        var sent = Payloads.Many(40);

        foreach (var payload in sent) dispatcher.TryEnqueue(payload);
        Assert.That(receiver.Requests, Is.Empty, "nothing is due yet: the batch interval is an hour");
        await host.StopAsync().WaitAsync(Wait);

        Assert.That(receiver.RecordIds(), Is.EquivalentTo(sent.Select(p => p.Id)));
        Assert.That(receiver.RecordIds(), Is.Unique);
        Assert.That(dispatcher.GetStatistics().Sinks.Single(), Has.Property("Delivered").EqualTo(40).And.Property("Dropped").EqualTo(0));
    }

    [Test]
    public async Task Options_bind_from_configuration()
    {
        await using var receiver = await LogReceiver.StartAsync();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Http:Url"] = receiver.Url.ToString(),
            ["Http:Format"] = "Ndjson",
            ["Http:FieldNames"] = "LiteLlm",
            ["Http:Headers:X-Api-Key"] = "k-123",
            ["Http:MaxRequestBytes"] = "65536",
            ["Http:Timeout"] = "00:00:05",
            ["Http:MaxRetries"] = "0",
        }).Build();
        receiver.Script = (n, _) => n == 1 ? new Answer(500) : null;
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(logs);
        services.AddLlmObservability().AddHttpSink(configuration.GetSection("Http"), s =>
        {
            s.BatchInterval = TimeSpan.Zero;
            s.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        });
        await using var provider = services.BuildServiceProvider();
        var dispatcher = provider.GetRequiredService<LlmLogDispatcher>();

        dispatcher.TryEnqueue(Payloads.Chat());
        await dispatcher.FlushAsync().WaitAsync(Wait);

        var request = receiver.Requests[^1];
        Assert.That(request.ContentType, Is.EqualTo("application/x-ndjson"));
        Assert.That(request.Headers["X-Api-Key"], Is.EqualTo("k-123"));
        Assert.That(receiver.Records.Single().TryGetProperty("startTime", out _), Is.True, "LiteLLM field names");
        Assert.That(dispatcher.GetStatistics().Sinks.Single().Name, Is.EqualTo("http"));
        // MaxRetries 0: the pipeline did not retry the 500; the dispatcher did.
        Assert.That(logs.Entries.Count(e => e.EventId == 500), Is.Zero);
        Assert.That(logs.Entries.Count(e => e.EventId == 10), Is.EqualTo(1));
        Assert.That(receiver.Requests, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Each_HTTP_sink_gets_its_own_name_and_client_and_two_sinks_cannot_share_one()
    {
        await using var first = await LogReceiver.StartAsync();
        await using var second = await LogReceiver.StartAsync();
        var services = new ServiceCollection();
        services.AddLlmObservability()
            .AddHttpSink(first.Url.ToString(), s => s.BatchInterval = TimeSpan.Zero)
            .AddHttpSink(second.Url.ToString(), s => s.BatchInterval = TimeSpan.Zero);
        await using (var provider = services.BuildServiceProvider())
        {
            var dispatcher = provider.GetRequiredService<LlmLogDispatcher>();
            var sent = Payloads.Chat();
            dispatcher.TryEnqueue(sent);
            await dispatcher.FlushAsync().WaitAsync(Wait);

            Assert.That(dispatcher.GetStatistics().Sinks.Select(s => s.Name), Is.EqualTo(new[] { "http", "http-2" }));
            Assert.That(first.RecordIds(), Is.EqualTo(new[] { sent.Id }));
            Assert.That(second.RecordIds(), Is.EqualTo(new[] { sent.Id }));
        }

        var builder = new ServiceCollection().AddLlmObservability().AddHttpSink(o =>
        {
            o.Url = "http://127.0.0.1/";
            o.HttpClientName = "shared";
        });
        Assert.That(() => builder.AddHttpSink(o =>
        {
            o.Url = "http://127.0.0.1/";
            o.HttpClientName = "shared";
        }), Throws.ArgumentException.With.Message.Contains("'shared'"));
    }

    [Test]
    public async Task The_sink_works_over_an_HttpClient_the_caller_owns_and_a_configured_Content_Type_wins()
    {
        await using var receiver = await LogReceiver.StartAsync();
        using var client = new HttpClient();
        var options = new HttpSinkOptions { Url = receiver.Url.ToString() };
        options.Headers["Content-Type"] = "application/vnd.llm-logs+json";
        var sink = new HttpLlmLogSink(options, client);
        await using var dispatcher = new LlmLogDispatcher(sink);
        var sent = Payloads.Chat();

        dispatcher.TryEnqueue(sent);
        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(receiver.Requests.Single().ContentType, Is.EqualTo("application/vnd.llm-logs+json"));
        Assert.That(receiver.RecordIds(), Is.EqualTo(new[] { sent.Id }));
        Assert.That(sink.Url, Is.EqualTo(receiver.Url));
    }

    [Test]
    public void A_missing_or_relative_url_fails_at_registration()
    {
        var builder = new ServiceCollection().AddLlmObservability();
        Assert.That(() => builder.AddHttpSink(_ => { }), Throws.ArgumentException.With.Message.Contains("Url is required"));
        Assert.That(() => builder.AddHttpSink("/relative"), Throws.ArgumentException.With.Message.Contains("absolute"));
        Assert.That(() => builder.AddHttpSink(o => { o.Url = "http://127.0.0.1/"; o.MaxRequestBytes = 10; }), Throws.ArgumentException.With.Message.Contains("MaxRequestBytes"));
        Assert.That(() => builder.AddHttpSink(o => { o.Url = "http://127.0.0.1/"; o.MaxRetries = -1; }), Throws.ArgumentException.With.Message.Contains("MaxRetries"));
        Assert.That(() => builder.AddHttpSink(o => { o.Url = "http://127.0.0.1/"; o.RetryBaseDelay = TimeSpan.FromMinutes(5); }), Throws.ArgumentException.With.Message.Contains("RetryBaseDelay"));
    }
}
