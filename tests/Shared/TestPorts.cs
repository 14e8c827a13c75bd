using System.Net;
using System.Net.Sockets;

namespace Sds.Testing;

/// <summary>
/// Free loopback ports for test processes that must be told their port before they bind it.
/// </summary>
/// <remarks>
/// A port taken by binding port 0 comes from the kernel's ephemeral range
/// (net.ipv4.ip_local_port_range), the same range every outgoing connection's source port is
/// drawn from; with the test projects running side by side, a gRPC or iSCSI client elsewhere
/// could take that port as its source port between our release and the server's bind ("portal
/// already in use", seen in CI). Ports are therefore drawn at random below the ephemeral range,
/// where no connection is given a source port, checked bindable, and never handed out twice by
/// one process.
/// </remarks>
public static class TestPorts
{
    private static readonly HashSet<int> Handed = [];
    private static readonly (int Low, int High) Range = DrawRange();

    /// <summary>A loopback TCP port that was free a moment ago and is outside the ephemeral range.</summary>
    public static int Free()
    {
        for (int attempt = 0; attempt < 256; attempt++)
        {
            int port = Random.Shared.Next(Range.Low, Range.High);
            lock (Handed)
            {
                if (Handed.Contains(port)) continue;
            }

            if (!Bindable(port)) continue;
            lock (Handed)
            {
                if (Handed.Add(port)) return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port in {Range.Low}..{Range.High} after 256 draws");
    }

    private static bool Bindable(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    // Below the ephemeral range's low bound (32768 by default), above the well-known and the
    // commonly registered service ports; tgtd's control port must also stay at or below 32767.
    private static (int Low, int High) DrawRange()
    {
        int ephemeralLow = 32768;
        try
        {
            string[] range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(range[0]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }

        int high = Math.Min(ephemeralLow, 32768);
        return high - 12000 >= 10000 ? (high - 12000, high) : (10000, 22000);
    }
}
