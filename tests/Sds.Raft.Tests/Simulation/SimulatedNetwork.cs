namespace Sds.Raft.Tests.Simulation;

/// <summary>
/// The wire: an unordered bag of messages with per-message delays (so delivery order is random), and a
/// matrix of blocked directed links (partitions, including asymmetric ones). Drops and duplicates are
/// decided at delivery time by the simulator.
/// </summary>
internal sealed class SimulatedNetwork
{
    private readonly List<InFlightMessage> inFlight = [];
    private readonly bool[,] blocked;

    public SimulatedNetwork(int memberCount) => blocked = new bool[memberCount + 1, memberCount + 1];

    public int Count => inFlight.Count;

    public void Send(Message message, long deliverAtTick) => inFlight.Add(new InFlightMessage(message, deliverAtTick));

    public bool IsBlocked(ulong from, ulong to) => blocked[from, to];

    public void Block(ulong from, ulong to) => blocked[from, to] = true;

    public void HealAll() => Array.Clear(blocked);

    /// <summary>Removes and returns a random message deliverable at <paramref name="nowTick"/>; false if none.</summary>
    public bool TryTakeRandom(SplitMix64Random random, long nowTick, out Message message)
    {
        message = null!;
        if (inFlight.Count == 0)
        {
            return false;
        }

        // Probe a few random slots first (cheap), then fall back to a scan.
        for (int attempt = 0; attempt < 4; attempt++)
        {
            int slot = random.Next(inFlight.Count);
            if (inFlight[slot].DeliverAtTick <= nowTick)
            {
                message = RemoveAt(slot);
                return true;
            }
        }

        int start = random.Next(inFlight.Count);
        for (int i = 0; i < inFlight.Count; i++)
        {
            int slot = (start + i) % inFlight.Count;
            if (inFlight[slot].DeliverAtTick <= nowTick)
            {
                message = RemoveAt(slot);
                return true;
            }
        }

        return false;
    }

    private Message RemoveAt(int slot)
    {
        Message message = inFlight[slot].Message;
        inFlight[slot] = inFlight[^1];
        inFlight.RemoveAt(inFlight.Count - 1);
        return message;
    }
}
