using System.Buffers;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// The iSCSI-side state of one SCSI command: its <see cref="ScsiTask"/>, data buffers and the
/// Data-Out/R2T bookkeeping. Pooled per connection (bounded by the CmdSN window). Buffers are
/// rented from <see cref="ArrayPool{T}.Shared"/> in <see cref="RentBuffers"/> and returned in
/// exactly one place, <see cref="ReturnBuffers"/>, called when the context goes back to the pool.
/// </summary>
internal sealed class ScsiCommandContext : IThreadPoolWorkItem
{
    private byte[]? _dataOut;
    private byte[]? _dataIn;

    /// <summary>Creates a pooled context owned by <paramref name="owner"/>.</summary>
    public ScsiCommandContext(IscsiConnection owner) => Owner = owner;

    /// <summary>The connection the command arrived on (its read loop owns the Data-Out state).</summary>
    public IscsiConnection Owner { get; }

    /// <summary>The SCSI-layer view of the command.</summary>
    public ScsiTask Task { get; } = new();

    /// <summary>Raised on abort or connection loss; its token is <see cref="ScsiTask.CancellationToken"/>.</summary>
    public CancellationTokenSource Cancellation { get; private set; } = new();

    /// <summary>Sense bytes of the SCSI Response (2-byte SenseLength + descriptor or fixed sense).</summary>
    public byte[] SenseBuffer { get; } = new byte[2 + 32];

    /// <summary>R2Ts in flight (at most MaxOutstandingR2T).</summary>
    public OutstandingR2T[] R2Ts { get; } = new OutstandingR2T[IscsiLimits.OutstandingR2TMax];

    /// <summary>Current state (changed under the session lock once admitted).</summary>
    public CommandState State { get; set; }

    /// <summary>Bumped on every reuse, so a waiter can tell this command from a later one.</summary>
    public uint Generation { get; private set; }

    /// <summary>Initiator Task Tag.</summary>
    public uint InitiatorTaskTag { get; set; }

    /// <summary>CmdSN (meaningless when <see cref="Immediate"/>).</summary>
    public uint CmdSN { get; set; }

    /// <summary>Whether the command already gave its CmdSN window slot back (before its response, so that response can open the window).</summary>
    public bool WindowSlotReleased { get; set; }

    /// <summary>Whether the I bit was set.</summary>
    public bool Immediate { get; set; }

    /// <summary>Expected Data Transfer Length of the write part, in bytes.</summary>
    public int WriteLength { get; set; }

    /// <summary>Expected (bidirectional) read length, in bytes.</summary>
    public int ReadLength { get; set; }

    /// <summary>Write bytes received so far.</summary>
    public int ReceivedBytes { get; set; }

    /// <summary>End (exclusive) of the unsolicited region: immediate plus unsolicited Data-Out (RFC 7143 §13.10, §13.14: up to FirstBurstLength).</summary>
    public int UnsolicitedEnd { get; set; }

    /// <summary>Unsolicited bytes received (immediate data included).</summary>
    public int UnsolicitedReceived { get; set; }

    /// <summary>DataSN expected on the next unsolicited Data-Out.</summary>
    public uint UnsolicitedNextDataSN { get; set; }

    /// <summary>Offset of the next byte to solicit with an R2T.</summary>
    public int NextR2TOffset { get; set; }

    /// <summary>R2TSN of the next R2T (starts at 0 per command, §11.8.5).</summary>
    public uint NextR2TSN { get; set; }

    /// <summary>Number of active entries in <see cref="R2Ts"/>.</summary>
    public int OutstandingR2TCount { get; set; }

    /// <summary>The write buffer (valid after <see cref="RentBuffers"/>).</summary>
    public Memory<byte> DataOutBuffer => _dataOut is null ? Memory<byte>.Empty : _dataOut.AsMemory(0, WriteLength);

    /// <summary>Prepares the context for a new command.</summary>
    public void Begin()
    {
        Invariant.Assert(State == CommandState.Free, "only a free context is reused");
        Invariant.Assert(_dataOut is null && _dataIn is null, "buffers were returned");
        Generation++;
        Task.Reset();
        if (!Cancellation.TryReset())
        {
            Cancellation.Dispose();
            Cancellation = new CancellationTokenSource();
        }
        ReceivedBytes = 0;
        UnsolicitedEnd = 0;
        UnsolicitedReceived = 0;
        UnsolicitedNextDataSN = 0;
        NextR2TOffset = 0;
        NextR2TSN = 0;
        OutstandingR2TCount = 0;
        Array.Clear(R2Ts);
        Immediate = false;
        WindowSlotReleased = false;
    }

    /// <summary>Rents the data buffers sized by the expected lengths and points the task at them.</summary>
    public void RentBuffers()
    {
        Invariant.Assert(WriteLength >= 0 && (uint)WriteLength <= IscsiLimits.ExpectedDataTransferLengthMax, "write length bounded");
        Invariant.Assert(ReadLength >= 0 && (uint)ReadLength <= IscsiLimits.ExpectedDataTransferLengthMax, "read length bounded");
        if (WriteLength > 0) _dataOut = ArrayPool<byte>.Shared.Rent(WriteLength);
        if (ReadLength > 0) _dataIn = ArrayPool<byte>.Shared.Rent(ReadLength);
        Task.DataIn = _dataIn is null ? Memory<byte>.Empty : _dataIn.AsMemory(0, ReadLength);
        Task.DataOut = Memory<byte>.Empty;
    }

    /// <summary>Returns the buffers to the pool (the one place they are returned).</summary>
    public void ReturnBuffers()
    {
        if (_dataOut is not null) ArrayPool<byte>.Shared.Return(_dataOut);
        if (_dataIn is not null) ArrayPool<byte>.Shared.Return(_dataIn);
        _dataOut = null;
        _dataIn = null;
        Task.DataOut = default;
        Task.DataIn = default;
    }

    /// <summary>Finds the active R2T with <paramref name="targetTransferTag"/>, or -1.</summary>
    public int FindR2T(uint targetTransferTag)
    {
        for (int i = 0; i < R2Ts.Length; i++)
        {
            if (R2Ts[i].Active && R2Ts[i].TargetTransferTag == targetTransferTag) return i;
        }
        return -1;
    }

    /// <summary>Runs the command on the thread pool (no closure, no Task.Run: STYLE.md hot path).</summary>
    void IThreadPoolWorkItem.Execute() => Owner.ExecuteCommand(this);
}
