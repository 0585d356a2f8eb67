using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>
/// s3rver (npm) on 127.0.0.1, installed from <c>tests/s3-server</c> with <c>npm ci</c> the first time it is needed, so a
/// fresh machine with Node.js needs nothing installed by hand. It checks the shape of SigV4 requests and the access key
/// ID (<see cref="AccessKey"/>), not the signature's value (<see cref="SigV4Verifier"/> does that). It exits when its standard input closes.
/// </summary>
internal sealed partial class S3rverServer : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private readonly string _dataDirectory;
    private readonly string _buckets;
    private Process? _process;

    private S3rverServer(string dataDirectory, string buckets)
    {
        _dataDirectory = dataDirectory;
        _buckets = buckets;
    }

    public int Port { get; private set; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public static async Task<S3rverServer> StartAsync(params string[] buckets)
    {
        await EnsureInstalledAsync();
        var server = new S3rverServer(Directory.CreateTempSubdirectory("s3rver-").FullName, string.Join(',', buckets));
        await server.StartOnAsync(0);
        return server;
    }

    public async Task StopAsync()
    {
        if (_process is null) return;
        var process = _process;
        _process = null;
        process.StandardInput.Close(); // server.js closes the listener and exits
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            process.Kill();
        }
        process.Dispose();
    }

    public Task RestartAsync() => StartOnAsync(Port);

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string PackageDirectory =>
        typeof(S3rverServer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "S3ServerDirectory").Value!;

    private static async Task EnsureInstalledAsync()
    {
        await InstallGate.WaitAsync();
        try
        {
            if (File.Exists(Path.Combine(PackageDirectory, "node_modules", "s3rver", "package.json"))) return;
            var (code, output) = await RunAsync("npm", "ci --no-audit --no-fund", PackageDirectory, TimeSpan.FromMinutes(5));
            if (code != 0) Assert.Fail($"`npm ci` in {PackageDirectory} failed ({code}); Node.js and npm are needed for the S3 tests:\n{output}");
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private async Task StartOnAsync(int port)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = PackageDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("server.js");
        start.ArgumentList.Add(_dataDirectory);
        start.ArgumentList.Add(_buckets);
        start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var errors = new StringBuilder();
        process.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (line is null)
        {
            await process.WaitForExitAsync();
            lock (errors) Assert.Fail($"s3rver did not start: {errors}");
        }
        Port = JsonDocument.Parse(line!).RootElement.GetProperty("port").GetInt32();
        _process = process;
    }

    internal static async Task<(int Code, string Output)> RunAsync(string file, string arguments, string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(timeout);
        return (process.ExitCode, await stdout + await stderr);
    }
}

/// <summary>
/// moto's S3 server (Python, in the machine image) on 127.0.0.1. Unlike s3rver it implements server-side encryption:
/// it stores the encryption asked for and reports it on GET and HEAD. Stopped by killing the process it started.
/// </summary>
internal sealed partial class MotoServer : IAsyncDisposable
{
    private readonly Process _process;

    private MotoServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    public static async Task<MotoServer> StartAsync()
    {
        var start = new ProcessStartInfo("python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-m", "moto.server", "-H", "127.0.0.1", "-p", "0" }) start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("python3 did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"python3 is needed for the moto S3 server: {ex.Message}");
            throw;
        }
        // Werkzeug prints "Running on http://127.0.0.1:PORT" (on stderr) once listening.
        var port = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new StringBuilder();
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (output) output.AppendLine(line);
            var match = RunningOn().Match(line);
            if (match.Success) port.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(port.Task, exited).WaitAsync(TimeSpan.FromSeconds(60));
        if (first == exited)
        {
            lock (output) Assert.Fail($"moto did not start (pip install 'moto[server]'):\n{output}");
        }
        return new MotoServer(process, await port.Task);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"Running on http://127\.0\.0\.1:(\d+)")]
    private static partial Regex RunningOn();
}
