using System.Diagnostics;

namespace LlmObservability.Benchmarks.Infrastructure;

/// <summary>
/// <see cref="LoopbackLlmServer"/> in a child process (this program with <c>--serve</c>), so that the measuring
/// process's CPU time is the client's alone: the in-process server's 50–100 µs of CPU per call is otherwise counted
/// for every client and its noise swamps differences of a few µs. The child prints its URL, and exits when its
/// standard input closes.
/// </summary>
internal sealed class OutOfProcessLlmServer : IAsyncDisposable
{
    private readonly Process _process;

    private OutOfProcessLlmServer(Process process, Uri chatUri) => (_process, ChatUri) = (process, chatUri);

    public Uri ChatUri { get; }

    public static async Task<OutOfProcessLlmServer> StartAsync()
    {
        var start = ThisProgram(ServeArgument);
        start.RedirectStandardInput = true;
        var process = Process.Start(start) ?? throw new InvalidOperationException("The server process did not start.");
        try
        {
            var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            if (line is null || !Uri.TryCreate(line, UriKind.Absolute, out var uri)) throw new InvalidOperationException($"The server process printed '{line}' instead of its URL.");
            return new OutOfProcessLlmServer(process, uri);
        }
        catch
        {
            process.Kill(entireProcessTree: true); // never leave a server behind
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// How to start this benchmark program again, as a child, with <paramref name="arguments"/> and its standard output
    /// redirected: as <c>dotnet LlmObservability.Benchmarks.dll</c> or as the app host, whichever this process is.
    /// </summary>
    public static ProcessStartInfo ThisProgram(params string[] arguments)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet") start.ArgumentList.Add(typeof(OutOfProcessLlmServer).Assembly.Location);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }

    /// <summary>The argument that makes this program serve instead of measuring.</summary>
    public const string ServeArgument = "--serve";

    /// <summary>The child's side: serve until standard input closes.</summary>
    public static async Task ServeAsync()
    {
        await using var server = await LoopbackLlmServer.StartAsync().ConfigureAwait(false);
        Console.WriteLine(server.ChatUri);
        Console.Out.Flush();
        await Console.In.ReadToEndAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(10))) _process.Kill();
        await _process.WaitForExitAsync().ConfigureAwait(false);
        _process.Dispose();
    }
}
