using Sds.Raft;

namespace Sds.Storage.Replication;

/// <summary>One unit of work for the event loop; which fields matter depends on <see cref="Kind"/>.</summary>
internal readonly record struct LoopItem(LoopItemKind Kind, ulong GroupId, Message? Message = null, ulong Member = 0, bool Failed = false, PgOperation? Operation = null, object? State = null);
