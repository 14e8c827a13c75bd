namespace Sds.Meta.State;

/// <summary>Bounds of the meta state (TigerStyle: every collection fed by clients is bounded).</summary>
internal static class MetaLimits
{
    /// <summary>Largest volume: 64 TiB, far below SBC-3's 2^64 blocks but what a 4 MiB-chunk map of one PG set handles well.</summary>
    public const ulong VolumeSizeMaxBytes = 64UL << 40;

    /// <summary>Chunk size, the unit of placement (DESIGN.md §4).</summary>
    public const ulong ChunkSizeBytes = 4UL << 20;

    /// <summary>Most volumes in a cluster.</summary>
    public const int VolumeCountMax = 100_000;

    /// <summary>Most targets in a cluster.</summary>
    public const int TargetCountMax = 10_000;

    /// <summary>Most nodes in a cluster.</summary>
    public const int NodeCountMax = 4_096;

    /// <summary>Most LUNs per target.</summary>
    public const int LunsPerTargetMax = 1_024;

    /// <summary>Highest LUN number: 14-bit flat space addressing (SAM-5 §4.7.7).</summary>
    public const uint LunMax = 16_383;

    /// <summary>Most initiators on one target's ACL.</summary>
    public const int InitiatorsPerTargetMax = 1_024;

    /// <summary>Most copies of a chunk.</summary>
    public const uint ReplicasMax = 5;

    /// <summary>Applied request ids remembered for retries; older ones are forgotten first.</summary>
    public const int AppliedRequestsMax = 20_000;

    /// <summary>Longest request id.</summary>
    public const int RequestIdMaxLength = 128;

    /// <summary>Most registrations per volume's persistent reservation.</summary>
    public const int RegistrationsMax = 256;
}
