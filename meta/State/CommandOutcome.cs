using Grpc.Core;

namespace Sds.Meta.State;

/// <summary>
/// What applying one command produced: a gRPC status code (errors are values until the API edge), a
/// human message for the operator when it is not OK, and the key of the resource it touched.
/// </summary>
/// <param name="Code">OK or the refusal.</param>
/// <param name="Message">One sentence saying what was wrong and what is allowed; empty when OK.</param>
/// <param name="Resource">Volume id, target IQN or node id the command produced or changed.</param>
/// <param name="Reservation">For a PR OUT command: its SCSI-level answer (a conflict is a value, not an error).</param>
internal readonly record struct CommandOutcome(StatusCode Code, string Message, string Resource, Sds.Proto.V1.UpdateReservationResponse? Reservation = null)
{
    /// <summary>True when the command was applied.</summary>
    public bool IsOk => Code == StatusCode.OK;

    /// <summary>An applied command.</summary>
    public static CommandOutcome Ok(string resource) => new(StatusCode.OK, string.Empty, resource);

    /// <summary>A refused command; the state is unchanged.</summary>
    public static CommandOutcome Fail(StatusCode code, string message) => new(code, message, string.Empty);
}
