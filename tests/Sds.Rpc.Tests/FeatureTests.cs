using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Reflection.V1;
using Sds.Rpc.Tests.Echo;
using Sds.Rpc.Tests.Support;

namespace Sds.Rpc.Tests;

/// <summary>
/// Proves the server-side features integrators rely on: health, reflection, bearer auth, interceptors, TLS with
/// ALPN h2, and W3C trace context that makes the server span a child of the client span.
/// </summary>
public sealed class FeatureTests
{
    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(30);

    [Fact]
    public async Task Health_check_is_serving_and_watch_sees_changes()
    {
        await using var fixture = await TestServer.StartAsync();
        var health = new Grpc.Health.V1.Health.HealthClient(fixture.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "sds.test.v1.Echo" }, deadline: Deadline())).Status);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await health.CheckAsync(new HealthCheckRequest { Service = "nope" }, deadline: Deadline()));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        using var watch = health.Watch(new HealthCheckRequest { Service = "sds.test.v1.Echo" }, deadline: Deadline());
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
        fixture.Server.Health.SetStatus("sds.test.v1.Echo", HealthCheckResponse.Types.ServingStatus.NotServing);
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task Reflection_lists_services_and_serves_files_by_symbol_and_name()
    {
        await using var fixture = await TestServer.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Channel);
        using var call = reflection.ServerReflectionInfo(deadline: Deadline());
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("sds.test.v1.Echo", names);
        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("grpc.reflection.v1.ServerReflection", names);
        Assert.Contains("grpc.reflection.v1alpha.ServerReflection", names);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "sds.test.v1.EchoRequest" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var file = Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto[0]);
        Assert.Equal("echo.proto", file.Name);
        Assert.Contains(file.Service, s => s.Name == "Echo");

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Single(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);

        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "no.Such" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal((int)StatusCode.NotFound, call.ResponseStream.Current.ErrorResponse.ErrorCode);
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    [Fact]
    public async Task Bearer_token_is_required_for_services_but_not_for_health()
    {
        await using var fixture = await TestServer.StartAsync(options => options.BearerToken = "s3cret");
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.UnaryAsync(new EchoRequest(), deadline: Deadline()));
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);

        var wrongHeaders = new Metadata { { "authorization", "Bearer wrong" } };
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.UnaryAsync(new EchoRequest(), wrongHeaders, Deadline()));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);

        using var authorized = GrpcChannel.ForAddress(fixture.Server.Addresses[0].ToString(), new GrpcChannelOptions { BearerToken = "s3cret" });
        Assert.Equal("in", (await new Echo.Echo.EchoClient(authorized).UnaryAsync(new EchoRequest { Text = "in" }, deadline: Deadline())).Text);

        var health = new Grpc.Health.V1.Health.HealthClient(fixture.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest(), deadline: Deadline())).Status);
    }

    [Fact]
    public async Task Interceptors_wrap_handlers_in_order()
    {
        var log = new List<string>();
        await using var fixture = await TestServer.StartAsync(options =>
        {
            options.Interceptors.Add(new RecordingInterceptor("outer", log));
            options.Interceptors.Add(new RecordingInterceptor("inner", log));
        });
        using var call = fixture.Client.UnaryAsync(new EchoRequest { Text = "x" }, deadline: Deadline());
        await call;
        Assert.Equal(["outer", "inner"], log);
        // The inner interceptor finishes first, so its trailer comes first.
        Assert.Equal(["inner", "outer"], call.GetTrailers().GetAll("x-intercepted-by").Select(e => e.Value));
    }

    [Fact]
    public async Task Tls_with_alpn_h2_works()
    {
        using var certificate = CreateSelfSignedCertificate();
        var channelOptions = new GrpcChannelOptions
        {
            RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
        };
        await using var server = new GrpcServer(new GrpcServerOptions { Endpoints = { "127.0.0.1:0" }, Certificate = certificate });
        server.AddService(Echo.Echo.BindService(new EchoService()));
        await server.StartAsync();
        Assert.Equal("https", server.Addresses[0].Scheme);
        using var channel = GrpcChannel.ForAddress(server.Addresses[0], channelOptions);
        var client = new Echo.Echo.EchoClient(channel);
        Assert.Equal("secure", (await client.UnaryAsync(new EchoRequest { Text = "secure" }, deadline: Deadline())).Text);
        using var call = client.Bidi(deadline: Deadline());
        await call.RequestStream.WriteAsync(new EchoRequest { Text = "stream" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
    }

    [Fact]
    public async Task Server_span_is_a_child_of_the_client_span()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Sds.Rpc" || source.Name == "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("test");
        await using var fixture = await TestServer.StartAsync();

        ActivityTraceId traceId;
        using (var root = source.StartActivity("gateway-command"))
        {
            Assert.NotNull(root);
            traceId = root.TraceId;
            await fixture.Client.UnaryAsync(new EchoRequest { Text = "traced" }, deadline: Deadline());
            Assert.Same(root, Activity.Current);
        }

        Activity client, server;
        lock (stopped)
        {
            client = stopped.Single(a => a.Kind == ActivityKind.Client && a.TraceId == traceId && a.OperationName == "/sds.test.v1.Echo/Unary");
            server = stopped.Single(a => a.Kind == ActivityKind.Server && a.TraceId == traceId && a.OperationName == "/sds.test.v1.Echo/Unary");
        }

        Assert.Equal(client.TraceId, server.TraceId);
        Assert.Equal(client.SpanId, server.ParentSpanId);
        Assert.Equal(client.Id, fixture.Echo.LastTraceParent);
    }

    [Fact]
    public async Task Call_durations_are_recorded_per_method_and_status_on_both_sides()
    {
        var seen = new List<(string Instrument, string? Method, int Code)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == "Sds.Rpc")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) =>
        {
            string? method = null;
            var code = -1;
            foreach (var tag in tags)
            {
                if (tag.Key == "rpc.method")
                {
                    method = (string?)tag.Value;
                }
                else if (tag.Key == "rpc.grpc.status_code")
                {
                    code = (int)tag.Value!;
                }
            }

            lock (seen)
            {
                seen.Add((instrument.Name, method, code));
            }
        });
        listener.Start();
        await using var fixture = await TestServer.StartAsync();
        // DATA_LOSS is used by no other test, so these measurements are this test's own.
        await Assert.ThrowsAsync<RpcException>(async () => await fixture.Client.UnaryAsync(new EchoRequest { FailCode = (int)StatusCode.DataLoss }, deadline: Deadline()));

        lock (seen)
        {
            Assert.Contains(("rpc.client.duration", "/sds.test.v1.Echo/Unary", (int)StatusCode.DataLoss), seen);
            Assert.Contains(("rpc.server.duration", "/sds.test.v1.Echo/Unary", (int)StatusCode.DataLoss), seen);
        }
    }

    [Fact]
    public async Task Server_streaming_with_zero_messages_and_ok_status()
    {
        await using var fixture = await TestServer.StartAsync();
        using var call = fixture.Client.ServerStream(new EchoRequest { Repeat = 0 }, deadline: Deadline());
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task Propagation_token_carries_the_deadline_to_a_child_call()
    {
        await using var fixture = await TestServer.StartAsync();
        var parentDeadline = DateTime.UtcNow.AddMilliseconds(300);
        var token = new ServerCallContextStub(parentDeadline).CreatePropagationToken();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Client.UnaryAsync(new EchoRequest { DelayMs = 10_000 }, new CallOptions(deadline: Deadline(), propagationToken: token)));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
    }

    private static X509Certificate2 CreateSelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Kestrel needs a certificate whose private key survives export on Linux.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    private sealed class RecordingInterceptor(string name, List<string> log) : Interceptor
    {
        public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            lock (log)
            {
                log.Add(name);
            }

            var response = await continuation(request, context);
            context.ResponseTrailers.Add("x-intercepted-by", name);
            return response;
        }
    }

    /// <summary>A minimal server context: only the deadline matters to the propagation test.</summary>
    private sealed class ServerCallContextStub(DateTime deadline) : ServerCallContext
    {
        protected override string MethodCore => "/stub/Stub";

        protected override string HostCore => "stub";

        protected override string PeerCore => "stub";

        protected override DateTime DeadlineCore => deadline;

        protected override Metadata RequestHeadersCore => Metadata.Empty;

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = new();

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore => new(null, []);

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => new Sds.Rpc.Server.ServerPropagationToken(deadline, CancellationToken.None);
    }
}
