using Grpc.Core;
using Microsoft.Extensions.Logging;
using Wire = Sds.Proto.V1;

namespace Sds.Gateway.Scsi.Reservations;

using Sense = Sds.Gateway.Scsi.Sense.Sense;
using SenseData = Sds.Gateway.Scsi.Sense.SenseData;

/// <summary>
/// Reservations of one logical unit of a cluster gateway (DESIGN.md §6): persistent reservations and
/// SPC-2 RESERVE/RELEASE live in meta and are changed by one Raft command each
/// (<c>Cluster.UpdateReservation</c>, running the shared <see cref="ReservationBook"/>); every gateway
/// judges conflicts from its watched, versioned copy, which the gateway role feeds in through
/// <see cref="Observe"/> for every cluster-map version its mirror applies.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A PR OUT completes when meta answers — which meta does only after every live gateway reported the
/// change applied or its lease surely ended (meta's ReservationBarrier) — and this gateway's own copy holds
/// the answer's map version. Meta unreachable, or the copy not catching up within <see cref="MirrorWaitMax"/>:
/// NOT READY 04h/0Ch (<see cref="PrOutcome.Unavailable"/>), a retryable answer that also moves multipath.</item>
/// <item><see cref="Check"/> is the hot path: one volatile read of an immutable book, no RPC, no allocation.
/// With the <see cref="GatewayLease"/> lapsed, a reserved unit answers 04h/0Ch instead of using the copy.</item>
/// <item>Unit attentions for preempted and released registrants are raised here, on whichever gateway holds
/// the nexus, from the notices that travel with the replicated state (or from a state diff when versions were
/// skipped); the lists PERSISTENT RESERVE OUT passes in stay empty, so nothing is raised twice.</item>
/// <item>Logical unit and target resets are counted in the same state (<c>reset_count</c>, SAM-5 §6.3.3): the
/// resetting gateway raises the unit attention for its own nexuses and awaits meta (whose barrier answers once
/// every live gateway holds the new count); every other gateway raises it for its nexuses when it observes the
/// count grow. The copy that asked recognises its own reset by <c>reset_origin</c> and does not raise it again,
/// so each I_T nexus gets the condition once.</item>
/// </list>
/// Wiring (the gateway role, once per LU): build it after the mirror holds a map, with
/// <c>new MetaPersistentReservations(volume.Id, adapter, lease, map.Version, StateOf(map, volume.Id), logger)</c>;
/// pass it as <c>LogicalUnit(..., reservations: it)</c>, then <see cref="Attach"/> the unit's
/// <c>UnitAttentions</c>; from <c>ClusterMapMirror.Changed</c> call <see cref="Observe"/> with
/// <c>(map.Version, StateOf(map, volume.Id))</c> for every LU (subscribe first, then replay <c>Current</c>).
/// One <see cref="GatewayLease"/> per process, driven by the heartbeat loop, whose
/// <c>applied_cluster_map_version</c> must be the version every LU has observed (after the Changed handlers ran).
/// </remarks>
internal sealed class MetaPersistentReservations : IPersistentReservations
{
    /// <summary>Bound of one meta call: a meta leader failover (≈ 2.5 s) plus the barrier (lease 10 s + margin).</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(25);

    /// <summary>How long a PR OUT waits for this gateway's copy to reach the version meta answered with.</summary>
    public static readonly TimeSpan MirrorWaitMax = TimeSpan.FromSeconds(5);

    private readonly string volumeId;
    private readonly IReservationMeta meta;
    private readonly GatewayLease lease;
    private readonly ILogger? logger;
    private readonly TimeProvider time;
    private readonly Lock gate = new();
    // Names this copy in the resets it asks meta for (ReservationState.reset_origin): unique per process and volume.
    private readonly string origin = Guid.NewGuid().ToString("N");
    private readonly List<(ulong Version, TaskCompletionSource Reached)> waiters = new();
    // Replaced whole, never mutated after publication, so Check reads it without a lock.
    private volatile View view;
    private ulong mirrorVersion;
    private UnitAttentionTable? attentions;

    /// <summary>
    /// Reservations of volume <paramref name="volumeId"/>, starting from the mirror's current map
    /// (<paramref name="mapVersion"/>, and the volume's <paramref name="state"/> or null when it has none).
    /// </summary>
    public MetaPersistentReservations(string volumeId, IReservationMeta meta, GatewayLease lease, ulong mapVersion, Wire.ReservationState? state,
        ILogger? logger = null, TimeProvider? time = null)
    {
        this.volumeId = volumeId;
        this.meta = meta;
        this.lease = lease;
        this.logger = logger;
        this.time = time ?? TimeProvider.System;
        view = new View(ReservationStateCodec.ToBook(state), state?.ChangeCount ?? 0, state?.ResetCount ?? 0);
        mirrorVersion = mapVersion;
        Medium = new MetaRemovableMedium(this);
        Medium.Observe(state);
    }

    /// <summary>
    /// The shared medium state of the volume's removable logical units (docs/decisions.md "Removable medium shared
    /// through meta"): it lives in the same per-volume record, so this copy's <see cref="Observe"/> keeps it current.
    /// Used only when the unit is removable (Target.removable).
    /// </summary>
    public MetaRemovableMedium Medium { get; }

    /// <summary>
    /// Called (outside this copy's lock, before its heartbeat reports the version) when another gateway's TARGET
    /// COLD RESET of a target mapping this volume is observed: the owner ends this gateway's sessions of those targets
    /// (RFC 7143 §11.5.1), as the resetting gateway did for its own.
    /// </summary>
    public Action? ColdResetObserved { get; set; }

    /// <summary>The reservation state of <paramref name="volumeId"/> in <paramref name="map"/>, or null when it has none.</summary>
    public static Wire.ReservationState? StateOf(Wire.ClusterMap map, string volumeId)
    {
        foreach (Wire.ReservationState state in map.Reservations)
            if (state.VolumeId == volumeId) return state;
        return null;
    }

    /// <summary>The cluster-map version of the copy this unit judges from.</summary>
    public ulong MirrorVersion
    {
        get { lock (gate) return mirrorVersion; }
    }

    /// <summary>
    /// Connects the unit attention table of the logical unit built over this object (the unit is created after
    /// its reservations, so this cannot be a constructor argument). Until then no attention is raised.
    /// </summary>
    public void Attach(UnitAttentionTable unitAttentions) => Volatile.Write(ref attentions, unitAttentions);

    /// <summary>
    /// The mirror applied cluster-map version <paramref name="mapVersion"/>; <paramref name="state"/> is this
    /// volume's reservation state in it (null when none). Call for every applied version, in order, even when the
    /// reservation did not change: PR OUTs wait for the version meta answered with.
    /// </summary>
    public void Observe(ulong mapVersion, Wire.ReservationState? state)
    {
        bool changed = false;
        bool coldReset = false;
        lock (gate)
        {
            if (mapVersion < mirrorVersion) return;
            View old = view;
            ulong count = state?.ChangeCount ?? 0;
            if (count != old.ChangeCount)
            {
                var book = ReservationStateCodec.ToBook(state);
                ulong resets = state?.ResetCount ?? 0;
                coldReset = RaiseResetAttention(old, state, resets);
                RaiseAttentions(old, book, state, count);
                view = new View(book, count, Math.Max(resets, old.ResetCount));
                // Medium changes count in change_count too: loaded/ejected and the preventing nexuses follow here.
                Medium.Observe(state);
                changed = true;
            }
            mirrorVersion = mapVersion;
            for (int i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].Version > mapVersion) continue;
                waiters[i].Reached.TrySetResult();
                waiters.RemoveAt(i);
            }
        }
        // The sessions end before this gateway reports the version: the cold reset's TMF response (on the other
        // gateway) waits for every live gateway to hold it, so the initiator finds them gone when it reads the answer.
        if (coldReset) ColdResetObserved?.Invoke();
        // Tell meta at once that this gateway holds the change, so the PR OUT waiting on it completes sooner.
        if (changed) lease.RequestHeartbeat();
    }

    /// <inheritdoc />
    public bool Aptpl => view.Book.Aptpl;

    /// <inheritdoc />
    public PersistentReservationSnapshot Snapshot() => view.Book.ToSnapshot();

    /// <inheritdoc />
    public ReservationCheck Check(ITNexus nexus, CommandDescriptor command)
    {
        ReservationBook book = view.Book;
        if (!book.Reserved) return ReservationCheck.Admit;
        bool allowedUnderSpc2 = (command.Flags & CommandFlags.AllowedUnderSpc2Reservation) != 0;
        if (!lease.IsHeld)
        {
            // DESIGN.md §6: without a lease the copy may miss a PREEMPT or RELEASE; only commands that no
            // reservation can block (INQUIRY, REPORT LUNS, …) still run.
            return command.ReservationAccess == PrAccess.Allowed && allowedUnderSpc2 ? ReservationCheck.Admit : ReservationCheck.Unavailable;
        }
        return book.Conflicts(RegistrantId.Of(nexus), command.ReservationAccess, allowedUnderSpc2) ? ReservationCheck.Conflict : ReservationCheck.Admit;
    }

    /// <inheritdoc />
    public async ValueTask<bool> ReserveSpc2Async(ITNexus nexus) =>
        await UpdateAsync(Request(nexus, Wire.ReservationAction.Spc2Reserve)).ConfigureAwait(false) == PrOutcome.Good;

    /// <inheritdoc />
    public async ValueTask ReleaseSpc2Async(ITNexus nexus)
    {
        if (view.Book.Spc2Holder is not { } holder || holder != RegistrantId.Of(nexus)) return; // SPC-2: no effect, GOOD
        await UpdateAsync(Request(nexus, Wire.ReservationAction.Spc2Release)).ConfigureAwait(false);
    }

    /// <summary>
    /// Logical unit or target reset (SAM-5 §6.3.3, SPC-2 §5.5.1): one meta command drops any SPC-2 reservation and
    /// counts the reset, so every other gateway raises the unit attention for its nexuses; completes when meta
    /// answered, i.e. every live gateway holds it (the TMF response waits: libiscsi MultipathIO.Reset reads the
    /// condition on the other path at once). Meta unreachable: logged; the local effects stand (the caller's).
    /// </summary>
    public async ValueTask ResetAsync(ResetScope scope)
    {
        var request = new Wire.UpdateReservationRequest
        {
            VolumeId = volumeId,
            Action = Wire.ReservationAction.Spc2Reset,
            ResetOrigin = origin,
            ResetKind = scope switch
            {
                ResetScope.TargetCold => Wire.ResetKind.TargetCold,
                ResetScope.TargetWarm => Wire.ResetKind.Target,
                _ => Wire.ResetKind.LogicalUnit,
            },
        };
        await UpdateLoggedAsync(request).ConfigureAwait(false);
    }

    /// <summary>
    /// I_T nexus loss: releases that nexus's SPC-2 reservation in meta; registrations persist (SPC-4 r37 §5.9.5).
    /// Completes when meta answered (every live gateway holds the release) or gave up, so the session teardown can
    /// finish after it: the next RESERVE of another initiator, on any gateway, finds it released.
    /// </summary>
    public async ValueTask NexusLostAsync(ITNexus nexus)
    {
        if (view.Book.Spc2Holder is not { } holder || holder != RegistrantId.Of(nexus)) return;
        await UpdateLoggedAsync(Request(nexus, Wire.ReservationAction.Spc2Release)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> RegisterAsync(ITNexus nexus, ulong key, ulong newKey, bool ignoreExisting, bool aptpl, List<RegistrantId> released)
    {
        Wire.UpdateReservationRequest request = Request(nexus, ignoreExisting ? Wire.ReservationAction.RegisterAndIgnoreExistingKey : Wire.ReservationAction.Register, key, newKey);
        request.Aptpl = aptpl;
        return UpdateAsync(request);
    }

    /// <inheritdoc />
    public ValueTask<PrOutcome> ReserveAsync(ITNexus nexus, ulong key, ReservationType type) =>
        UpdateAsync(Request(nexus, Wire.ReservationAction.Reserve, key, 0, type));

    /// <inheritdoc />
    public ValueTask<PrOutcome> ReleaseAsync(ITNexus nexus, ulong key, ReservationType type, List<RegistrantId> released) =>
        UpdateAsync(Request(nexus, Wire.ReservationAction.Release, key, 0, type));

    /// <inheritdoc />
    public ValueTask<PrOutcome> ClearAsync(ITNexus nexus, ulong key, List<RegistrantId> preempted) =>
        UpdateAsync(Request(nexus, Wire.ReservationAction.Clear, key));

    /// <inheritdoc />
    public ValueTask<PrOutcome> PreemptAsync(ITNexus nexus, ulong key, ulong victimKey, ReservationType type, List<RegistrantId> preempted, List<RegistrantId> released) =>
        UpdateAsync(Request(nexus, Wire.ReservationAction.Preempt, key, victimKey, type));

    /// <inheritdoc />
    public ValueTask<PrOutcome> RegisterAndMoveAsync(ITNexus nexus, ulong key, ulong newKey, RegistrantId destination, bool unregister, bool aptpl)
    {
        // The TYPE travels for the shared rules' check only; REGISTER AND MOVE keeps the current type (§5.9.12).
        Wire.UpdateReservationRequest request = Request(nexus, Wire.ReservationAction.RegisterAndMove, key, newKey, view.Book.Type == ReservationType.None ? ReservationType.WriteExclusive : view.Book.Type);
        request.MoveTo = ReservationStateCodec.ToNexus(destination);
        request.Unregister = unregister;
        request.Aptpl = aptpl;
        return UpdateAsync(request);
    }

    internal Wire.UpdateReservationRequest Request(ITNexus nexus, Wire.ReservationAction action, ulong key = 0, ulong actionKey = 0, ReservationType type = ReservationType.None) => new()
    {
        VolumeId = volumeId,
        Action = action,
        Nexus = new Wire.ItNexus
        {
            InitiatorPort = nexus.InitiatorPortName,
            TargetPort = nexus.TargetPortName,
            RelativeTargetPortId = nexus.RelativeTargetPortId,
        },
        ReservationKey = key,
        ServiceActionReservationKey = actionKey,
        Type = (Wire.ReservationType)(int)type,
    };

    private async ValueTask<PrOutcome> UpdateAsync(Wire.UpdateReservationRequest request) =>
        await CallAsync(request).ConfigureAwait(false) switch
        {
            null => PrOutcome.Unavailable,
            Wire.ReservationResult.Ok => PrOutcome.Good,
            Wire.ReservationResult.Conflict => PrOutcome.ReservationConflict,
            Wire.ReservationResult.InvalidRelease => PrOutcome.InvalidRelease,
            Wire.ReservationResult.InsufficientResources => PrOutcome.InsufficientResources,
            _ => PrOutcome.InvalidFieldInParameterList,
        };

    /// <summary>
    /// Runs <paramref name="request"/> as one meta command on this volume's record; meta's result, or null when meta
    /// could not be reached in time or, after a success, this gateway's copy did not reach the answer's map version
    /// within <see cref="MirrorWaitMax"/> (both logged). A success returns only once <see cref="Observe"/> applied it.
    /// </summary>
    internal async ValueTask<Wire.ReservationResult?> CallAsync(Wire.UpdateReservationRequest request)
    {
        Wire.UpdateReservationResponse response;
        using (var timeout = new CancellationTokenSource(CallTimeout, time))
        {
            try
            {
                response = await meta.UpdateReservationAsync(request, timeout.Token).ConfigureAwait(false);
            }
            catch (RpcException exception)
            {
                logger?.LogWarning("reservation {Action} on volume {Volume}: meta unreachable ({Status}: {Detail})", request.Action, volumeId, exception.StatusCode, exception.Status.Detail);
                return null;
            }
            catch (OperationCanceledException)
            {
                logger?.LogWarning("reservation {Action} on volume {Volume}: no answer from meta within {Timeout}", request.Action, volumeId, CallTimeout);
                return null;
            }
        }

        if (response.Result == Wire.ReservationResult.Ok && !await MirrorReachedAsync(response.ClusterMapVersion).ConfigureAwait(false))
        {
            logger?.LogWarning("reservation {Action} on volume {Volume}: committed at map version {Version}, but this gateway's copy is still at {Mirror}", request.Action, volumeId, response.ClusterMapVersion, MirrorVersion);
            return null;
        }
        return response.Result;
    }

    private async Task UpdateLoggedAsync(Wire.UpdateReservationRequest request)
    {
        PrOutcome outcome = await UpdateAsync(request).ConfigureAwait(false);
        if (outcome != PrOutcome.Good) logger?.LogWarning("reservation {Action} on volume {Volume} ended {Outcome}", request.Action, volumeId, outcome);
    }

    private async Task<bool> MirrorReachedAsync(ulong version)
    {
        TaskCompletionSource reached;
        lock (gate)
        {
            if (mirrorVersion >= version) return true;
            reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiters.Add((version, reached));
        }
        try
        {
            await reached.Task.WaitAsync(MirrorWaitMax, time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            lock (gate) waiters.RemoveAll(w => ReferenceEquals(w.Reached, reached));
            return false;
        }
    }

    // SAM-5 §6.3.3/§6.3.4: resets counted since the last published copy owe this gateway's nexuses the reset's
    // unit attention (superseding what they had pending, as the local reset does), except exactly the one reset
    // this copy asked for itself: ScsiTargetDevice raised that one when it ran the reset.
    // Returns whether the newest of those resets was another copy's TARGET COLD RESET (its sessions must end here).
    private bool RaiseResetAttention(View old, Wire.ReservationState? state, ulong resets)
    {
        if (state is null || resets <= old.ResetCount) return false;
        if (resets == old.ResetCount + 1 && state.ResetOrigin == origin) return false;
        bool cold = state.ResetKind == Wire.ResetKind.TargetCold && state.ResetOrigin != origin;
        UnitAttentionTable? table = Volatile.Read(ref attentions);
        if (table is null) return cold;
        SenseData condition = state.ResetKind is Wire.ResetKind.Target or Wire.ResetKind.TargetCold ? Sense.PowerOnResetOccurred : Sense.BusDeviceResetOccurred;
        table.EstablishForAll(condition, except: null, replacesPending: true);
        return cold;
    }

    // SPC-4 r37 §5.9.10 (CLEAR: RESERVATIONS PREEMPTED), §5.9.11 (PREEMPT: REGISTRATIONS PREEMPTED) and
    // §5.9.9 / §5.9.7.4 (RESERVATIONS RELEASED), for the nexuses this gateway holds (the table knows only
    // local nexuses). The next change's notices are exact; after skipped changes a diff stands in.
    private void RaiseAttentions(View old, ReservationBook next, Wire.ReservationState? state, ulong count)
    {
        UnitAttentionTable? table = Volatile.Read(ref attentions);
        if (table is null) return;
        if (state is not null && count == old.ChangeCount + 1)
        {
            table.EstablishForRegistrants(Registrants(state.RegistrationsPreempted), Sense.RegistrationsPreempted);
            table.EstablishForRegistrants(Registrants(state.ReservationsPreempted), Sense.ReservationsPreempted);
            table.EstablishForRegistrants(Registrants(state.ReservationsReleased), Sense.ReservationsReleased);
            return;
        }
        var preempted = new List<RegistrantId>();
        foreach (Registration registration in old.Book.Registrations)
        {
            bool kept = false;
            foreach (Registration now in next.Registrations) kept |= now.Registrant == registration.Registrant;
            if (!kept) preempted.Add(registration.Registrant);
        }
        table.EstablishForRegistrants(preempted, Sense.RegistrationsPreempted);
        if (old.Book.Type != ReservationType.None && next.Type != old.Book.Type)
        {
            var released = new List<RegistrantId>();
            foreach (Registration registration in next.Registrations) released.Add(registration.Registrant);
            table.EstablishForRegistrants(released, Sense.ReservationsReleased);
        }
    }

    private static List<RegistrantId> Registrants(Google.Protobuf.Collections.RepeatedField<Wire.ItNexus> nexuses)
    {
        var registrants = new List<RegistrantId>(nexuses.Count);
        foreach (Wire.ItNexus nexus in nexuses) registrants.Add(ReservationStateCodec.ToRegistrant(nexus));
        return registrants;
    }

    /// <summary>One published copy: the book (never changed after publication) and the change count it reflects.</summary>
    private sealed record View(ReservationBook Book, ulong ChangeCount, ulong ResetCount);
}
