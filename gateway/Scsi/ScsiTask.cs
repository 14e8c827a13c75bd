using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Scsi;

/// <summary>
/// One SCSI command as the SCSI layer sees it: a CDB, a data buffer and a completion; never a
/// PDU (the session layer is decoupled from the SCSI layer). Objects are pooled per connection
/// by the transport, which owns <see cref="DataOut"/> and <see cref="DataIn"/> and returns them
/// in exactly one place after the response has been sent.
/// </summary>
/// <remarks>
/// Contract between the iSCSI layer (producer) and <see cref="IScsiTargetDevice"/> (consumer):
/// <list type="bullet">
/// <item>Before <see cref="IScsiTargetDevice.ExecuteAsync"/>, the transport has gathered all
/// Data-Out (immediate, unsolicited and solicited) into <see cref="DataOut"/>; its length is what
/// the initiator sent, at most <see cref="ExpectedDataTransferLength"/>.</item>
/// <item>For Data-In, <see cref="DataIn"/> has room for <see cref="ExpectedDataTransferLength"/>
/// bytes; the handler writes at most that much and sets <see cref="DataInLength"/>.</item>
/// <item>Residuals (RFC 7143 §11.4.5): a handler whose CDB states a transfer size (READ/WRITE
/// class: blocks × block size) sets <see cref="CdbTransferLength"/>; the transport reports
/// overflow when it exceeds <see cref="ExpectedDataTransferLength"/> and underflow when fewer
/// bytes moved. Allocation-length commands leave it 0 and the transport reports underflow of
/// EDTL − bytes moved.</item>
/// <item>On completion <see cref="Status"/> is final and, for CHECK CONDITION, <see cref="Sense"/>
/// says why. Handlers never throw for protocol errors.</item>
/// </list>
/// </remarks>
internal sealed class ScsiTask
{
    /// <summary>Longest CDB accepted, including an AHS extended CDB (RFC 7143 §11.2.1.3; SPC-4 variable-length CDBs).</summary>
    public const int CdbLengthMax = 260;

    private readonly byte[] _cdb = new byte[CdbLengthMax];

    /// <summary>The I_T nexus the command arrived on.</summary>
    public ITNexus Nexus { get; set; } = null!;

    /// <summary>The 8-byte LUN field exactly as carried on the wire (SAM-5 §4.7.1), big-endian as a number.</summary>
    public ulong Lun { get; set; }

    /// <summary>The initiator task tag (RFC 7143 ITT): identifies the command for ABORT TASK.</summary>
    public uint TaskTag { get; set; }

    /// <summary>Task attribute (SAM-5 §8.9).</summary>
    public TaskAttribute Attribute { get; set; }

    /// <summary>Data direction from the PDU's R/W bits.</summary>
    public DataDirection Direction { get; set; }

    /// <summary>Expected Data Transfer Length from the SCSI Command PDU (RFC 7143 §11.3.4).</summary>
    public uint ExpectedDataTransferLength { get; set; }

    /// <summary>Number of valid CDB bytes.</summary>
    public int CdbLength { get; private set; }

    /// <summary>The CDB (byte 0 is the operation code).</summary>
    public ReadOnlySpan<byte> Cdb => _cdb.AsSpan(0, CdbLength);

    /// <summary>Write data gathered by the transport (see the remarks).</summary>
    public Memory<byte> DataOut { get; set; }

    /// <summary>Room for read data, sized to the expected transfer length (see the remarks).</summary>
    public Memory<byte> DataIn { get; set; }

    /// <summary>Bytes of <see cref="DataIn"/> the handler filled.</summary>
    public int DataInLength { get; set; }

    /// <summary>Bytes the CDB itself asks to move, for residual accounting; 0 when it has no such notion.</summary>
    public uint CdbTransferLength { get; set; }

    /// <summary>Final status of the command.</summary>
    public ScsiStatus Status { get; set; }

    /// <summary>Why the command ended in CHECK CONDITION.</summary>
    public SenseData Sense { get; set; }

    /// <summary>Fires when the command is aborted (ABORT TASK, LUN RESET, …) or its connection is lost.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>Copies the CDB in (the transport calls this once per command).</summary>
    public void SetCdb(ReadOnlySpan<byte> cdb)
    {
        if (cdb.Length > CdbLengthMax) throw new ArgumentOutOfRangeException(nameof(cdb), "CDB longer than CdbLengthMax");
        cdb.CopyTo(_cdb);
        CdbLength = cdb.Length;
    }

    /// <summary>Ends the command with CHECK CONDITION and the given sense.</summary>
    public void CheckCondition(in SenseData sense)
    {
        Status = ScsiStatus.CheckCondition;
        Sense = sense;
    }

    /// <summary>Clears every per-command field so a pooled task can be reused.</summary>
    public void Reset()
    {
        Nexus = null!;
        Lun = 0;
        TaskTag = 0;
        Attribute = TaskAttribute.Simple;
        Direction = DataDirection.None;
        ExpectedDataTransferLength = 0;
        CdbLength = 0;
        DataOut = default;
        DataIn = default;
        DataInLength = 0;
        CdbTransferLength = 0;
        Status = ScsiStatus.Good;
        Sense = default;
        CancellationToken = default;
    }
}
