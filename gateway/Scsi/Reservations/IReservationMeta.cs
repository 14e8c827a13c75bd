using Sds.Proto.V1;

namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// The one meta call a cluster gateway's reservations need: <c>Cluster.UpdateReservation</c> on the meta
/// leader. The gateway role adapts its meta client (leader hints, failover across members, one request id
/// per logical call so a retry after a leader change applies once) to this; the gateway project does not
/// reference meta.
/// </summary>
internal interface IReservationMeta
{
    /// <summary>
    /// Runs <paramref name="request"/> as one meta Raft command and returns meta's answer, which arrives only
    /// after every live gateway applied it (DESIGN.md §6). Throws <see cref="Grpc.Core.RpcException"/> or
    /// <see cref="OperationCanceledException"/> when meta cannot be reached in time (the transport edge).
    /// </summary>
    Task<UpdateReservationResponse> UpdateReservationAsync(UpdateReservationRequest request, CancellationToken cancellationToken);
}
