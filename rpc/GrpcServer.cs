using System.Net;
using System.Reflection;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sds.Rpc.Health;
using Sds.Rpc.Reflection;
using Sds.Rpc.Server;
using HealthStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Sds.Rpc;

/// <summary>
/// A gRPC server on Kestrel (HTTP/2 only, h2c or TLS). Add services, start, stop:
/// <code>
/// await using var server = new GrpcServer(new GrpcServerOptions { Endpoints = { "127.0.0.1:7070" } });
/// server.AddService(Management.BindService(impl));
/// await server.StartAsync(ct);
/// </code>
/// Health (<c>grpc.health.v1</c>) and reflection (<c>grpc.reflection.v1</c>, <c>v1alpha</c>) are always served.
/// </summary>
public sealed class GrpcServer : IAsyncDisposable
{
    private readonly GrpcServerOptions options;
    private readonly List<(ServerServiceDefinition Definition, ServiceDescriptor? Descriptor)> services = [];
    private readonly Lock gate = new();
    private WebApplication? app;
    private int state;

    /// <summary>Creates a server; nothing listens until <see cref="StartAsync"/>.</summary>
    public GrpcServer(GrpcServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Endpoints.Count == 0)
        {
            throw new ArgumentException("A server needs at least one endpoint.", nameof(options));
        }

        this.options = options;
    }

    /// <summary>The health service: set NOT_SERVING here while draining.</summary>
    public HealthService Health { get; } = new();

    /// <summary>The bound addresses (<c>http://127.0.0.1:54321</c>), known after <see cref="StartAsync"/>.</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    /// <summary>The port of the first endpoint, known after <see cref="StartAsync"/>.</summary>
    public int Port => Addresses.Count > 0 ? Addresses[0].Port : throw new InvalidOperationException("The server has not started.");

    /// <summary>Adds a service from its generated <c>BindService(impl)</c>; its descriptor is found for reflection.</summary>
    public void AddService(ServerServiceDefinition definition) => AddService(definition, FindDescriptor(definition));

    /// <summary>Adds a service with an explicit descriptor (null: reflection lists its name only).</summary>
    public void AddService(ServerServiceDefinition definition, ServiceDescriptor? descriptor)
    {
        ArgumentNullException.ThrowIfNull(definition);
        lock (gate)
        {
            if (state != 0)
            {
                throw new InvalidOperationException("Services are added before the server starts.");
            }

            services.Add((definition, descriptor));
        }
    }

    /// <summary>Binds the endpoints and starts serving.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            if (state != 0)
            {
                throw new InvalidOperationException("The server was already started.");
            }

            state = 1;
        }

        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var runtime = new ServerRuntime(options.MaxReceiveMessageSize, options.MaxSendMessageSize, options.EnableDetailedErrors, options.TimeProvider, loggerFactory.CreateLogger("Sds.Rpc.Server"));
        var registry = new MethodRegistry();
        var reflection = new ReflectionIndex();
        var interceptors = new List<Interceptor>(options.Interceptors);
        if (options.BearerToken is not null)
        {
            interceptors.Insert(0, new BearerTokenInterceptor(options.BearerToken));
        }

        var userBinder = new RegistryBinder(registry, runtime, interceptors);
        foreach (var (definition, descriptor) in services)
        {
            var before = registry.ServiceNames.Count;
            definition.BindService(userBinder);
            for (var i = before; i < registry.ServiceNames.Count; i++)
            {
                reflection.AddService(registry.ServiceNames[i], descriptor);
            }
        }

        // Health and reflection stay reachable without credentials, as probes and tools expect.
        var builtinBinder = new RegistryBinder(registry, runtime, []);
        Grpc.Health.V1.Health.BindService(builtinBinder, Health);
        Grpc.Reflection.V1.ServerReflection.BindService(builtinBinder, new ReflectionServiceV1(reflection));
        Grpc.Reflection.V1Alpha.ServerReflection.BindService(builtinBinder, new ReflectionServiceV1Alpha(reflection));
        reflection.AddService(Grpc.Health.V1.Health.Descriptor.FullName, Grpc.Health.V1.Health.Descriptor);
        reflection.AddService(Grpc.Reflection.V1.ServerReflection.Descriptor.FullName, Grpc.Reflection.V1.ServerReflection.Descriptor);
        reflection.AddService(Grpc.Reflection.V1Alpha.ServerReflection.Descriptor.FullName, Grpc.Reflection.V1Alpha.ServerReflection.Descriptor);
        registry.Freeze();

        var dispatcher = new GrpcDispatcher(registry, runtime);
        app = BuildHost(loggerFactory);
        app.Run(dispatcher.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // E.g. the port is taken. The server is unusable; leave nothing half-started behind.
            lock (gate)
            {
                state = 2;
            }

            await app.DisposeAsync().ConfigureAwait(false);
            app = null;
            throw;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        Addresses = addresses.Select(static a => new Uri(a)).ToArray();
        Health.SetStatus("", HealthStatus.Serving);
        foreach (var name in registry.ServiceNames)
        {
            Health.SetStatus(name, HealthStatus.Serving);
        }
    }

    /// <summary>
    /// Stops gracefully: health turns NOT_SERVING, new calls are refused, calls in flight get
    /// <see cref="GrpcServerOptions.ShutdownTimeout"/> (or until <paramref name="cancellationToken"/>) before connections are cut.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        WebApplication? running;
        lock (gate)
        {
            running = state == 1 ? app : null;
            state = 2;
        }

        if (running is null)
        {
            return;
        }

        Health.EnterShutdown();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.ShutdownTimeout);
        await running.StopAsync(timeout.Token).ConfigureAwait(false);
    }

    /// <summary>Cuts every connection at once, as a crash would (clients see UNAVAILABLE). For fault tests.</summary>
    public Task KillAsync() => StopAsync(new CancellationToken(canceled: true));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (app is not null)
        {
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private WebApplication BuildHost(ILoggerFactory loggerFactory)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Sds.Rpc" });
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddLogging();
        builder.WebHost.UseKestrelCore();
        if (options.Certificate is not null)
        {
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // gRPC streams are long-lived and idle at times; messages are bounded one by one instead.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Limits.Http2.MaxStreamsPerConnection = options.MaxConcurrentStreamsPerConnection;
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            foreach (var endpoint in options.Endpoints)
            {
                kestrel.Listen(ParseEndpoint(endpoint), listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    if (options.Certificate is not null)
                    {
                        listen.UseHttps(options.Certificate);
                    }
                });
            }
        });
        return builder.Build();
    }

    /// <summary>Parses <c>host:port</c>; "localhost" means the IPv4 loopback.</summary>
    internal static IPEndPoint ParseEndpoint(string endpoint)
    {
        var text = endpoint;
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            text = text.Substring(scheme + 3).TrimEnd('/');
        }

        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase))
        {
            text = "127.0.0.1" + text.Substring("localhost".Length);
        }

        if (!IPEndPoint.TryParse(text, out var parsed) || text.LastIndexOf(':') < 0)
        {
            throw new ArgumentException($"Endpoint '{endpoint}' is not host:port.", nameof(endpoint));
        }

        return parsed;
    }

    /// <summary>
    /// Finds the descriptor of a generated service: the handlers' target derives from the generated base class,
    /// whose [BindServiceMethod] names the static class with the <c>Descriptor</c> property.
    /// </summary>
    private static ServiceDescriptor? FindDescriptor(ServerServiceDefinition definition)
    {
        var probe = new HandlerProbe();
        definition.BindService(probe);
        for (var type = probe.TargetType; type is not null; type = type.BaseType)
        {
            var attribute = type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false);
            if (attribute is not null)
            {
                return attribute.BindType.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as ServiceDescriptor;
            }
        }

        return null;
    }

    /// <summary>Records the type of the object that implements the handlers.</summary>
    private sealed class HandlerProbe : ServiceBinderBase
    {
        public Type? TargetType { get; private set; }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler) => TargetType ??= handler?.Target?.GetType();

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler) => TargetType ??= handler?.Target?.GetType();

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler) => TargetType ??= handler?.Target?.GetType();

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler) => TargetType ??= handler?.Target?.GetType();
    }
}
