namespace Sds.Raft.Tests.Simulation;

/// <summary>A message on the simulated wire, deliverable from tick <see cref="DeliverAtTick"/> on.</summary>
internal readonly record struct InFlightMessage(Message Message, long DeliverAtTick);
