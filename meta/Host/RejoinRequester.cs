using Microsoft.Extensions.Logging;
using Sds.Meta.Client;
using Sds.Proto.V1;

namespace Sds.Meta.Host;

/// <summary>
/// On a member that started without a log in a multi-member group: if a leader is known but no entry arrives
/// for a few seconds (the leader ignores a wiped follower's rejections, see <see cref="MemberRejoin"/>), ask the
/// leader to re-add this member. On a brand-new cluster entries arrive within a heartbeat, so it never asks.
/// </summary>
internal static class RejoinRequester
{
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);
    private const int StuckChecksBeforeAsking = 3;
    private const int ChecksMax = 3_600;

    /// <summary>Runs until the member has a log, or the token ends; never throws for operating errors.</summary>
    public static async Task RunAsync(MetaNode node, IReadOnlyDictionary<ulong, string> peers, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        int stuck = 0;
        for (int check = 0; check < ChecksMax && !cancellationToken.IsCancellationRequested; check++)
        {
            try
            {
                await Task.Delay(CheckInterval, time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (node.LastIndex > 0)
            {
                return;
            }

            ulong leader = node.LeaderId;
            stuck = leader != 0 && leader != node.Id ? stuck + 1 : 0;
            if (stuck < StuckChecksBeforeAsking || !peers.TryGetValue(leader, out string? address))
            {
                continue;
            }

            logger.LogWarning("meta member {Id} has an empty log and leader {Leader} sends nothing it can use: asking to rejoin", node.Id, leader);
            using var client = new MetaClient([address]) { Timeout = TimeSpan.FromMinutes(2) };
            try
            {
                await client.ClusterAsync((c, h, d, t) => c.RejoinMetaMemberAsync(new RejoinMetaMemberRequest { MemberId = node.Id }, h, DateTime.UtcNow.AddMinutes(2), t), cancellationToken);
                logger.LogInformation("meta member {Id} rejoined", node.Id);
                return;
            }
            catch (Grpc.Core.RpcException exception)
            {
                logger.LogWarning("meta member {Id}: rejoin failed: {Status} {Detail}", node.Id, exception.StatusCode, exception.Status.Detail);
                stuck = 0;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
