namespace Sds.Storage.Replication;

/// <summary>What a PG Raft entry asks the chunk store to do. Persisted in Raft logs: values never change.</summary>
internal enum PgCommandKind : byte
{
    /// <summary>Write bytes at an offset.</summary>
    Write = 1,

    /// <summary>Repeat one block over a range (SBC-3 WRITE SAME), optionally deallocating zeros.</summary>
    WriteSame = 2,

    /// <summary>Deallocate ranges (SBC-3 UNMAP).</summary>
    Unmap = 3,

    /// <summary>Compare then write, decided at apply time (SBC-3 COMPARE AND WRITE).</summary>
    CompareAndWrite = 4,

    /// <summary>A barrier: completes when every earlier entry of the PG is applied (SYNCHRONIZE CACHE).</summary>
    Flush = 5,
}
