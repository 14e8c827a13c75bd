namespace Sds.Raft.Tests.Simulation;

/// <summary>A broken safety property, found by the checker.</summary>
internal sealed class SimulationViolation(string property, string detail) : Exception($"{property}: {detail}")
{
    public string Property { get; } = property;
}
