namespace Sds.Gateway.Scsi.Spc;

/// <summary>
/// Statuses of completed EXTENDED COPY (LID1) commands held for RECEIVE COPY RESULTS, keyed by I_T
/// nexus and LIST IDENTIFIER (SPC-4 r37 §6.19.3). Bounded; an entry is handed out once.
/// </summary>
internal sealed class CopyStatusTable
{
    /// <summary>One held status.</summary>
    /// <param name="SegmentsProcessed">SEGMENTS PROCESSED.</param>
    /// <param name="TransferredBytes">Bytes written to copy targets.</param>
    internal readonly record struct Entry(ushort SegmentsProcessed, ulong TransferredBytes);

    private readonly Lock _gate = new();
    private readonly List<(ITNexus Nexus, byte ListId, Entry Status)> _held = new();

    /// <summary>Holds the status of a completed copy (replacing an older one with the same key).</summary>
    public void Hold(ITNexus nexus, byte listId, Entry status)
    {
        lock (_gate)
        {
            _held.RemoveAll(held => held.ListId == listId && held.Nexus.Equals(nexus));
            if (_held.Count == CopyManagerLimits.HeldStatusesMax) _held.RemoveAt(0);
            _held.Add((nexus, listId, status));
        }
    }

    /// <summary>Takes the held status for <paramref name="listId"/> from <paramref name="nexus"/>, if any.</summary>
    public bool TryTake(ITNexus nexus, byte listId, out Entry status)
    {
        lock (_gate)
        {
            int index = _held.FindIndex(held => held.ListId == listId && held.Nexus.Equals(nexus));
            if (index < 0)
            {
                status = default;
                return false;
            }
            status = _held[index].Status;
            _held.RemoveAt(index);
            return true;
        }
    }
}
