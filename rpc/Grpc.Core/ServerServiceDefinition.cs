namespace Grpc.Core;

/// <summary>
/// A service's methods and handlers, built by the generated <c>BindService(impl)</c>. It replays them into
/// any <see cref="ServiceBinderBase"/>, which is how a server host learns them.
/// </summary>
public class ServerServiceDefinition
{
    private readonly List<Action<ServiceBinderBase>> addMethodActions;

    private ServerServiceDefinition(List<Action<ServiceBinderBase>> addMethodActions) => this.addMethodActions = addMethodActions;

    /// <summary>Starts a builder.</summary>
    public static Builder CreateBuilder() => new();

    /// <summary>Adds every method to a binder.</summary>
    internal void BindService(ServiceBinderBase serviceBinder)
    {
        foreach (var addMethodAction in addMethodActions)
        {
            addMethodAction(serviceBinder);
        }
    }

    /// <summary>Collects methods; duplicates are a programming error.</summary>
    public class Builder
    {
        private readonly HashSet<string> fullNames = new(StringComparer.Ordinal);
        private readonly List<Action<ServiceBinderBase>> addMethodActions = [];

        /// <summary>Adds a unary method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
        {
            Remember(method);
            addMethodActions.Add(binder => binder.AddMethod(method, handler));
            return this;
        }

        /// <summary>Adds a client-streaming method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
        {
            Remember(method);
            addMethodActions.Add(binder => binder.AddMethod(method, handler));
            return this;
        }

        /// <summary>Adds a server-streaming method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
        {
            Remember(method);
            addMethodActions.Add(binder => binder.AddMethod(method, handler));
            return this;
        }

        /// <summary>Adds a bidi-streaming method.</summary>
        public Builder AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse> handler)
            where TRequest : class
            where TResponse : class
        {
            Remember(method);
            addMethodActions.Add(binder => binder.AddMethod(method, handler));
            return this;
        }

        /// <summary>Finishes the definition.</summary>
        public ServerServiceDefinition Build() => new(addMethodActions);

        private void Remember(IMethod method)
        {
            if (!fullNames.Add(method.FullName))
            {
                throw new ArgumentException($"Method {method.FullName} was added twice.");
            }
        }
    }
}
