namespace Sds.Raft.Tests.Simulation;

/// <summary>
/// Checks a register history for linearizability given the write order Raft chose (the committed log).
/// Writes carry unique values, so every read names the write it saw; with writes totally ordered by log
/// index, a linearization exists iff, per key:
/// (1) writes respect real time: a write acknowledged before another was invoked has the smaller index;
/// (2) no read sees the future: every write at or before the one it saw was invoked before the read ended;
/// (3) no read is stale: no write after the one it saw was acknowledged before the read began;
/// (4) reads respect real time among themselves: a read that began after another ended sees the same or a later write.
/// Writes that were committed but never acknowledged may take effect at any time after their invocation.
/// </summary>
internal static class LinearizabilityChecker
{
    public static void Check(IReadOnlyList<ClientOperation> operations, IReadOnlyList<CommittedEntry> committed, int keys)
    {
        for (int key = 0; key < keys; key++)
        {
            CheckKey(operations, committed, key);
        }
    }

    private static void CheckKey(IReadOnlyList<ClientOperation> operations, IReadOnlyList<CommittedEntry> committed, int key)
    {
        // Writes of this key that made it into the committed log, in log order.
        List<ClientOperation> writes = [];
        List<ClientOperation> reads = [];
        foreach (ClientOperation operation in operations)
        {
            if (operation.Key != key)
            {
                continue;
            }

            if (!operation.IsWrite)
            {
                if (operation.IsComplete)
                {
                    reads.Add(operation);
                }

                continue;
            }

            bool inLog = operation.Index > 0 && operation.Index < (ulong)committed.Count && committed[(int)operation.Index].Term == operation.Term;
            if (inLog)
            {
                writes.Add(operation);
            }
            else if (operation.IsComplete)
            {
                throw new SimulationViolation("linearizability", $"{operation} acknowledged but not in the committed log");
            }
        }

        writes.Sort(static (a, b) => a.Index.CompareTo(b.Index));

        // (1) Acknowledged-before-invoked implies log order.
        for (int i = 0; i < writes.Count; i++)
        {
            for (int j = i + 1; j < writes.Count; j++)
            {
                if (writes[j].IsComplete && writes[j].CompleteStep < writes[i].InvokeStep)
                {
                    throw new SimulationViolation("linearizability", $"{writes[j]} acknowledged before {writes[i]} began, yet ordered after it");
                }
            }
        }

        // Prefix max of invocation and suffix min of acknowledgement, by log position.
        int count = writes.Count;
        long[] prefixMaxInvoke = new long[count + 1];
        long[] suffixMinAck = new long[count + 1];
        prefixMaxInvoke[0] = long.MinValue;
        for (int i = 0; i < count; i++)
        {
            prefixMaxInvoke[i + 1] = Math.Max(prefixMaxInvoke[i], writes[i].InvokeStep);
        }

        suffixMinAck[count] = long.MaxValue;
        for (int i = count - 1; i >= 0; i--)
        {
            suffixMinAck[i] = Math.Min(suffixMinAck[i + 1], writes[i].IsComplete ? writes[i].CompleteStep : long.MaxValue);
        }

        // Position of each read: the number of writes at or before the one it observed.
        int[] positions = new int[reads.Count];
        for (int r = 0; r < reads.Count; r++)
        {
            ClientOperation read = reads[r];
            int position = 0;
            if (read.ObservedWriteId != 0)
            {
                position = writes.FindIndex(w => w.WriteId == read.ObservedWriteId) + 1;
                if (position == 0)
                {
                    throw new SimulationViolation("linearizability", $"{read} observed a write that is not committed");
                }
            }

            positions[r] = position;
            if (prefixMaxInvoke[position] >= read.CompleteStep)
            {
                throw new SimulationViolation("linearizability", $"{read} observed a write invoked after the read completed");
            }

            if (suffixMinAck[position] <= read.InvokeStep)
            {
                throw new SimulationViolation("linearizability", $"{read} is stale: a later write was acknowledged before it began");
            }
        }

        // (4) Reads ordered in real time observe non-decreasing positions.
        int[] order = new int[reads.Count];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => reads[a].CompleteStep.CompareTo(reads[b].CompleteStep));
        int maxPositionCompleted = 0;
        long maxPositionStep = -1;
        int cursor = 0;
        int[] byInvoke = (int[])order.Clone();
        Array.Sort(byInvoke, (a, b) => reads[a].InvokeStep.CompareTo(reads[b].InvokeStep));
        foreach (int r in byInvoke)
        {
            while (cursor < order.Length && reads[order[cursor]].CompleteStep < reads[r].InvokeStep)
            {
                if (positions[order[cursor]] > maxPositionCompleted)
                {
                    maxPositionCompleted = positions[order[cursor]];
                    maxPositionStep = reads[order[cursor]].CompleteStep;
                }

                cursor++;
            }

            if (positions[r] < maxPositionCompleted)
            {
                throw new SimulationViolation("linearizability", $"{reads[r]} saw an older value than a read that completed at step {maxPositionStep}");
            }
        }
    }
}
