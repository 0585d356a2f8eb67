using System.Net;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Langfuse.Tests;

/// <summary>Retries, refusals, outages, size limits and shutdown, against a real HTTP receiver on 127.0.0.1.</summary>
public class DeliveryTests
{
    private LangfuseReceiver _receiver = null!;

    [SetUp]
    public async Task StartReceiver() => _receiver = await LangfuseReceiver.StartAsync();

    [TearDown]
    public async Task StopReceiver()
    {
        Assert.That(_receiver.Problems, Is.Empty, "protocol violations seen by the receiver");
        await _receiver.DisposeAsync();
    }

    [Test]
    public async Task A_429_with_Retry_After_is_retried_after_the_delay_it_asks_for_and_delivered_once()
    {
        _receiver.Enqueue(HttpStatusCode.TooManyRequests, r => r.Headers.RetryAfter = "1");
        var payload = Payloads.Success();
        await using var host = await SinkHost.StartAsync(_receiver);

        await host.SendAsync(payload);

        Assert.That(_receiver.Attempts, Is.EqualTo(2));
        Assert.That(_receiver.Spans.Single().SpanId.Hex(), Is.EqualTo(payload.SpanId));
        var retry = host.LogsOf(500).Single();
        // The backoff here starts at 5 ms: a one-second wait can only come from the Retry-After header.
        Assert.That(retry.Message, Does.Contain("HTTP 429").And.Contain("retrying in 00:00:01"));
        Assert.That(host.Sink.GetStatistics(), Is.EqualTo(new LangfuseSinkStatistics { RequestsAccepted = 1, SpansAccepted = 1 }));
        Assert.That(host.Dispatcher.GetStatistics().Sinks.Single().Delivered, Is.EqualTo(1));
    }

    [Test]
    public async Task A_Retry_After_longer_than_the_pipeline_waits_is_waited_by_the_dispatcher()
    {
        _receiver.Enqueue(HttpStatusCode.TooManyRequests, r => r.Headers.RetryAfter = "120");
        var payload = Payloads.Success();
        await using var host = await SinkHost.StartAsync(_receiver);

        await host.SendAsync(payload);

        Assert.That(_receiver.Attempts, Is.EqualTo(2));
        Assert.That(host.LogsOf(500), Is.Empty, "two minutes is more than the pipeline waits");
        // The dispatcher's backoff here starts at 5 ms and is capped at 200 ms: the cap means it took the 120 s asked for.
        var dispatcherRetry = host.Logs.GetSnapshot().Single(r => r.Id.Id == 10);
        Assert.That(dispatcherRetry.Message, Does.Contain("retrying in 00:00:00.2000000"));
        Assert.That(_receiver.Spans.Single().SpanId.Hex(), Is.EqualTo(payload.SpanId));
        Assert.That(host.Dispatcher.GetStatistics().Sinks.Single(), Has.Property("Delivered").EqualTo(1).And.Property("Failed").EqualTo(0));
    }

    [Test]
    public async Task A_500_is_retried_and_the_record_is_delivered_once()
    {
        _receiver.Enqueue(HttpStatusCode.InternalServerError);
        var payload = Payloads.Success();
        await using var host = await SinkHost.StartAsync(_receiver);

        await host.SendAsync(payload);

        Assert.That(_receiver.Attempts, Is.EqualTo(2));
        Assert.That(_receiver.Spans.Select(s => s.SpanId.Hex()), Is.EqualTo(new[] { payload.SpanId }));
        Assert.That(host.LogsOf(500).Single().Message, Does.Contain("HTTP 500"));
        Assert.That(host.Dispatcher.GetStatistics().Sinks.Single().Failed, Is.Zero);
    }

    [Test]
    public async Task A_401_is_reported_once_counted_and_not_retried()
    {
        await using var host = await SinkHost.StartAsync(_receiver, o => o.SecretKey = "sk-lf-wrong");

        await host.SendAsync(Payloads.Success(), Payloads.Success());
        await host.SendAsync(Payloads.Failure());

        // The first two may reach the sink as one batch or two, depending on when its loop wakes.
        var requests = _receiver.Attempts;
        Assert.That(requests, Is.InRange(2, 3));
        Assert.That(_receiver.Spans, Is.Empty);
        Assert.That(host.Sink.GetStatistics(), Is.EqualTo(new LangfuseSinkStatistics { RequestsRejected = requests, SpansRejected = 3, LastRejectionStatusCode = 401 }), "each request refused once, none retried");
        var reports = host.LogsOf(600);
        Assert.That(reports, Has.Count.EqualTo(1));
        Assert.That(reports[0].Level, Is.EqualTo(LogLevel.Error));
        Assert.That(reports[0].Message, Does.Contain("401").And.Contain("LANGFUSE_PUBLIC_KEY").And.Contain("LANGFUSE_SECRET_KEY").And.Contain("Invalid credentials"));
        Assert.That(reports[0].Message, Does.Not.Contain("sk-lf-wrong"), "the secret never appears in logs");
        Assert.That(host.LogsOf(601), Has.Count.EqualTo(requests - 1), "the repeats are logged at Debug");
        var dispatcher = host.Dispatcher.GetStatistics().Sinks.Single();
        Assert.That((dispatcher.Delivered, dispatcher.Rejected, dispatcher.Failed), Is.EqualTo((0L, 3L, 0L)), "refused for good: counted as rejected, not delivered, and not retried");
    }

    [Test]
    public async Task While_the_receiver_is_down_records_wait_and_each_arrives_exactly_once_when_it_is_back()
    {
        var attempts = new AttemptCounter();
        await using var host = await SinkHost.StartAsync(
            _receiver,
            o => o.MaxRetries = 1, // so that three refused connections include at least one handed back to the dispatcher
            services: s => s.AddHttpClient(LangfuseSink.HttpClientName).AddHttpMessageHandler(() => attempts));
        await _receiver.StopAsync();

        var payloads = Enumerable.Range(0, 5).Select(_ => Payloads.Success()).ToArray();
        foreach (var payload in payloads) Assert.That(host.Dispatcher.TryEnqueue(payload), Is.True);
        await attempts.WaitForFailuresAsync(3); // connection refused, more than once
        await _receiver.RestartAsync();
        await host.Dispatcher.FlushAsync();

        var received = _receiver.Spans.Select(s => s.SpanId.Hex()).ToArray();
        Assert.That(received, Is.EquivalentTo(payloads.Select(p => p.SpanId)), "every record exactly once");
        Assert.That(host.Sink.GetStatistics().RequestsFailedTransiently, Is.GreaterThanOrEqualTo(1));
        var sink = host.Dispatcher.GetStatistics().Sinks.Single();
        Assert.That((sink.Delivered, sink.Failed, sink.Dropped), Is.EqualTo((5L, 0L, 0L)));
    }

    [Test]
    public async Task A_batch_larger_than_the_request_limit_is_split_and_every_request_stays_within_it()
    {
        const int limit = 64 * 1024;
        var payloads = Enumerable.Range(0, 12).Select(_ => Payloads.WithInput(20_000)).ToArray();
        await using var host = await SinkHost.StartAsync(_receiver, o => o.MaxRequestBytes = limit, s => s.BatchInterval = TimeSpan.FromHours(1));

        await host.SendAsync(payloads);

        Assert.That(_receiver.Accepted, Has.Count.GreaterThanOrEqualTo(4));
        Assert.That(_receiver.Accepted.Select(r => r.UncompressedBytes), Has.All.LessThanOrEqualTo(limit));
        Assert.That(_receiver.Spans.Select(s => s.SpanId.Hex()), Is.EquivalentTo(payloads.Select(p => p.SpanId)));
        Assert.That(_receiver.Spans.Select(s => s.Attributes().Str("langfuse.observation.input").Length), Has.All.GreaterThan(20_000), "nothing truncated");
        var statistics = host.Sink.GetStatistics();
        Assert.That((statistics.BatchesSplit, statistics.SpansTruncated, statistics.SpansAccepted), Is.EqualTo((1L, 0L, 12L)));
    }

    [Test]
    public async Task A_single_record_larger_than_the_limit_has_its_largest_values_truncated_with_a_marker_not_dropped()
    {
        const int limit = 64 * 1024;
        var payload = Payloads.WithInput(300_000, 'é') with { Response = new() { Text = new string('o', 100_000) } };
        await using var host = await SinkHost.StartAsync(_receiver, o => o.MaxRequestBytes = limit);

        await host.SendAsync(payload);

        var request = _receiver.Accepted.Single();
        Assert.That(request.UncompressedBytes, Is.LessThanOrEqualTo(limit));
        var a = request.Spans.Single().Attributes();
        Assert.That(a.Str("langfuse.observation.input"), Does.Match(@"… \[truncated by LlmObservability\.Langfuse: \d+ bytes, first \d+ kept\]$"));
        Assert.That(a.Str("langfuse.observation.input"), Does.StartWith("[{\"role\":\"user\",\"content\":\"éééé"));
        Assert.That(a.Str("langfuse.observation.output"), Does.Contain("[truncated by LlmObservability.Langfuse"));
        Assert.That(a.Str("langfuse.observation.metadata.truncated"), Is.EqualTo("input,output"));
        Assert.That(a.Str("langfuse.observation.metadata.call_id"), Is.EqualTo(payload.Id), "the rest of the span is intact");
        Assert.That(host.Sink.GetStatistics().SpansTruncated, Is.EqualTo(1));
        Assert.That(host.LogsOf(602).Single().Message, Does.Contain(payload.Id));
    }

    [Test]
    public async Task When_one_request_of_a_split_batch_fails_the_retry_sends_only_what_did_not_arrive()
    {
        var payloads = Enumerable.Range(0, 6).Select(_ => Payloads.WithInput(4_000)).ToArray();
        _receiver.EnqueueNormal();
        _receiver.Enqueue(HttpStatusCode.InternalServerError); // the second request of the batch
        await using var host = await SinkHost.StartAsync(_receiver, o =>
        {
            o.MaxRequestBytes = 16 * 1024; // two spans per request
            o.MaxRetries = 0; // a 500 goes straight back to the dispatcher
        }, s => s.BatchInterval = TimeSpan.FromHours(1));

        await host.SendAsync(payloads);

        Assert.That(_receiver.Spans.Select(s => s.SpanId.Hex()), Is.EquivalentTo(payloads.Select(p => p.SpanId)), "every record exactly once");
        Assert.That(_receiver.Accepted, Has.Count.GreaterThanOrEqualTo(3));
        Assert.That(_receiver.Attempts, Is.EqualTo(_receiver.Accepted.Count + 1), "only the failed request was sent twice");
        Assert.That(_receiver.Accepted[0].Spans.Count(), Is.EqualTo(2), "two spans per request");
        Assert.That(host.Sink.GetStatistics().RequestsFailedTransiently, Is.EqualTo(1));
        Assert.That(host.Dispatcher.GetStatistics().Sinks.Single().Delivered, Is.EqualTo(6));
    }

    [Test]
    public async Task A_413_for_several_spans_sends_them_again_in_halves()
    {
        _receiver.Enqueue(HttpStatusCode.RequestEntityTooLarge);
        var payloads = Enumerable.Range(0, 4).Select(_ => Payloads.Success()).ToArray();
        await using var host = await SinkHost.StartAsync(_receiver, configureSink: s => s.BatchInterval = TimeSpan.FromHours(1));

        await host.SendAsync(payloads);

        Assert.That(_receiver.Accepted.Select(r => r.Spans.Count()), Is.EqualTo(new[] { 2, 2 }));
        Assert.That(_receiver.Spans.Select(s => s.SpanId.Hex()), Is.EquivalentTo(payloads.Select(p => p.SpanId)));
        Assert.That(host.Sink.GetStatistics().RequestsRejected, Is.Zero);
    }

    [Test]
    public async Task Stopping_the_host_sends_what_is_still_queued()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Langfuse:Host"] = _receiver.Host,
            ["Langfuse:PublicKey"] = LangfuseReceiver.PublicKey,
            ["Langfuse:SecretKey"] = LangfuseReceiver.SecretKey,
            ["Langfuse:Environment"] = "staging",
            ["Langfuse:Timeout"] = "00:00:05",
        }).Build();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddLlmObservability(o => o.ServiceName = "checkout-api")
            .AddLangfuseSink(configuration.GetSection("Langfuse"), s => s.BatchInterval = TimeSpan.FromHours(1)); // only shutdown can send
        using var host = builder.Build();
        await host.StartAsync();
        var payloads = Enumerable.Range(0, 3).Select(_ => Payloads.Success()).ToArray();
        foreach (var payload in payloads) Assert.That(host.Services.GetRequiredService<LlmLogDispatcher>().TryEnqueue(payload), Is.True);

        await host.StopAsync();

        Assert.That(_receiver.Spans.Select(s => s.SpanId.Hex()), Is.EquivalentTo(payloads.Select(p => p.SpanId)));
        Assert.That(_receiver.Spans.Select(s => s.Attributes().Str("langfuse.environment")), Has.All.EqualTo("staging"));
    }
}
