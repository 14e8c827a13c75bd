using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Iscsi.Pdu;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// One iSCSI session (RFC 7143 §4.4): identity (ISID, TSIH, I_T nexus), the negotiated
/// parameters and the CmdSN window that orders commands before the SCSI layer sees them.
/// It does not move PDUs (that is <see cref="IscsiConnection"/>) and does not execute SCSI.
/// </summary>
internal sealed class IscsiSession : ICommandWindow
{
    private static readonly object ConsumedSlot = new();

    private readonly object _lock = new();
    private readonly object?[] _ring = new object?[IscsiLimits.CommandWindowDepth];
    private readonly Dictionary<uint, ScsiCommandContext> _tasks = new();
    // Invariant: MaxCmdSN − ExpCmdSN + 1 ≤ CommandWindowDepth, and MaxCmdSN never decreases (§4.2.2.1).
    private uint _expCmdSN;
    private uint _maxCmdSN;
    private int _outstanding;
    private int _immediateOutstanding;
    private int _closed;
    private int _nexusEnded;

    /// <summary>Creates a session whose first ExpCmdSN is <paramref name="initialCmdSN"/> (the login's CmdSN, §11.12.7).</summary>
    public IscsiSession(ushort tsih, ulong isid, string initiatorName, SessionType type, TargetNode? target, Portal portal, OperationalParameters parameters, uint initialCmdSN)
    {
        Invariant.Assert(type == SessionType.Discovery || target is not null, "a normal session has a target");
        Tsih = tsih;
        Isid = isid;
        InitiatorName = initiatorName;
        Type = type;
        Target = target;
        Portal = portal;
        Parameters = parameters;
        _expCmdSN = initialCmdSN;
        _maxCmdSN = unchecked(initialCmdSN + IscsiLimits.CommandWindowDepth - 1);
        if (target is not null)
        {
            Nexus = new ITNexus(initiatorName, isid, target.Name, portal.PortalGroupTag, portal.RelativeTargetPortId, portal.TargetPortGroupId);
        }
    }

    /// <summary>Target Session Identifying Handle (§11.12.6), nonzero.</summary>
    public ushort Tsih { get; }
    /// <summary>Initiator Session ID.</summary>
    public ulong Isid { get; }
    /// <summary>InitiatorName.</summary>
    public string InitiatorName { get; }
    /// <summary>Normal or discovery.</summary>
    public SessionType Type { get; }
    /// <summary>Target of a normal session.</summary>
    public TargetNode? Target { get; }
    /// <summary>Portal the session logged in through.</summary>
    public Portal Portal { get; }
    /// <summary>The I_T nexus of a normal session (equal by value across reinstatement, RFC 7143 §4.4.3).</summary>
    public ITNexus? Nexus { get; }
    /// <summary>Negotiated parameters.</summary>
    public OperationalParameters Parameters { get; }
    /// <summary>The session's single connection (MaxConnections=1).</summary>
    public IscsiConnection? Connection { get; set; }
    /// <summary>Whether the session has been closed.</summary>
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <inheritdoc />
    public void Read(out uint expCmdSN, out uint maxCmdSN)
    {
        lock (_lock)
        {
            expCmdSN = _expCmdSN;
            maxCmdSN = _maxCmdSN;
        }
    }

    /// <summary>
    /// Admits a request by CmdSN (RFC 7143 §4.2.2.1). Immediate requests bypass the order;
    /// SCSI commands (<paramref name="command"/> non-null) are queued on a gap, other requests are
    /// handled at once and their CmdSN is marked consumed so the window advances past it later.
    /// </summary>
    public AdmitResult Admit(uint cmdSN, bool immediate, ScsiCommandContext? command)
    {
        lock (_lock)
        {
            if (immediate)
            {
                if (command is null) return AdmitResult.Deliver;
                if (_immediateOutstanding >= IscsiLimits.ImmediateCommandsMax) return AdmitResult.TooManyImmediate;
                _immediateOutstanding++;
                return AdmitResult.Deliver;
            }
            if (!SerialNumber.InWindow(cmdSN, _expCmdSN, _maxCmdSN)) return AdmitResult.OutOfWindow;
            int slot = (int)(cmdSN % IscsiLimits.CommandWindowDepth);
            if (_ring[slot] is not null) return AdmitResult.Duplicate;
            if (cmdSN == _expCmdSN)
            {
                _expCmdSN = unchecked(_expCmdSN + 1);
                if (command is not null) _outstanding++;
                UpdateMaxCmdSN();
                return AdmitResult.Deliver;
            }
            _ring[slot] = command ?? ConsumedSlot;
            return command is null ? AdmitResult.Deliver : AdmitResult.Queued;
        }
    }

    /// <summary>Takes the next queued command whose CmdSN is now ExpCmdSN, advancing the window; null when none.</summary>
    public ScsiCommandContext? TakeNextInOrder()
    {
        lock (_lock)
        {
            for (int guard = 0; guard < IscsiLimits.CommandWindowDepth; guard++)
            {
                int slot = (int)(_expCmdSN % IscsiLimits.CommandWindowDepth);
                object? entry = _ring[slot];
                if (entry is null) return null;
                _ring[slot] = null;
                _expCmdSN = unchecked(_expCmdSN + 1);
                if (entry is ScsiCommandContext command)
                {
                    _outstanding++;
                    UpdateMaxCmdSN();
                    return command;
                }
                UpdateMaxCmdSN();
            }
            return null;
        }
    }

    /// <summary>
    /// Registers a command under its ITT and makes it <see cref="CommandState.AwaitingOrder"/>; false
    /// when the ITT is already in use (Reject reason "task in progress", RFC 7143 §11.17.1). The state
    /// changes under the session lock, so an abort that snapshots the table sees the command's
    /// generation and state together.
    /// </summary>
    public bool TryRegister(ScsiCommandContext command)
    {
        lock (_lock)
        {
            Invariant.Assert(command.State == CommandState.Free, "a command registers once, fresh from the pool");
            if (!_tasks.TryAdd(command.InitiatorTaskTag, command)) return false;
            command.State = CommandState.AwaitingOrder;
            return true;
        }
    }

    /// <summary>Finds a live command by ITT.</summary>
    public ScsiCommandContext? FindTask(uint initiatorTaskTag)
    {
        lock (_lock) return _tasks.TryGetValue(initiatorTaskTag, out ScsiCommandContext? command) ? command : null;
    }

    /// <summary>Finds a live command by ITT together with its generation (for a later <see cref="AbortOne"/>).</summary>
    public ScsiCommandContext? FindTask(uint initiatorTaskTag, out uint generation)
    {
        lock (_lock)
        {
            generation = 0;
            if (!_tasks.TryGetValue(initiatorTaskTag, out ScsiCommandContext? command)) return null;
            generation = command.Generation;
            return command;
        }
    }

    /// <summary>
    /// The command is finished (response sent, or aborted): it leaves the task table and its
    /// window slot frees, which may raise MaxCmdSN.
    /// </summary>
    public void CommandFinished(ScsiCommandContext command, bool admitted)
    {
        lock (_lock)
        {
            if (_tasks.TryGetValue(command.InitiatorTaskTag, out ScsiCommandContext? registered) && ReferenceEquals(registered, command))
            {
                _tasks.Remove(command.InitiatorTaskTag);
            }
            if (!admitted || command.WindowSlotReleased) return;
            GiveBackSlot(command);
        }
    }

    /// <summary>
    /// Gives a command's window slot back as its response is about to be sent, so the MaxCmdSN in
    /// that very response already counts it as done (RFC 7143 §4.2.2.1).
    /// </summary>
    public void ReleaseWindowSlot(ScsiCommandContext command)
    {
        lock (_lock)
        {
            Invariant.Assert(!command.WindowSlotReleased, "a slot is given back once");
            GiveBackSlot(command);
            command.WindowSlotReleased = true;
        }
    }

    private void GiveBackSlot(ScsiCommandContext command)
    {
        if (command.Immediate) _immediateOutstanding--;
        else _outstanding--;
        Invariant.Assert(_outstanding >= 0 && _immediateOutstanding >= 0, "finished no more than admitted");
        UpdateMaxCmdSN();
    }

    /// <summary>Marks every matching task aborted and cancels it; returns them (for draining).</summary>
    public List<ScsiCommandContext> AbortTasks(ulong? lun)
    {
        var aborted = new List<ScsiCommandContext>();
        foreach ((ScsiCommandContext command, uint generation) in SnapshotTasks(lun))
        {
            if (AbortOne(command, generation) is not (CommandState.Free or CommandState.Aborted)) aborted.Add(command);
        }
        return aborted;
    }

    /// <summary>
    /// Aborts one task (no response will be sent for it, RFC 7143 §11.5.1 with TAS=0) if it is still
    /// the command of <paramref name="generation"/>; returns its prior state, or
    /// <see cref="CommandState.Free"/> when the context has moved on. Contexts are pooled: between a
    /// snapshot and this call the command may have been answered and its context reused by the next
    /// command of the same connection, which must not be aborted in its place (that command would
    /// never be answered, and the initiator would wait for it forever).
    /// </summary>
    public CommandState AbortOne(ScsiCommandContext command, uint generation)
    {
        CommandState prior;
        lock (_lock)
        {
            if (command.Generation != generation) return CommandState.Free;
            prior = command.State;
            if (prior is CommandState.Free or CommandState.Aborted or CommandState.Responding) return prior;
            command.State = CommandState.Aborted;
        }
        command.Cancellation.Cancel();
        return prior;
    }

    /// <summary>The live tasks with their generations (see <see cref="AbortOne"/>), optionally only those of one LUN.</summary>
    public List<(ScsiCommandContext Command, uint Generation)> SnapshotTasks(ulong? lun)
    {
        var list = new List<(ScsiCommandContext Command, uint Generation)>();
        lock (_lock)
        {
            foreach (ScsiCommandContext command in _tasks.Values)
            {
                if (lun is ulong l && command.Task.Lun != l) continue;
                list.Add((command, command.Generation));
            }
        }
        return list;
    }

    /// <summary>Whether ExpCmdSN has passed <paramref name="cmdSN"/> (it was received).</summary>
    public bool HasReceived(uint cmdSN)
    {
        lock (_lock) return SerialNumber.LessThan(cmdSN, _expCmdSN);
    }

    /// <summary>Number of tasks in the table.</summary>
    public int TaskCount
    {
        get { lock (_lock) return _tasks.Count; }
    }

    /// <summary>Changes a command's state under the session lock unless it was aborted; returns whether it changed.</summary>
    public bool TryTransition(ScsiCommandContext command, CommandState from, CommandState to)
    {
        lock (_lock)
        {
            if (command.State != from) return false;
            command.State = to;
            return true;
        }
    }

    /// <summary>
    /// Appends the window and the task table to <paramref name="text"/> (diagnostics only: the SIGQUIT
    /// dump of <c>sds server</c>, used to tell a lost response from a closed window, issue #3).
    /// </summary>
    public void Describe(System.Text.StringBuilder text)
    {
        lock (_lock)
        {
            int queued = 0;
            foreach (object? entry in _ring) if (entry is not null) queued++;
            text.Append($"  session TSIH {Tsih} ISID 0x{Isid:x12} ExpCmdSN {_expCmdSN} MaxCmdSN {_maxCmdSN} outstanding {_outstanding} immediate {_immediateOutstanding} queued {queued} tasks {_tasks.Count} closed {_closed}\n");
            foreach (ScsiCommandContext command in _tasks.Values)
            {
                text.Append($"    ITT 0x{command.InitiatorTaskTag:x8} CmdSN {command.CmdSN} {command.State} gen {command.Generation} immediate {command.Immediate} slotReleased {command.WindowSlotReleased} received {command.ReceivedBytes}/{command.WriteLength} R2Ts {command.OutstandingR2TCount}\n");
            }
        }
    }

    /// <summary>Marks the session closed; returns false if it already was.</summary>
    public bool MarkClosed() => Interlocked.Exchange(ref _closed, 1) == 0;

    /// <summary>
    /// Claims the end of this session's I_T nexus at the SCSI layer (SAM-5 §6.3.4 I_T nexus loss); true
    /// once. The session's own cleanup and a session that reinstates it both try, and only the first
    /// reports the loss (see <see cref="SessionRegistry.EndSession"/> and <see cref="SessionRegistry.BeginNexus"/>).
    /// </summary>
    public bool TryEndNexus() => Interlocked.Exchange(ref _nexusEnded, 1) == 0;

    private void UpdateMaxCmdSN()
    {
        int free = IscsiLimits.CommandWindowDepth - _outstanding;
        if (free < 1) free = 1;
        uint candidate = unchecked(_expCmdSN + (uint)free - 1);
        // §4.2.2.1: MaxCmdSN only moves forward; a stalled window shows as MaxCmdSN = ExpCmdSN − 1.
        if (_outstanding >= IscsiLimits.CommandWindowDepth) candidate = unchecked(_expCmdSN - 1);
        if (SerialNumber.GreaterThan(candidate, _maxCmdSN)) _maxCmdSN = candidate;
    }
}
