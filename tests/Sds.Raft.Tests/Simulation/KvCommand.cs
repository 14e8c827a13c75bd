using System.Buffers.Binary;

namespace Sds.Raft.Tests.Simulation;

/// <summary>The simulated application's only command: set register <see cref="Key"/> to <see cref="WriteId"/>.</summary>
internal readonly record struct KvCommand(ulong WriteId, int Key)
{
    public const int SizeBytes = 12;

    public byte[] Encode()
    {
        byte[] bytes = new byte[SizeBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, WriteId);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), Key);
        return bytes;
    }

    public static bool TryDecode(Entry entry, out KvCommand command)
    {
        command = default;
        if (entry.Type != EntryType.Normal || entry.Data.Length != SizeBytes)
        {
            return false;
        }

        ReadOnlySpan<byte> span = entry.Data.Span;
        command = new KvCommand(BinaryPrimitives.ReadUInt64LittleEndian(span), BinaryPrimitives.ReadInt32LittleEndian(span[8..]));
        return true;
    }
}
