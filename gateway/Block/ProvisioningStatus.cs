namespace Sds.Gateway.Block;

/// <summary>
/// Provisioning state of the run of bytes that starts at the queried offset (SBC-3 §5.5 GET LBA
/// STATUS): every byte of <see cref="LengthBytes"/> is either mapped or deallocated.
/// </summary>
/// <param name="Result">Ok, or why the query failed.</param>
/// <param name="Mapped">True when the run is mapped (holds data), false when deallocated (reads return zeros).</param>
/// <param name="LengthBytes">Length of the run, at least one provisioning unit and at most the queried length.</param>
internal readonly record struct ProvisioningStatus(BlockResult Result, bool Mapped, long LengthBytes);
