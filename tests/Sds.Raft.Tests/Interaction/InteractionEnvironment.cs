using System.Globalization;
using System.Text;

namespace Sds.Raft.Tests.Interaction;

/// <summary>
/// Runs the commands of an interaction transcript (etcd-raft's interaction_test shape) against real
/// RawNodes and prints every Ready and message, so a reviewer reads the protocol's behaviour as a diff.
/// Commands: add-nodes N [prevote=false] [checkquorum=false] [lease=true] [spare=K] · campaign ID · propose ID TEXT ·
/// propose-conf-change ID add-learner|promote|remove NODE · read-index ID CTX · transfer-leadership FROM TO ·
/// tick ID|all [N] · stabilize · isolate ID · heal · status ID.
/// </summary>
internal sealed class InteractionEnvironment
{
    private readonly SortedDictionary<ulong, (RawNode Node, MemoryRaftLogStorage Storage)> members = [];
    private readonly List<Message> network = [];
    private readonly HashSet<ulong> isolated = [];
    private readonly StringBuilder output = new();

    public string Run(string command, string[] arguments)
    {
        output.Clear();
        switch (command)
        {
            case "add-nodes":
                AddNodes(int.Parse(arguments[0], CultureInfo.InvariantCulture), arguments.Skip(1).ToArray());
                break;
            case "campaign":
                Node(arguments[0]).Campaign();
                break;
            case "propose":
                output.AppendLine(Node(arguments[0]).Propose(Encoding.UTF8.GetBytes(arguments[1])).ToString());
                break;
            case "propose-conf-change":
                ConfChangeType type = arguments[1] switch
                {
                    "add-learner" => ConfChangeType.AddLearner,
                    "promote" => ConfChangeType.PromoteLearner,
                    _ => ConfChangeType.RemoveNode,
                };
                output.AppendLine(Node(arguments[0]).ProposeConfChange(new ConfChange(type, Id(arguments[2]))).ToString());
                break;
            case "read-index":
                output.AppendLine(Node(arguments[0]).ReadIndex(Id(arguments[1])).ToString());
                break;
            case "transfer-leadership":
                output.AppendLine(Node(arguments[0]).TransferLeadership(Id(arguments[1])).ToString());
                break;
            case "tick":
                Tick(arguments);
                break;
            case "stabilize":
                Stabilize();
                break;
            case "isolate":
                isolated.Add(Id(arguments[0]));
                break;
            case "heal":
                isolated.Clear();
                break;
            case "status":
                Status(Node(arguments[0]));
                break;
            default:
                throw new InvalidOperationException($"unknown command {command}");
        }

        return output.Length == 0 ? "ok" : output.ToString().TrimEnd();
    }

    private static ulong Id(string text) => ulong.Parse(text, CultureInfo.InvariantCulture);

    private RawNode Node(string id) => members[Id(id)].Node;

    private void AddNodes(int count, string[] options)
    {
        bool preVote = !options.Contains("prevote=false");
        bool checkQuorum = !options.Contains("checkquorum=false");
        bool lease = options.Contains("lease=true");
        string? spareOption = options.FirstOrDefault(static o => o.StartsWith("spare=", StringComparison.Ordinal));
        int spare = spareOption is null ? 0 : int.Parse(spareOption["spare=".Length..], CultureInfo.InvariantCulture);
        ulong[] voters = Enumerable.Range(1, count).Select(static i => (ulong)i).ToArray();

        // Spare members run but are outside the configuration until a membership change adds them.
        foreach (ulong id in Enumerable.Range(1, count + spare).Select(static i => (ulong)i))
        {
            MemoryRaftLogStorage storage = new(new ConfState(voters, []));
            RawNode node = new(new RaftConfig
            {
                Id = id, Storage = storage, ElectionTicks = 10, HeartbeatTicks = 1, PreVote = preVote, CheckQuorum = checkQuorum,
                ReadOnly = lease ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe, Random = new SplitMix64Random(id),
            });
            members[id] = (node, storage);
        }

        output.AppendLine($"{count + spare} members, voters=({string.Join(",", voters)}) prevote={preVote} checkquorum={checkQuorum} lease={lease}");
    }

    private void Tick(string[] arguments)
    {
        int ticks = arguments.Length > 1 ? int.Parse(arguments[1], CultureInfo.InvariantCulture) : 1;
        for (int i = 0; i < ticks; i++)
        {
            foreach (KeyValuePair<ulong, (RawNode Node, MemoryRaftLogStorage Storage)> member in members)
            {
                if (arguments[0] == "all" || Id(arguments[0]) == member.Key)
                {
                    member.Value.Node.Tick();
                }
            }
        }
    }

    private void Stabilize()
    {
        for (int round = 0; round < 1000; round++)
        {
            bool progress = false;
            foreach (KeyValuePair<ulong, (RawNode Node, MemoryRaftLogStorage Storage)> member in members)
            {
                progress |= HandleReady(member.Key, member.Value.Node, member.Value.Storage);
            }

            if (network.Count > 0)
            {
                progress = true;
                List<Message> batch = [.. network];
                network.Clear();
                foreach (Message message in batch)
                {
                    if (isolated.Contains(message.From) || isolated.Contains(message.To))
                    {
                        output.AppendLine($"  dropped {Describe(message)}");
                        continue;
                    }

                    members[message.To].Node.Step(message);
                }
            }

            if (!progress)
            {
                return;
            }
        }

        throw new InvalidOperationException("did not stabilize");
    }

    private bool HandleReady(ulong id, RawNode node, MemoryRaftLogStorage storage)
    {
        if (!node.HasReady)
        {
            return false;
        }

        Ready ready = node.GetReady();
        output.AppendLine($"> {id} ready: {ready.Role} lead={ready.Leader}{(ready.MustSync ? " must-sync" : string.Empty)}");
        if (ready.HardState is { } hardState)
        {
            output.AppendLine($"  hard-state term={hardState.Term} vote={hardState.Vote} commit={hardState.Commit}");
        }

        if (ready.Entries.Count > 0)
        {
            output.AppendLine($"  entries: {string.Join(" ", ready.Entries.Select(Describe))}");
        }

        if (ready.Snapshot is not null)
        {
            output.AppendLine($"  snapshot: {ready.Snapshot.Metadata.Index}/{ready.Snapshot.Metadata.Term}");
        }

        if (ready.CommittedEntries.Count > 0)
        {
            output.AppendLine($"  apply: {string.Join(" ", ready.CommittedEntries.Select(Describe))}");
        }

        foreach (ReadState state in ready.ReadStates)
        {
            output.AppendLine($"  read-state index={state.Index} ctx={state.RequestContext}");
        }

        foreach (Message message in ready.Messages)
        {
            output.AppendLine($"  send {Describe(message)}");
            network.Add(message);
        }

        storage.Save(ready.HardState, ready.Entries.ToArray(), ready.Snapshot);
        node.Advance(ready);
        return true;
    }

    private void Status(RawNode node)
    {
        output.AppendLine($"{node.Id}: {node.Role} term={node.Term} lead={node.Leader} commit={node.Committed} applied={node.Applied} last={node.LastIndex} voters=({string.Join(",", node.ConfState.Voters)}) learners=({string.Join(",", node.ConfState.Learners)})");
        if (node.Role == RaftRole.Leader)
        {
            foreach (KeyValuePair<ulong, Progress> pair in node.Raft.Tracker.Progress.OrderBy(static p => p.Key))
            {
                output.AppendLine($"  {pair.Key}: {pair.Value.State} match={pair.Value.Match} next={pair.Value.Next}{(pair.Value.IsLearner ? " learner" : string.Empty)}");
            }
        }
    }

    private static string Describe(Entry entry)
    {
        string data = entry.Type == EntryType.ConfChange && ConfChange.TryDecode(entry.Data.Span, out ConfChange change)
            ? $"{change.Type}({change.NodeId})"
            : Encoding.UTF8.GetString(entry.Data.Span);
        return $"{entry.Term}/{entry.Index}{(data.Length > 0 ? ":" + data : string.Empty)}";
    }

    private static string Describe(Message m)
    {
        StringBuilder text = new($"{m.From}->{m.To} {m.Type} term={m.Term}");
        switch (m.Type)
        {
            case MessageType.Append:
                text.Append($" prev={m.Index}/{m.LogTerm} commit={m.Commit}");
                if (m.Entries.Length > 0)
                {
                    text.Append($" [{string.Join(" ", m.Entries.Select(Describe))}]");
                }

                break;
            case MessageType.AppendResponse:
                text.Append(m.Reject ? $" reject index={m.Index} hint={m.RejectHint}/{m.LogTerm}" : $" index={m.Index}");
                break;
            case MessageType.Vote:
            case MessageType.PreVote:
                text.Append($" last={m.Index}/{m.LogTerm}{(m.Transfer ? " transfer" : string.Empty)}");
                break;
            case MessageType.VoteResponse:
            case MessageType.PreVoteResponse:
                text.Append(m.Reject ? " rejected" : " granted");
                break;
            case MessageType.Heartbeat:
                text.Append($" commit={m.Commit}{(m.Context != 0 ? $" round={m.Context}" : string.Empty)}");
                break;
            case MessageType.HeartbeatResponse:
                text.Append(m.Context != 0 ? $" round={m.Context}" : string.Empty);
                break;
            case MessageType.Snapshot:
                text.Append($" snapshot={m.Snapshot!.Metadata.Index}/{m.Snapshot.Metadata.Term}");
                break;
            default:
                break;
        }

        return text.ToString();
    }
}
