namespace Sds.Storage.Replication;

/// <summary>What a client operation waits for on the event loop.</summary>
internal enum PgOperationKind : byte
{
    /// <summary>A command proposed as a Raft entry; completes when applied.</summary>
    Propose = 1,

    /// <summary>A read barrier: completes when the leader's lease (or a read-index round) confirms the read (Raft thesis §6.4).</summary>
    Read = 2,
}
