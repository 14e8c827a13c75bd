namespace Sds.Storage.Tests.Replication;

/// <summary>Lets a test hold an async-disposable in a synchronous using block.</summary>
internal static class AsyncDisposableHolder
{
    public static Holder<T> AsDisposable<T>(this T value) where T : IAsyncDisposable => new(value);

    public sealed class Holder<T>(T value) : IDisposable where T : IAsyncDisposable
    {
        public T Value { get; } = value;

        public void Dispose() => Value.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
