using Grpc.Core;
using Sds.Meta.State;
using Sds.Raft;

namespace Sds.Meta.Host;

/// <summary>
/// Re-adds a meta member that lost its data directory, on the leader. Raft (like etcd) never lowers a
/// follower's match index, so a wiped follower's rejections are ignored as stale and it would wait forever.
/// Removing and re-adding it gives it fresh progress (match 0): as a learner it is probed back to the log's
/// start, which is compacted, so it receives a snapshot; once caught up it is promoted (Raft thesis §4.2.1:
/// new members join as non-voters first). Single-server changes, one at a time (raft/README.md).
/// </summary>
/// <remarks>
/// Safety caveat (documented in docs/decisions.md): a wiped member forgot its vote and the entries it
/// acknowledged. Until it is removed it can still vote; with PreVote and leader stickiness the healthy members
/// ignore its campaigns, but a wipe is a lost replica and counts against the failure budget.
/// </remarks>
internal static class MemberRejoin
{
    private static readonly SemaphoreSlim OneAtATime = new(1, 1);

    /// <summary>Runs remove → add learner → promote for <paramref name="memberId"/>; returns an outcome (errors as values).</summary>
    public static async Task<MetaResult<CommandOutcome>> RunAsync(MetaNode node, ulong memberId, CancellationToken cancellationToken)
    {
        if (memberId == node.Id)
        {
            return Refuse(StatusCode.InvalidArgument, "the leader cannot rejoin itself");
        }

        if (!node.Membership.IsVoter(memberId) && !node.Membership.Learners.Contains(memberId) && !node.BootstrapVoters.Contains(memberId))
        {
            return Refuse(StatusCode.NotFound, $"member {memberId} is not part of the meta group");
        }

        await OneAtATime.WaitAsync(cancellationToken);
        try
        {
            if (node.Membership.IsVoter(memberId))
            {
                MetaResult<CommandOutcome> removed = await ChangeAsync(node, new ConfChange(ConfChangeType.RemoveNode, memberId), cancellationToken);
                if (removed.Status != MetaCallStatus.Ok || !removed.Value.IsOk) return removed;
            }

            if (!node.Membership.Learners.Contains(memberId))
            {
                MetaResult<CommandOutcome> added = await ChangeAsync(node, new ConfChange(ConfChangeType.AddLearner, memberId), cancellationToken);
                if (added.Status != MetaCallStatus.Ok || !added.Value.IsOk) return added;
            }

            return await ChangeAsync(node, new ConfChange(ConfChangeType.PromoteLearner, memberId), cancellationToken);
        }
        finally
        {
            OneAtATime.Release();
        }
    }

    /// <summary>Proposes one change, retrying while another is pending or the learner is not caught up (bounded by the caller's token).</summary>
    private static async Task<MetaResult<CommandOutcome>> ChangeAsync(MetaNode node, ConfChange change, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            MetaResult<CommandOutcome> result = await node.ProposeConfChangeAsync(change, cancellationToken);
            if (result.Status != MetaCallStatus.Ok || result.Value.IsOk || attempt >= 600)
            {
                return result;
            }

            await Task.Delay(100, cancellationToken); // DroppedConfChangePending or RejectedLearnerNotCaughtUp
        }
    }

    private static MetaResult<CommandOutcome> Refuse(StatusCode code, string message) => new(MetaCallStatus.Ok, CommandOutcome.Fail(code, message), 0);
}
