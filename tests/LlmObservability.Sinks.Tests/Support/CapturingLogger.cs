using Microsoft.Extensions.Logging;

namespace LlmObservability.Sinks.Tests.Support;

/// <summary>Keeps every log entry and lets a test wait for one that matches.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly Lock _gate = new();
    private readonly List<LogEntry> _entries = [];
    private readonly List<(Func<LogEntry, bool> Match, TaskCompletionSource<LogEntry> Signal)> _waiters = [];

    public IReadOnlyList<LogEntry> Entries
    {
        get { lock (_gate) return [.. _entries]; }
    }

    public Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match) => WaitForAsync(match, 1);

    /// <summary>Completes with the <paramref name="occurrence"/>-th entry (1-based) that matches.</summary>
    public Task<LogEntry> WaitForAsync(Func<LogEntry, bool> match, int occurrence)
    {
        lock (_gate)
        {
            var found = _entries.Where(match).Skip(occurrence - 1).FirstOrDefault();
            if (found is not null) return Task.FromResult(found);
            var seen = _entries.Count(match);
            var signal = new TaskCompletionSource<LogEntry>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((entry => match(entry) && ++seen >= occurrence, signal));
            return signal.Task;
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private void Add(LogEntry entry)
    {
        lock (_gate)
        {
            _entries.Add(entry);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(entry))
                {
                    _waiters[i].Signal.TrySetResult(entry);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
            owner.Add(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception), exception,
                values.ToDictionary(v => v.Key, v => v.Value)));
        }
    }
}

internal sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception, IReadOnlyDictionary<string, object?> Values);
