namespace Grpc.Core;

/// <summary>A connection (or pool of connections) to one target.</summary>
public abstract class ChannelBase
{
    /// <summary>Creates the channel.</summary>
    protected ChannelBase(string target) => Target = target;

    /// <summary>The target address.</summary>
    public string Target { get; }

    /// <summary>Creates a call invoker over this channel.</summary>
    public abstract CallInvoker CreateCallInvoker();

    /// <summary>Shuts the channel down.</summary>
    public Task ShutdownAsync() => ShutdownAsyncCore();

    /// <summary>Shutdown work of the derived channel.</summary>
    protected virtual Task ShutdownAsyncCore() => Task.CompletedTask;
}
