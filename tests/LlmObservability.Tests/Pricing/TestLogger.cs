using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LlmObservability.Tests.Pricing;

/// <summary>Collects log entries in memory so tests can count them.</summary>
internal sealed class TestLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, EventId EventId, string Message, Exception? Exception)> Entries { get; } = new();

    public IReadOnlyList<string> Messages(LogLevel level) => Entries.Where(e => e.Level == level).Select(e => e.Message).ToList();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception), exception));
}
