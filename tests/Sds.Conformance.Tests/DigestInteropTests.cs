using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sds.Conformance.Tests;

/// <summary>
/// Proves header digests interoperate with a real initiator. libiscsi offers
/// "HeaderDigest=None,CRC32C" and RFC 7143 §6.2.1 makes us pick its first choice (None), so a
/// small TCP relay between libiscsi and the real server swaps the offer to "CRC32C,None" (same
/// length): both ends then run CRC32C header digests, and libiscsi checks ours on every PDU.
/// </summary>
public class DigestInteropTests : IAsyncLifetime
{
    private SdsServer _server = null!;

    public async Task InitializeAsync() => _server = await SdsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static async Task RelayAsync(Stream from, Stream to, bool rewrite, CancellationToken token)
    {
        byte[] buffer = new byte[256 * 1024];
        byte[] offer = Encoding.ASCII.GetBytes("HeaderDigest=None,CRC32C");
        byte[] swapped = Encoding.ASCII.GetBytes("HeaderDigest=CRC32C,None");
        try
        {
            while (true)
            {
                int read = await from.ReadAsync(buffer, token);
                if (read == 0) break;
                if (rewrite)
                {
                    int at = buffer.AsSpan(0, read).IndexOf(offer);
                    if (at >= 0) swapped.CopyTo(buffer, at);
                }
                await to.WriteAsync(buffer.AsMemory(0, read), token);
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    [ToolFact("iscsi-readcapacity16", "qemu-img")]
    public async Task LibiscsiWithHeaderDigests()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int relayPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Task relay = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient initiator;
                try { initiator = await listener.AcceptTcpClientAsync(stop.Token); } catch (OperationCanceledException) { return; }
                var target = new TcpClient();
                await target.ConnectAsync("127.0.0.1", _server.Port, stop.Token);
                _ = Task.WhenAll(
                    RelayAsync(initiator.GetStream(), target.GetStream(), rewrite: true, stop.Token),
                    RelayAsync(target.GetStream(), initiator.GetStream(), rewrite: false, stop.Token))
                    .ContinueWith(_ => { initiator.Dispose(); target.Dispose(); }, TaskScheduler.Default);
            }
        });
        string url = $"iscsi://127.0.0.1:{relayPort}/iqn.2026-11.io.sds:demo/0";
        Tools.Result capacity = await Tools.RunAsync("iscsi-readcapacity16", [url], TimeSpan.FromSeconds(60));
        Assert.True(capacity.ExitCode == 0, capacity.StandardOutput + capacity.StandardError);
        Assert.Contains("Total size:1073741824", capacity.StandardOutput);

        // Data both ways under header digests: 8 MiB in and back out through QEMU.
        string directory = Path.Combine(Path.GetTempPath(), "sds-digest-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            byte[] data = new byte[8 * 1024 * 1024];
            new Random(3720).NextBytes(data);
            string source = Path.Combine(directory, "source.raw");
            string back = Path.Combine(directory, "back.raw");
            await File.WriteAllBytesAsync(source, data);
            Assert.Equal(0, (await Tools.RunAsync("qemu-img", ["convert", "-n", "-f", "raw", "-O", "raw", source, url], TimeSpan.FromMinutes(2))).ExitCode);
            Assert.Equal(0, (await Tools.RunAsync("qemu-img", ["convert", "-f", "raw", "-O", "raw", url, back], TimeSpan.FromMinutes(2))).ExitCode);
            byte[] readBack = new byte[data.Length];
            await using (FileStream stream = File.OpenRead(back)) await stream.ReadExactlyAsync(readBack);
            Assert.Equal(data, readBack);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
            stop.Cancel();
            listener.Stop();
            await relay;
        }
        Assert.Contains("HeaderDigest=CRC32C", _server.Output);
    }
}
