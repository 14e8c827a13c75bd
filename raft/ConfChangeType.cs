namespace Sds.Raft;

/// <summary>The single-server membership changes this Raft supports (Raft thesis §4.1). Persisted.</summary>
public enum ConfChangeType : byte
{
    /// <summary>Adds a non-voting learner that receives the log (thesis §4.2.1, catching up new servers).</summary>
    AddLearner = 0,

    /// <summary>Promotes a caught-up learner to voter.</summary>
    PromoteLearner = 1,

    /// <summary>Removes a voter or learner.</summary>
    RemoveNode = 2,
}
