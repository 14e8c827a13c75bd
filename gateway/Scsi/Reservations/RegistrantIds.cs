namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// <see cref="RegistrantId"/> for a gateway <see cref="ITNexus"/>. A C# 14 static extension, so call
/// sites keep reading <c>RegistrantId.Of(nexus)</c> although the type now lives in the shared
/// reservations project, which knows nothing of the gateway.
/// </summary>
internal static class RegistrantIds
{
    extension(RegistrantId)
    {
        /// <summary>The registrant for <paramref name="nexus"/> (no allocation: the strings are the nexus's own).</summary>
        public static RegistrantId Of(ITNexus nexus) => new(nexus.InitiatorName, nexus.Isid, nexus.RelativeTargetPortId);
    }
}
