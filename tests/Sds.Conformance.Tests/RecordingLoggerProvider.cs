using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sds.Conformance.Tests;

/// <summary>Collects Error and Critical log entries of an in-process server, so a test can assert there were none.</summary>
public sealed class RecordingLoggerProvider : ILoggerProvider
{
    /// <summary>Error-or-worse messages, with exception text.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Recorder(this);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    private sealed class Recorder(RecordingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Error) owner.Errors.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
