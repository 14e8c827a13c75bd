using System.Buffers.Binary;

namespace Sds.Raft;

/// <summary>
/// A single-server membership change carried in an <see cref="EntryType.ConfChange"/> entry.
/// </summary>
/// <remarks>
/// Raft thesis §4.1: changing one server at a time keeps every majority of the old configuration
/// overlapping every majority of the new one, so no joint consensus is needed. This implementation
/// applies a change when its entry is <em>applied</em> (as etcd-raft does), and the leader accepts a new
/// change only when the previous one is applied and an entry of its own term is committed (the leader's
/// no-op), which closes the single-server bug Ongaro described on raft-dev (2015).
/// </remarks>
/// <param name="Type">What to change.</param>
/// <param name="NodeId">The node it applies to.</param>
public readonly record struct ConfChange(ConfChangeType Type, ulong NodeId)
{
    /// <summary>Encoded size, in bytes.</summary>
    public const int EncodedSizeBytes = 9;

    /// <summary>Encodes the change for an entry payload.</summary>
    public byte[] Encode()
    {
        byte[] bytes = new byte[EncodedSizeBytes];
        bytes[0] = (byte)Type;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), NodeId);
        return bytes;
    }

    /// <summary>Decodes an entry payload; false when it is not a well-formed change.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ConfChange change)
    {
        change = default;
        if (bytes.Length != EncodedSizeBytes || bytes[0] > (byte)ConfChangeType.RemoveNode)
        {
            return false;
        }

        change = new ConfChange((ConfChangeType)bytes[0], BinaryPrimitives.ReadUInt64LittleEndian(bytes[1..]));
        return change.NodeId != 0;
    }
}
