namespace Sds.Raft.Tests;

/// <summary>
/// Budgets, not timings (STYLE.md): an idle member costs no allocation per tick, so hundreds of groups per
/// process stay cheap. Measured with the current thread's allocation counter after a warm-up.
/// </summary>
public sealed class AllocationTests
{
    [Fact]
    public void IdleFollowerTicksAndHasReadyChecksAllocateNothing()
    {
        MemoryRaftLogStorage storage = new(new ConfState([1, 2, 3], []));
        RawNode node = new(new RaftConfig { Id = 2, Storage = storage, ElectionTicks = 1_000_000 });
        for (int i = 0; i < 100; i++)
        {
            node.Tick();
            _ = node.HasReady;
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10_000; i++)
        {
            node.Tick();
            Assert.False(node.HasReady);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }
}
