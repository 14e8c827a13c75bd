namespace Grpc.Core;

/// <summary>Base of generated clients.</summary>
public abstract class ClientBase
{
    private readonly ClientBaseConfiguration configuration;

    /// <summary>For mocking.</summary>
    protected ClientBase() : this(new UnimplementedCallInvoker())
    {
    }

    /// <summary>Creates a client over a channel.</summary>
    protected ClientBase(ChannelBase channel) : this(channel.CreateCallInvoker())
    {
    }

    /// <summary>Creates a client over a call invoker.</summary>
    protected ClientBase(CallInvoker callInvoker) : this(new ClientBaseConfiguration(callInvoker, null))
    {
    }

    /// <summary>Creates a client from a configuration.</summary>
    protected ClientBase(ClientBaseConfiguration configuration)
    {
        this.configuration = configuration ?? throw new ArgumentNullException(nameof(configuration));
        CallInvoker = configuration.CreateDecoratedCallInvoker();
    }

    /// <summary>The invoker every call goes through.</summary>
    protected CallInvoker CallInvoker { get; }

    /// <summary>The configuration this client was made from.</summary>
    internal ClientBaseConfiguration Configuration => configuration;

    /// <summary>How a client is built: a call invoker and an optional host override.</summary>
    protected internal class ClientBaseConfiguration
    {
        internal ClientBaseConfiguration(CallInvoker callInvoker, string? host)
        {
            UnderlyingCallInvoker = callInvoker ?? throw new ArgumentNullException(nameof(callInvoker));
            Host = host;
        }

        internal CallInvoker UnderlyingCallInvoker { get; }

        internal string? Host { get; }

        internal CallInvoker CreateDecoratedCallInvoker() => UnderlyingCallInvoker;

        internal ClientBaseConfiguration WithHost(string host) => new(UnderlyingCallInvoker, host);
    }

    /// <summary>Answers every call with UNIMPLEMENTED; backs the parameterless constructor used by mocks.</summary>
    private sealed class UnimplementedCallInvoker : CallInvoker
    {
        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => throw Unimplemented();

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => throw Unimplemented();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) => throw Unimplemented();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) => throw Unimplemented();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) => throw Unimplemented();

        private static RpcException Unimplemented() => new(new Status(StatusCode.Unimplemented, "No call invoker."));
    }
}
