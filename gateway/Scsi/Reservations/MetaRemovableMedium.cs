using Sds.Gateway.Scsi.Sbc;
using Wire = Sds.Proto.V1;

namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// The removable medium of a cluster volume's logical units, shared by every gateway through meta (SBC-3 r36 §5.14:
/// prevention is a condition of the logical unit, set by any I_T nexus; §5.20: an eject holds on every path). The
/// state — loaded or ejected, and which nexuses prevent removal — is two fields of the volume's
/// <c>ReservationState</c> record, which every gateway already watches for its reservations
/// (<see cref="MetaPersistentReservations.Observe"/> feeds <see cref="Observe"/>). PREVENT ALLOW MEDIUM REMOVAL and
/// START STOP UNIT LOEJ are meta commands (rare; one round trip, answered once every live gateway holds the new
/// version); <see cref="Present"/> is a volatile read of the watched copy, so medium-access commands make no meta call.
/// </summary>
/// <remarks>
/// Resets need nothing here: the reset's own meta command (SPC2_RESET, sent by
/// <see cref="MetaPersistentReservations.ResetAsync"/>) clears every prevention in the record. Nexus loss sends
/// MEDIUM_ALLOW only when the watched copy lists that nexus, so a logout without a prevention costs nothing.
/// </remarks>
internal sealed class MetaRemovableMedium : IRemovableMedium
{
    private readonly MetaPersistentReservations record;
    private volatile bool present = true;
    // Replaced whole on every observed change, never mutated after publication.
    private volatile RegistrantId[] preventing = [];

    /// <summary>The medium of the volume whose record <paramref name="record"/> watches and changes.</summary>
    public MetaRemovableMedium(MetaPersistentReservations record) => this.record = record;

    /// <inheritdoc />
    public bool Present => present;

    /// <summary>
    /// The volume's record as this gateway's copy holds it (null: no record, i.e. loaded and nothing prevents).
    /// Called in map-version order by the owning copy.
    /// </summary>
    public void Observe(Wire.ReservationState? state)
    {
        if (state is null || state.MediumPreventedBy.Count == 0)
        {
            preventing = [];
        }
        else
        {
            var nexuses = new RegistrantId[state.MediumPreventedBy.Count];
            for (int i = 0; i < nexuses.Length; i++) nexuses[i] = ReservationStateCodec.ToRegistrant(state.MediumPreventedBy[i]);
            preventing = nexuses;
        }
        present = !(state?.MediumEjected ?? false);
    }

    /// <inheritdoc />
    public ValueTask<MediumChange> PreventAsync(ITNexus nexus, bool prevent) =>
        RunAsync(nexus, prevent ? Wire.ReservationAction.MediumPrevent : Wire.ReservationAction.MediumAllow);

    /// <inheritdoc />
    public ValueTask<MediumChange> ChangeAsync(ITNexus nexus, bool load) =>
        RunAsync(nexus, load ? Wire.ReservationAction.MediumLoad : Wire.ReservationAction.MediumEject);

    /// <inheritdoc />
    public async ValueTask NexusLostAsync(ITNexus nexus)
    {
        if (Array.IndexOf(preventing, RegistrantId.Of(nexus)) < 0) return;
        // Failure is logged by the call; the prevention then stays until a reset (as a dead gateway's would).
        await RunAsync(nexus, Wire.ReservationAction.MediumAllow).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Reset()
    {
        // Nothing local: the reset's SPC2_RESET meta command clears the preventions in the shared record.
    }

    private async ValueTask<MediumChange> RunAsync(ITNexus nexus, Wire.ReservationAction action) =>
        await record.CallAsync(record.Request(nexus, action)).ConfigureAwait(false) switch
        {
            Wire.ReservationResult.Ok => MediumChange.Done,
            Wire.ReservationResult.MediumRemovalPrevented => MediumChange.RemovalPrevented,
            _ => MediumChange.Unavailable,
        };
}
