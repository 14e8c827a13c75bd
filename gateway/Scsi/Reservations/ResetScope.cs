namespace Sds.Gateway.Scsi.Reservations;

/// <summary>Which reset <see cref="IPersistentReservations.ResetAsync"/> stands for (SAM-5 §6.3, RFC 7143 §11.5.1).</summary>
public enum ResetScope
{
    /// <summary>LOGICAL UNIT RESET (SAM-5 §6.3.3).</summary>
    LogicalUnit,

    /// <summary>TARGET WARM RESET: a logical unit reset of every logical unit of the target.</summary>
    TargetWarm,

    /// <summary>TARGET COLD RESET: a warm reset that also ends every session of the target (RFC 7143 §11.5.1).</summary>
    TargetCold,
}
