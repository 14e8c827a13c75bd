namespace Grpc.Core;

/// <summary>Adapts the closure-based call constructors to the state-based ones.</summary>
internal sealed class CallFuncs(Func<Status> status, Func<Metadata> trailers, Action dispose)
{
    public Status Status() => status();

    public Metadata Trailers() => trailers();

    public void Dispose() => dispose();
}
