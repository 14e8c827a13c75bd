using System.Collections.Frozen;

namespace Sds.Rpc.Server;

/// <summary>
/// The methods a server serves, keyed by HTTP/2 :path (<c>/package.Service/Method</c>). Filled before the server
/// starts, then frozen: lookups on the request path take no lock.
/// </summary>
internal sealed class MethodRegistry
{
    private readonly Dictionary<string, ServerMethodHandler> building = new(StringComparer.Ordinal);
    private readonly List<string> serviceNames = [];
    private FrozenDictionary<string, ServerMethodHandler>? methods;
    private FrozenSet<string>? services;

    /// <summary>Names of the registered services, in registration order.</summary>
    public IReadOnlyList<string> ServiceNames => serviceNames;

    /// <summary>Adds a method; a duplicate path is a programming error.</summary>
    public void Add(ServerMethodHandler handler)
    {
        Invariant.Assert(methods is null, "methods are added before the server starts");
        if (!building.TryAdd(handler.Method.FullName, handler))
        {
            throw new ArgumentException($"Method {handler.Method.FullName} is registered twice.");
        }

        if (!serviceNames.Contains(handler.Method.ServiceName))
        {
            serviceNames.Add(handler.Method.ServiceName);
        }
    }

    /// <summary>Freezes the registry for lock-free lookups.</summary>
    public void Freeze()
    {
        methods = building.ToFrozenDictionary(StringComparer.Ordinal);
        services = serviceNames.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Finds the handler of a :path.</summary>
    public bool TryGet(string? path, out ServerMethodHandler handler)
    {
        Invariant.Assert(methods is not null, "registry is frozen before requests arrive");
        if (path is null)
        {
            handler = null!;
            return false;
        }

        return methods.TryGetValue(path, out handler!);
    }

    /// <summary>True if a :path names a registered service (so the method is what is missing).</summary>
    public bool HasServiceOf(string path)
    {
        Invariant.Assert(services is not null, "registry is frozen before requests arrive");
        if (path.Length < 2 || path[0] != '/')
        {
            return false;
        }

        var slash = path.IndexOf('/', 1);
        return slash > 1 && services.Contains(path.Substring(1, slash - 1));
    }
}
