namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>States of <see cref="PduReceiver"/> (as tgt's IOSTATE_RX_BHS → _AHS → _DATA).</summary>
internal enum ReceiveState : byte
{
    /// <summary>Waiting for the 48-byte BHS, the AHS and the header digest.</summary>
    AwaitHeader,
    /// <summary>Header parsed; the data segment (with padding and digest) is still in the pipe.</summary>
    AwaitData,
}
