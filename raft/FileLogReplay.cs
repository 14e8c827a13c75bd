using System.Buffers.Binary;

namespace Sds.Raft;

/// <summary>State rebuilt while replaying a <see cref="FileRaftLogStorage"/> segment.</summary>
internal sealed class FileLogReplay
{
    public List<Entry> Entries { get; } = [];

    public HardState? HardState { get; private set; }

    public ConfState? Bootstrap { get; private set; }

    public ulong BaseIndex { get; private set; }

    public ulong BaseTerm { get; private set; }

    public long TruncatedBytes { get; set; }

    private readonly List<byte[]> pending = [];

    /// <summary>
    /// Takes one checksummed record. Records are buffered until their group's <see cref="FileRecordType.GroupEnd"/>
    /// and then applied together, so a torn group leaves no trace. Returns true at a group end.
    /// </summary>
    public bool Take(byte[] payload)
    {
        if ((FileRecordType)payload[0] != FileRecordType.GroupEnd)
        {
            pending.Add(payload);
            return false;
        }

        foreach (byte[] record in pending)
        {
            if (!Apply(record))
            {
                // The checksum held, so this is not a torn write: refuse rather than guess.
                throw new InvalidDataException($"raft log record of type {record[0]} is malformed");
            }
        }

        pending.Clear();
        return true;
    }

    /// <summary>Applies one record; false when it is malformed.</summary>
    private bool Apply(byte[] payload)
    {
        ReadOnlySpan<byte> body = payload.AsSpan(1);
        switch ((FileRecordType)payload[0])
        {
            case FileRecordType.Entry when body.Length >= 17:
                Entry entry = new(
                    BinaryPrimitives.ReadUInt64LittleEndian(body), BinaryPrimitives.ReadUInt64LittleEndian(body[8..]),
                    (EntryType)body[16], body[17..].ToArray());
                if (Entries.Count > 0 && entry.Index <= Entries[^1].Index)
                {
                    // A rewrite of the suffix from entry.Index (a new leader's conflicting entries).
                    int keep = entry.Index <= Entries[0].Index ? 0 : (int)(entry.Index - Entries[0].Index);
                    Entries.RemoveRange(keep, Entries.Count - keep);
                }

                if (Entries.Count > 0 && Entries[^1].Index + 1 != entry.Index)
                {
                    return false;
                }

                Entries.Add(entry);
                return true;
            case FileRecordType.HardState when body.Length == 24:
                HardState = new HardState(
                    BinaryPrimitives.ReadUInt64LittleEndian(body), BinaryPrimitives.ReadUInt64LittleEndian(body[8..]),
                    BinaryPrimitives.ReadUInt64LittleEndian(body[16..]));
                return true;
            case FileRecordType.Bootstrap:
                Bootstrap = FileRaftLogStorage.DecodeConfState(body, out _);
                return true;
            case FileRecordType.SnapshotBase when body.Length == 16:
                BaseIndex = BinaryPrimitives.ReadUInt64LittleEndian(body);
                BaseTerm = BinaryPrimitives.ReadUInt64LittleEndian(body[8..]);
                Entries.Clear();
                return true;
            default:
                return false;
        }
    }
}
