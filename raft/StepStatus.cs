namespace Sds.Raft;

/// <summary>What <c>RawNode.Step</c> did with a message from the network. Bad input is a value, never a crash.</summary>
public enum StepStatus : byte
{
    /// <summary>Handed to the core (which may still ignore it as stale).</summary>
    Accepted = 0,

    /// <summary>Addressed to another member, or from "none" or from ourselves.</summary>
    WrongAddress = 1,

    /// <summary>Fields inconsistent with its type (unknown type, missing snapshot, non-contiguous entries...).</summary>
    Malformed = 2,
}
