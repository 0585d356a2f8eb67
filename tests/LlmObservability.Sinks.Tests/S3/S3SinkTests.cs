using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using LlmObservability.DependencyInjection;
using LlmObservability.Dispatch;
using LlmObservability.Payload;
using LlmObservability.S3;
using LlmObservability.Sinks.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LlmObservability.Sinks.Tests.S3;

/// <summary>The S3 sink against s3rver on 127.0.0.1, read back with the AWS SDK.</summary>
public class S3SinkTests
{
    private const string Bucket = "llm-logs-test";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 15, 30, 123, TimeSpan.Zero);
    private S3rverServer _server = null!;
    private AmazonS3Client _reader = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _server = await S3rverServer.StartAsync(Bucket);
        _reader = Client(_server.ServiceUrl);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _reader.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task Each_batch_is_one_gzip_json_lines_object_under_a_date_and_hour_key()
    {
        var time = new FakeTimeProvider(Now);
        using var sink = Sink(o => o.Prefix = "gzip/llm-logs", time);
        var dispatcher = Dispatcher(sink, time, s => s.MaxBatchSize = 10);
        await using var disposal = new ClockedDisposal(dispatcher, time);
        var sent = Payloads.Many(30);

        foreach (var payload in sent) dispatcher.TryEnqueue(payload);
        await dispatcher.FlushAsync().WaitAsync(Wait);

        var objects = await ReadAsync("gzip/");
        Assert.That(objects, Has.Count.EqualTo(3), "one object per batch");
        Assert.That(objects.Select(o => o.Key), Has.All.Matches<string>(k => Regex.IsMatch(k, @"^gzip/llm-logs/2026/11/22/10/20261122T101530123Z_[0-9a-f]{32}\.jsonl\.gz$")));
        Assert.That(objects.Select(o => o.ContentType), Has.All.EqualTo("application/gzip"));
        var lines = objects.SelectMany(o => Lines(Gunzip(o.Body))).ToList();
        Assert.That(lines, Is.EquivalentTo(sent.Select(LlmPayloadJson.Serialize)), "every record once, byte for byte");
        Assert.That(dispatcher.GetStatistics().Sinks.Single().Delivered, Is.EqualTo(30));
    }

    [Test]
    public async Task Hive_layout_writes_plain_json_lines_under_dt_and_hour_partitions_from_the_clock()
    {
        var time = new FakeTimeProvider(Now);
        using var sink = Sink(o =>
        {
            o.Prefix = "/hive/";
            o.KeyLayout = S3KeyLayout.Hive;
            o.Gzip = false;
        }, time);
        var dispatcher = Dispatcher(sink, time);
        await using var disposal = new ClockedDisposal(dispatcher, time);
        var first = Payloads.Many(2);
        var second = Payloads.Many(3);

        foreach (var payload in first) dispatcher.TryEnqueue(payload);
        await dispatcher.FlushAsync().WaitAsync(Wait);
        time.Advance(TimeSpan.FromMinutes(50)); // 11:05
        foreach (var payload in second) dispatcher.TryEnqueue(payload);
        await dispatcher.FlushAsync().WaitAsync(Wait);

        var objects = await ReadAsync("hive/");
        Assert.That(objects, Has.Count.EqualTo(2));
        var early = objects.Single(o => o.Key.StartsWith("hive/dt=2026-11-22/hour=10/20261122T101530123Z_", StringComparison.Ordinal));
        var late = objects.Single(o => o.Key.StartsWith("hive/dt=2026-11-22/hour=11/20261122T110530123Z_", StringComparison.Ordinal));
        Assert.That(early.Key, Does.EndWith(".jsonl"));
        Assert.That(early.ContentType, Is.EqualTo("application/x-ndjson"));
        Assert.That(Lines(early.Body), Is.EqualTo(first.Select(LlmPayloadJson.Serialize)));
        Assert.That(Lines(late.Body), Is.EqualTo(second.Select(LlmPayloadJson.Serialize)));
    }

    [Test]
    public async Task A_batch_larger_than_MaxObjectBytes_becomes_several_objects_holding_each_record_once()
    {
        using var sink = Sink(o =>
        {
            o.Prefix = "split";
            o.MaxObjectBytes = 8 * 1024;
        });
        await using var dispatcher = Dispatcher(sink);
        var sent = Enumerable.Range(0, 20).Select(_ => Payloads.Chat(responseText: new string('x', 1500))).ToList();

        foreach (var payload in sent) dispatcher.TryEnqueue(payload);
        await dispatcher.FlushAsync().WaitAsync(Wait);

        var objects = await ReadAsync("split/");
        Assert.That(objects, Has.Count.GreaterThan(1));
        var bodies = objects.Select(o => Gunzip(o.Body)).ToList();
        Assert.That(bodies.Select(b => b.Length), Has.All.LessThanOrEqualTo(8 * 1024), "the limit is on the uncompressed object");
        Assert.That(bodies.SelectMany(Lines), Is.EquivalentTo(sent.Select(LlmPayloadJson.Serialize)));
    }

    [Test]
    public async Task A_single_record_larger_than_MaxObjectBytes_is_written_with_its_longest_text_cut_and_marked()
    {
        using var sink = Sink(o =>
        {
            o.Prefix = "truncated";
            o.MaxObjectBytes = 4096;
        });
        await using var dispatcher = Dispatcher(sink);
        var big = Payloads.Chat(responseText: new string('a', 20_000));

        dispatcher.TryEnqueue(big);
        await dispatcher.FlushAsync().WaitAsync(Wait);

        var body = Gunzip((await ReadAsync("truncated/")).Single().Body);
        Assert.That(body, Has.Length.LessThanOrEqualTo(4096));
        var record = LlmPayloadJson.Deserialize(Lines(body).Single())!;
        Assert.That(record.Id, Is.EqualTo(big.Id));
        Assert.That(record.Response!.Text, Does.Match(@"^a+…\[truncated \d+ bytes\]$"));
        Assert.That(sink.TruncatedRecords, Is.EqualTo(1));
    }

    [Test]
    public async Task An_unknown_access_key_rejects_the_records_once_without_retrying()
    {
        var logs = new CapturingLoggerProvider();
        using var sink = new S3LlmLogSink(
            new S3SinkOptions { BucketName = Bucket, Prefix = "denied", ServiceUrl = _server.ServiceUrl, ForcePathStyle = true, AccessKeyId = "NOT-A-KEY", SecretAccessKey = "x" },
            loggerFactory: logs);
        await using var dispatcher = Dispatcher(sink, logs: logs, configure: s => s.MaxBatchSize = 2);

        foreach (var payload in Payloads.Many(4)) dispatcher.TryEnqueue(payload);
        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(dispatcher.GetStatistics().Sinks.Single(), Has.Property("Rejected").EqualTo(4).And.Property("Failed").EqualTo(0));
        Assert.That(logs.Entries.Count(e => e.EventId == 10), Is.Zero, "no retries");
        var reported = logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        Assert.That(reported, Has.Count.EqualTo(1), "reported once");
        Assert.That(reported[0].Exception!.Message, Does.Contain("403").And.Contain("InvalidAccessKeyId"));
        Assert.That(await ReadAsync("denied/"), Is.Empty);
    }

    [Test]
    public async Task A_missing_bucket_rejects_the_records()
    {
        using var sink = Sink(o => o.BucketName = "no-such-bucket");
        await using var dispatcher = Dispatcher(sink);

        dispatcher.TryEnqueue(Payloads.Chat());
        await dispatcher.FlushAsync().WaitAsync(Wait);

        Assert.That(dispatcher.GetStatistics().Sinks.Single(), Has.Property("Rejected").EqualTo(1).And.Property("Failed").EqualTo(0));
    }

    [Test]
    public async Task A_batch_written_while_the_server_is_down_arrives_once_under_the_key_of_its_first_attempt()
    {
        await using var server = await S3rverServer.StartAsync(Bucket);
        using var reader = Client(server.ServiceUrl);
        await server.StopAsync();
        var time = new FakeTimeProvider(Now);
        var logs = new CapturingLoggerProvider();
        // The dispatcher's part of an outage: without the pipeline's retries, each write is one attempt.
        using var sink = new S3LlmLogSink(Options(server.ServiceUrl, o =>
        {
            o.Prefix = "outage";
            o.MaxRetries = 0;
        }), timeProvider: time, loggerFactory: logs);
        var dispatcher = Dispatcher(sink, time, s =>
        {
            s.RetryBaseDelay = TimeSpan.FromSeconds(1);
            s.RetryMaxDelay = TimeSpan.FromSeconds(1);
        }, logs);
        await using var disposal = new ClockedDisposal(dispatcher, time);
        var sent = Payloads.Many(5);

        foreach (var payload in sent) dispatcher.TryEnqueue(payload);
        var flush = dispatcher.FlushAsync();
        await logs.WaitForAsync(e => e.EventId == 10).WaitAsync(Wait);      // refused, retrying
        time.Advance(TimeSpan.FromMinutes(1));
        await logs.WaitForAsync(e => e.EventId == 10, 2).WaitAsync(Wait);   // refused again, a minute later
        await server.RestartAsync();
        time.Advance(TimeSpan.FromMinutes(1));
        await flush.WaitAsync(Wait);

        var objects = await ReadAsync("outage/", reader);
        Assert.That(objects, Has.Count.EqualTo(1));
        Assert.That(objects[0].Key, Does.StartWith("outage/2026/11/22/10/20261122T101530123Z_"), "the key chosen at the first attempt, two minutes earlier");
        Assert.That(Lines(Gunzip(objects[0].Body)), Is.EqualTo(sent.Select(LlmPayloadJson.Serialize)));
        Assert.That(dispatcher.GetStatistics().Sinks.Single(), Has.Property("Delivered").EqualTo(5).And.Property("Failed").EqualTo(0));
    }

    [Test]
    public async Task A_throttled_upload_is_retried_by_the_pipeline_through_the_factory_client_and_written_once()
    {
        var faults = new S3FaultHandler(failFirst: 2);
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddSingleton<ILoggerFactory>(logs);
        services.AddLlmObservability().AddS3Sink(o =>
        {
            ForServer(o, _server.ServiceUrl);
            o.Prefix = "throttled";
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(5);
        }, s => s.BatchInterval = TimeSpan.FromHours(1));
        // The sink's own client sends through this IHttpClientFactory client; the test puts a SigV4 check and a
        // throttling handler in it (and a check with the wrong secret, to show the check can fail).
        var signatures = new SigV4Verifier(S3rverServer.AccessKey, S3rverServer.SecretKey);
        var wrongSecret = new SigV4Verifier(S3rverServer.AccessKey, "not-the-secret");
        services.AddHttpClient(S3SinkOptions.DefaultHttpClientName)
            .AddHttpMessageHandler(() => signatures)
            .AddHttpMessageHandler(() => wrongSecret)
            .AddHttpMessageHandler(() => faults);
        var sent = Payloads.Many(3);

        await using (var provider = services.BuildServiceProvider())
        {
            var dispatcher = provider.GetRequiredService<LlmLogDispatcher>();
            foreach (var payload in sent) dispatcher.TryEnqueue(payload);
            await dispatcher.FlushAsync().WaitAsync(Wait);
            Assert.That(dispatcher.GetStatistics().Sinks.Single(), Has.Property("Delivered").EqualTo(3).And.Property("Failed").EqualTo(0));
        }

        Assert.That(faults.Requests, Has.Count.EqualTo(3), "two throttled attempts, then the one s3rver accepted");
        Assert.That(faults.Requests.Select(r => r.Key).Distinct().Count(), Is.EqualTo(1), "every attempt wrote the same key");
        Assert.That(faults.Requests.Select(r => r.Length).Distinct().Single(), Is.GreaterThan(0), "each attempt sent the whole body again");
        Assert.That(signatures.Verdicts, Has.Count.EqualTo(3).And.All.Null, "every attempt carried a valid SigV4 signature over its body");
        Assert.That(wrongSecret.Verdicts, Has.Count.EqualTo(3).And.All.Contain("is not the expected"));
        var retries = logs.Entries.Where(e => e.EventId == 500).ToList();
        Assert.That(retries, Has.Count.EqualTo(2));
        Assert.That(retries[0].Message, Does.Contain("503 SlowDown"));
        Assert.That(logs.Entries.Count(e => e.EventId == 10), Is.Zero, "the dispatcher never had to retry");
        var written = (await ReadAsync("throttled/")).Single();
        Assert.That(Lines(Gunzip(written.Body)), Is.EqualTo(sent.Select(LlmPayloadJson.Serialize)));
    }

    [Test]
    public async Task Records_queued_when_the_host_stops_are_all_written_within_the_shutdown_timeout()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddLlmObservability(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20))
            .AddS3Sink(o =>
            {
                ForServer(o, _server.ServiceUrl);
                o.Prefix = "host-stop";
            }, s => s.MaxBatchSize = 15); // BatchInterval stays at the S3 default of a minute
        using var host = builder.Build();
        await host.StartAsync();
        var dispatcher = host.Services.GetRequiredService<LlmLogDispatcher>();
        var sent = Payloads.Many(40);

        foreach (var payload in sent) dispatcher.TryEnqueue(payload);
        await host.StopAsync().WaitAsync(Wait);

        var objects = await ReadAsync("host-stop/");
        var written = objects.SelectMany(o => Lines(Gunzip(o.Body))).ToList();
        Assert.That(written, Is.EquivalentTo(sent.Select(LlmPayloadJson.Serialize)), "every record once");
        Assert.That(objects, Has.Count.EqualTo(3), "batches of 15, 15 and 10");
        Assert.That(dispatcher.GetStatistics().Sinks.Single(), Has.Property("Delivered").EqualTo(40).And.Property("Dropped").EqualTo(0));
    }

    [Test]
    public async Task Options_bind_from_configuration_and_the_sink_builds_its_own_client()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["S3:BucketName"] = Bucket,
            ["S3:Prefix"] = "configured",
            ["S3:KeyLayout"] = "Hive",
            ["S3:Gzip"] = "false",
            ["S3:ServiceUrl"] = _server.ServiceUrl,
            ["S3:Region"] = "eu-west-1",
            ["S3:ForcePathStyle"] = "true",
            ["S3:AccessKeyId"] = S3rverServer.AccessKey,
            ["S3:SecretAccessKey"] = S3rverServer.SecretKey,
        }).Build();
        var services = new ServiceCollection();
        services.AddLlmObservability().AddS3Sink(configuration.GetSection("S3"));
        var signatures = new SigV4Verifier(S3rverServer.AccessKey, S3rverServer.SecretKey);
        services.AddHttpClient(S3SinkOptions.DefaultHttpClientName).AddHttpMessageHandler(() => signatures);
        var sent = Payloads.Chat();

        await using (var provider = services.BuildServiceProvider())
        {
            var dispatcher = provider.GetRequiredService<LlmLogDispatcher>();
            dispatcher.TryEnqueue(sent);
            await dispatcher.FlushAsync().WaitAsync(Wait);
            Assert.That(dispatcher.GetStatistics().Sinks.Single().Name, Is.EqualTo("s3"));
        }

        var written = (await ReadAsync("configured/")).Single();
        Assert.That(written.Key, Does.Match(@"^configured/dt=\d{4}-\d{2}-\d{2}/hour=\d{2}/\d{8}T\d{9}Z_[0-9a-f]{32}\.jsonl$"));
        Assert.That(signatures.Verdicts, Is.Not.Empty.And.All.Null, "signed for the region eu-west-1, with '=' in the key");
        Assert.That(Lines(written.Body).Single(), Is.EqualTo(LlmPayloadJson.Serialize(sent)));
    }

    [Test]
    public async Task Without_client_settings_the_container_s_IAmazonS3_is_used()
    {
        var services = new ServiceCollection();
        using var client = Client(_server.ServiceUrl);
        services.AddSingleton<IAmazonS3>(client);
        services.AddLlmObservability().AddS3Sink(o =>
        {
            o.BucketName = Bucket;
            o.Prefix = "from-container";
        });

        await using (var provider = services.BuildServiceProvider())
        {
            var dispatcher = provider.GetRequiredService<LlmLogDispatcher>();
            dispatcher.TryEnqueue(Payloads.Chat());
            await dispatcher.FlushAsync().WaitAsync(Wait);
        }

        Assert.That(await ReadAsync("from-container/"), Has.Count.EqualTo(1));
    }

    [Test]
    public void Invalid_options_fail_at_registration()
    {
        var builder = new ServiceCollection().AddLlmObservability();
        Assert.That(() => builder.AddS3Sink(_ => { }), Throws.ArgumentException.With.Message.Contains("BucketName is required"));
        Assert.That(() => builder.AddS3Sink(o =>
        {
            o.BucketName = "b";
            o.KmsKeyId = "k";
        }), Throws.ArgumentException.With.Message.Contains("KmsKeyId"));
        Assert.That(() => builder.AddS3Sink(o =>
        {
            o.BucketName = "b";
            o.AccessKeyId = "a";
        }), Throws.ArgumentException.With.Message.Contains("SecretAccessKey"));
    }

    private S3LlmLogSink Sink(Action<S3SinkOptions> configure, TimeProvider? time = null) =>
        new(Options(_server.ServiceUrl, configure), timeProvider: time);

    internal static S3SinkOptions Options(string serviceUrl, Action<S3SinkOptions>? configure = null)
    {
        var options = new S3SinkOptions();
        ForServer(options, serviceUrl);
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Points <paramref name="options"/> at the test bucket on s3rver, path-style, with its keys.</summary>
    internal static void ForServer(S3SinkOptions options, string serviceUrl)
    {
        options.BucketName = Bucket;
        options.ServiceUrl = serviceUrl;
        options.ForcePathStyle = true;
        options.AccessKeyId = S3rverServer.AccessKey;
        options.SecretAccessKey = S3rverServer.SecretKey;
    }

    internal static LlmLogDispatcher Dispatcher(S3LlmLogSink sink, TimeProvider? time = null, Action<LlmSinkOptions>? configure = null, ILoggerFactory? logs = null)
    {
        var options = new LlmSinkOptions
        {
            BatchInterval = TimeSpan.FromHours(1), // batches go on FlushAsync
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
            RetryMaxDelay = TimeSpan.FromMilliseconds(50),
            MaxRetries = 20,
        };
        configure?.Invoke(options);
        return new LlmLogDispatcher([new LlmSinkRegistration(sink, options)], timeProvider: time, loggerFactory: logs);
    }

    internal static AmazonS3Client Client(string serviceUrl, string accessKey = S3rverServer.AccessKey) => new(
        new BasicAWSCredentials(accessKey, S3rverServer.SecretKey),
        new AmazonS3Config
        {
            ServiceURL = serviceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });

    private Task<List<StoredObject>> ReadAsync(string prefix, IAmazonS3? reader = null) => ReadAsync(reader ?? _reader, Bucket, prefix);

    internal static async Task<List<StoredObject>> ReadAsync(IAmazonS3 reader, string bucket, string prefix)
    {
        var listed = await reader.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix });
        var objects = new List<StoredObject>();
        foreach (var item in listed.S3Objects ?? [])
        {
            using var response = await reader.GetObjectAsync(bucket, item.Key);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer);
            objects.Add(new StoredObject(item.Key, buffer.ToArray(), response.Headers.ContentType, response.ServerSideEncryptionMethod?.Value, response.ServerSideEncryptionKeyManagementServiceKeyId));
        }
        return objects;
    }

    internal static byte[] Gunzip(byte[] body)
    {
        using var input = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    internal static List<string> Lines(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        Assert.That(text, Does.EndWith("\n"), "JSON lines end every line with a newline");
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries)];
    }
}

internal sealed record StoredObject(string Key, byte[] Body, string? ContentType, string? ServerSideEncryption, string? KmsKeyId);

/// <summary>Answers the first uploads with S3's 503 SlowDown, as S3 does under load, and passes the rest to the server.</summary>
internal sealed class S3FaultHandler(int failFirst) : DelegatingHandler
{
    private readonly Lock _gate = new();
    private int _seen;

    public List<(string Key, long? Length)> Requests { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Method != HttpMethod.Put) return await base.SendAsync(request, cancellationToken);
        int seen;
        lock (_gate)
        {
            seen = ++_seen;
        }
        if (seen > failFirst)
        {
            lock (_gate) Requests.Add((request.RequestUri!.AbsolutePath, request.Content?.Headers.ContentLength));
            return await base.SendAsync(request, cancellationToken);
        }
        // Read the body, as a server would before answering: a retry must send it whole again.
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        lock (_gate) Requests.Add((request.RequestUri!.AbsolutePath, body.Length));
        return new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable)
        {
            RequestMessage = request,
            Content = new StringContent(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>TEST</RequestId><HostId>test</HostId></Error>",
                Encoding.UTF8, "application/xml"),
        };
    }
}
