using Amazon.S3;
using Amazon.S3.Model;
using LlmObservability.Payload;
using LlmObservability.S3;
using LlmObservability.Sinks.Tests.Support;

namespace LlmObservability.Sinks.Tests.S3;

/// <summary>
/// Server-side encryption against moto, which stores the encryption a PUT asks for and reports it on GET (s3rver
/// ignores the header).
/// </summary>
public class S3EncryptionTests
{
    private const string Bucket = "llm-logs-encrypted";
    private MotoServer _moto = null!;
    private AmazonS3Client _reader = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _moto = await MotoServer.StartAsync();
        _reader = S3SinkTests.Client(_moto.ServiceUrl);
        await _reader.PutBucketAsync(new PutBucketRequest { BucketName = Bucket });
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        _reader.Dispose();
        await _moto.DisposeAsync();
    }

    [Test]
    public async Task Aes256_is_asked_for_and_stored()
    {
        var written = await WriteOneAsync("sse-s3", o => o.ServerSideEncryption = S3ServerSideEncryption.Aes256);

        Assert.That(written.Stored.ServerSideEncryption, Is.EqualTo("AES256"));
        Assert.That(S3SinkTests.Lines(S3SinkTests.Gunzip(written.Stored.Body)).Single(), Is.EqualTo(LlmPayloadJson.Serialize(written.Sent)));
    }

    [Test]
    public async Task Kms_is_asked_for_with_the_key_id()
    {
        const string keyId = "arn:aws:kms:us-east-1:123456789012:key/0f7c2a1e-1111-4c3e-9d55-7b6f1c0d2e3a";
        var written = await WriteOneAsync("sse-kms", o =>
        {
            o.ServerSideEncryption = S3ServerSideEncryption.Kms;
            o.KmsKeyId = keyId;
        });

        Assert.That(written.Stored.ServerSideEncryption, Is.EqualTo("aws:kms"));
        Assert.That(written.Stored.KmsKeyId, Is.EqualTo(keyId));
    }

    [Test]
    public async Task Without_encryption_options_no_encryption_is_asked_for()
    {
        var written = await WriteOneAsync("sse-none", _ => { });

        Assert.That(written.Stored.ServerSideEncryption, Is.Null.Or.Empty);
    }

    private async Task<(StoredObject Stored, StandardLoggingPayload Sent)> WriteOneAsync(string prefix, Action<S3SinkOptions> configure)
    {
        using var sink = new S3LlmLogSink(S3SinkTests.Options(_moto.ServiceUrl, o =>
        {
            o.BucketName = Bucket;
            o.Prefix = prefix;
            configure(o);
        }));
        await using var dispatcher = S3SinkTests.Dispatcher(sink);
        var sent = Payloads.Chat();
        dispatcher.TryEnqueue(sent);
        await dispatcher.FlushAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(dispatcher.GetStatistics().Sinks.Single().Delivered, Is.EqualTo(1));
        return ((await S3SinkTests.ReadAsync(_reader, Bucket, prefix + "/")).Single(), sent);
    }
}
