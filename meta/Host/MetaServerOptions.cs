namespace Sds.Meta.Host;

/// <summary>What <see cref="MetaServer"/> needs: the member, its peers and where to serve.</summary>
internal sealed class MetaServerOptions
{
    /// <summary>This member's Raft id.</summary>
    public required ulong Id { get; init; }

    /// <summary>Every member's Raft id → peer address (host:port), this member included. The peer address serves Raft and the API.</summary>
    public required IReadOnlyDictionary<ulong, string> Peers { get; init; }

    /// <summary>Extra endpoint for the management API (host:port), or null.</summary>
    public string? ApiEndpoint { get; init; }

    /// <summary>Raft tuning and data directory; Id and Voters are taken from this object.</summary>
    public required MetaNodeOptions Node { get; init; }
}
