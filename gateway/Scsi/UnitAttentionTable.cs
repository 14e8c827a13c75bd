using Sds.Gateway.Scsi.Reservations;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Scsi;

/// <summary>
/// Pending unit attention conditions of one logical unit, per I_T nexus (SAM-5 §5.14, SPC-4 r37
/// §5.14 is silent on storage; tgt keeps a per-nexus list). The hot path only reads a counter:
/// when nothing is pending no lookup happens at all.
/// </summary>
internal sealed class UnitAttentionTable
{
    /// <summary>Conditions kept per nexus; older ones are dropped beyond this (SAM-5 allows coalescing).</summary>
    public const int PendingPerNexusMax = 8;

    private readonly Lock _gate = new();
    private readonly Dictionary<ITNexus, Queue<SenseData>> _pending = new();
    private int _pendingTotal;

    /// <summary>Whether any nexus has a pending condition (cheap, racy read; rechecked under the lock).</summary>
    public bool AnyPending => Volatile.Read(ref _pendingTotal) > 0;

    /// <summary>Makes <paramref name="nexus"/> known with a POWER ON/RESET condition (login, SAM-5 §6.3.1).</summary>
    public void NexusCreated(ITNexus nexus)
    {
        lock (_gate)
        {
            Queue<SenseData> queue = QueueOf(nexus);
            _pendingTotal -= queue.Count;
            queue.Clear();
            queue.Enqueue(Sense.Sense.PowerOnResetOccurred);
            _pendingTotal++;
        }
    }

    /// <summary>Forgets <paramref name="nexus"/>.</summary>
    public void NexusLost(ITNexus nexus)
    {
        lock (_gate)
        {
            if (_pending.Remove(nexus, out Queue<SenseData>? queue)) _pendingTotal -= queue.Count;
        }
    }

    /// <summary>Queues <paramref name="sense"/> for one nexus.</summary>
    public void Establish(ITNexus nexus, in SenseData sense)
    {
        lock (_gate) EstablishLocked(nexus, sense);
    }

    /// <summary>
    /// Queues <paramref name="sense"/> for every known nexus except <paramref name="except"/>. A reset
    /// condition replaces whatever was pending: it supersedes older conditions (SAM-5 §6.3).
    /// </summary>
    public void EstablishForAll(in SenseData sense, ITNexus? except = null, bool replacesPending = false)
    {
        lock (_gate)
        {
            foreach ((ITNexus nexus, Queue<SenseData> queue) in _pending)
            {
                if (except is not null && nexus.Equals(except)) continue;
                if (replacesPending)
                {
                    _pendingTotal -= queue.Count;
                    queue.Clear();
                }
                EstablishLocked(nexus, sense);
            }
        }
    }

    /// <summary>Queues <paramref name="sense"/> for every known nexus whose registrant is in <paramref name="registrants"/>.</summary>
    public void EstablishForRegistrants(List<RegistrantId> registrants, in SenseData sense)
    {
        if (registrants.Count == 0) return;
        lock (_gate)
        {
            foreach (ITNexus nexus in _pending.Keys)
                if (registrants.Contains(RegistrantId.Of(nexus))) EstablishLocked(nexus, sense);
        }
    }

    /// <summary>Removes and returns the oldest pending condition of <paramref name="nexus"/>.</summary>
    public bool TryTake(ITNexus nexus, out SenseData sense)
    {
        sense = default;
        if (!AnyPending) return false;
        lock (_gate)
        {
            if (!_pending.TryGetValue(nexus, out Queue<SenseData>? queue) || queue.Count == 0) return false;
            sense = queue.Dequeue();
            _pendingTotal--;
            return true;
        }
    }

    /// <summary>Whether <paramref name="nexus"/> has a pending condition.</summary>
    public bool HasPending(ITNexus nexus)
    {
        if (!AnyPending) return false;
        lock (_gate) return _pending.TryGetValue(nexus, out Queue<SenseData>? queue) && queue.Count > 0;
    }

    private void EstablishLocked(ITNexus nexus, in SenseData sense)
    {
        Queue<SenseData> queue = QueueOf(nexus);
        if (queue.Contains(sense)) return;
        if (queue.Count == PendingPerNexusMax)
        {
            queue.Dequeue();
            _pendingTotal--;
        }
        queue.Enqueue(sense);
        _pendingTotal++;
    }

    private Queue<SenseData> QueueOf(ITNexus nexus)
    {
        if (!_pending.TryGetValue(nexus, out Queue<SenseData>? queue))
        {
            queue = new Queue<SenseData>(2);
            _pending.Add(nexus, queue);
        }
        return queue;
    }
}
