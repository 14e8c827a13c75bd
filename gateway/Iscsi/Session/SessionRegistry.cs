using Sds.Gateway.Iscsi.Login;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// All live sessions of this gateway: TSIH allocation, lookup for reinstatement (RFC 7143 §6.3.5:
/// same InitiatorName, ISID and target portal group with TSIH=0 replaces the old session) and
/// enumeration per target for task management that spans sessions (LUN RESET, TARGET RESET).
/// </summary>
internal sealed class SessionRegistry
{
    private readonly object _lock = new();
    private readonly Dictionary<ushort, IscsiSession> _byTsih = new();
    // Orders the SCSI layer's I_T nexus events (see EndSession and BeginNexus). Lock order: this
    // gate, then the device's own locks; never the other way round.
    private readonly object _nexusGate = new();
    private ushort _nextTsih = 1;

    /// <summary>Number of live sessions.</summary>
    public int Count
    {
        get { lock (_lock) return _byTsih.Count; }
    }

    /// <summary>Finds a session by TSIH.</summary>
    public IscsiSession? Find(ushort tsih)
    {
        lock (_lock) return _byTsih.TryGetValue(tsih, out IscsiSession? session) ? session : null;
    }

    /// <summary>Allocates a fresh nonzero TSIH not in use (§11.12.6), or 0 when the server is full.</summary>
    public ushort AllocateTsih()
    {
        lock (_lock)
        {
            if (_byTsih.Count >= IscsiLimits.SessionsMax) return 0;
            for (int attempt = 0; attempt < 65536; attempt++)
            {
                ushort tsih = _nextTsih;
                _nextTsih = (ushort)(_nextTsih == ushort.MaxValue ? 1 : _nextTsih + 1);
                if (tsih != 0 && !_byTsih.ContainsKey(tsih)) return tsih;
            }
            return 0;
        }
    }

    /// <summary>Adds a session and returns the one it reinstates (same initiator port and target port), if any.</summary>
    public IscsiSession? Add(IscsiSession session)
    {
        lock (_lock)
        {
            IscsiSession? old = null;
            foreach (IscsiSession existing in _byTsih.Values)
            {
                if (existing.Type != session.Type || existing.Isid != session.Isid) continue;
                if (!string.Equals(existing.InitiatorName, session.InitiatorName, StringComparison.OrdinalIgnoreCase)) continue;
                if (existing.Portal.PortalGroupTag != session.Portal.PortalGroupTag) continue;
                if (session.Type == SessionType.Normal && !string.Equals(existing.Target!.Name, session.Target!.Name, StringComparison.OrdinalIgnoreCase)) continue;
                old = existing;
                break;
            }
            if (old is not null) _byTsih.Remove(old.Tsih);
            _byTsih.Add(session.Tsih, session);
            return old;
        }
    }

    /// <summary>Removes a session (if still registered).</summary>
    public void Remove(IscsiSession session)
    {
        lock (_lock)
        {
            if (_byTsih.TryGetValue(session.Tsih, out IscsiSession? registered) && ReferenceEquals(registered, session)) _byTsih.Remove(session.Tsih);
        }
    }

    /// <summary>
    /// Ends <paramref name="session"/> (logout or connection loss): it leaves the registry and the SCSI
    /// layer sees its I_T nexus lost (SAM-5 §6.3.4: SPC-2 reservations released, medium removal
    /// prevention ended), in one step with respect to <see cref="BeginNexus"/>. A nexus is equal by
    /// value across sessions (same initiator port, same target port): were the two steps apart, a new
    /// session of the same nexus registering in between would see its fresh state wiped by the
    /// old session's late loss. Returns when the loss's local effects are done; the task completes when the
    /// shared ones are too (a cluster gateway's SPC-2 release in meta), for callers that must not answer
    /// before (Logout Response) or must not let the next login in before (connection cleanup).
    /// </summary>
    public Task EndSession(IscsiSession session)
    {
        lock (_nexusGate)
        {
            Remove(session);
            if (session.Nexus is not null && session.TryEndNexus()) return session.Target!.Device.NexusLostAsync(session.Nexus);
            return Task.CompletedTask;
        }
    }

    /// <summary>
    /// Starts <paramref name="session"/>'s I_T nexus at the SCSI layer. When it reinstates
    /// <paramref name="replaced"/> (RFC 7143 §6.3.5) and the old session's cleanup has not reported its
    /// loss yet (it may outlive the drain timeout), the loss is reported here first, and the old
    /// cleanup will not report it again after the new nexus exists.
    /// </summary>
    public void BeginNexus(IscsiSession session, IscsiSession? replaced)
    {
        lock (_nexusGate)
        {
            // The shared part (a cluster SPC-2 release) is started, in order, but not waited for: this path
            // runs only when the old cleanup outlived the drain timeout, i.e. meta is not answering anyway.
            if (replaced?.Nexus is not null && replaced.TryEndNexus()) _ = replaced.Target!.Device.NexusLostAsync(replaced.Nexus);
            if (session.Nexus is not null) session.Target!.Device.NexusCreated(session.Nexus);
        }
    }

    /// <summary>Every normal session of the target named <paramref name="targetName"/>.</summary>
    public List<IscsiSession> SessionsOf(string targetName)
    {
        var list = new List<IscsiSession>();
        lock (_lock)
        {
            foreach (IscsiSession session in _byTsih.Values)
            {
                if (session.Target is not null && string.Equals(session.Target.Name, targetName, StringComparison.OrdinalIgnoreCase)) list.Add(session);
            }
        }
        return list;
    }

    /// <summary>A snapshot of all sessions.</summary>
    public List<IscsiSession> All()
    {
        lock (_lock) return new List<IscsiSession>(_byTsih.Values);
    }
}
