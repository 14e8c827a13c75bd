using Sds.Rpc.Tests.Support;

namespace Sds.Rpc.Tests;

/// <summary>
/// Interop, real peer → our server: Debian's python3-grpcio (the C-core gRPC implementation) calls our Kestrel
/// server with raw protobuf bytes and checks unary, every streaming shape, metadata, status, deadline,
/// cancellation, UNIMPLEMENTED, INTERNAL hygiene, oversize refusal, health and reflection (interop/client.py).
/// </summary>
public sealed class PythonClientInteropTests
{
    [Fact]
    public async Task Python_grpcio_client_passes_every_scenario_against_our_server()
    {
        Assert.True(PythonProcess.Available, "/usr/bin/python3 with python3-grpcio is required");
        await using var fixture = await TestServer.StartAsync();
        using var python = PythonProcess.Start("client.py", fixture.Server.Port.ToString());
        var exitCode = await python.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exitCode == 0, $"python client failed ({exitCode}):\n{python.Output}\n{python.Errors}");
        foreach (var scenario in new[] { "unary", "server_streaming", "client_streaming", "bidi", "metadata", "error_status", "deadline", "cancellation", "handler_exception", "unimplemented", "oversize", "health", "reflection" })
        {
            Assert.Contains("PASS " + scenario, python.Output);
        }

        // The python client cancelled a bidi call and let a deadline expire: our handler's token must have fired.
        await fixture.Echo.HandlerCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
