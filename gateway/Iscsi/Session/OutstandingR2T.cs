namespace Sds.Gateway.Iscsi.Session;

/// <summary>One R2T the target has sent and not yet seen satisfied (RFC 7143 §11.8).</summary>
internal struct OutstandingR2T
{
    /// <summary>Target Transfer Tag naming this R2T's Data-Out sequence.</summary>
    public uint TargetTransferTag;
    /// <summary>R2TSN of the R2T.</summary>
    public uint R2TSN;
    /// <summary>Buffer offset the sequence starts at.</summary>
    public int Offset;
    /// <summary>Desired Data Transfer Length.</summary>
    public int Length;
    /// <summary>Bytes of this sequence received so far (DataPDUInOrder=Yes: they are contiguous).</summary>
    public int Received;
    /// <summary>DataSN expected on the next Data-Out of this sequence (starts at 0, §11.7.5).</summary>
    public uint NextDataSN;
    /// <summary>Whether the slot is in use.</summary>
    public bool Active;
}
