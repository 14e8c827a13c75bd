namespace Grpc.Core;

/// <summary>What the transport knows about the peer's identity.</summary>
public class AuthContext
{
    private readonly Dictionary<string, List<AuthProperty>> properties;

    /// <summary>Creates the context.</summary>
    public AuthContext(string? peerIdentityPropertyName, Dictionary<string, List<AuthProperty>> properties)
    {
        PeerIdentityPropertyName = peerIdentityPropertyName;
        this.properties = properties ?? throw new ArgumentNullException(nameof(properties));
    }

    /// <summary>Name of the property that identifies the peer, if authenticated.</summary>
    public string? PeerIdentityPropertyName { get; }

    /// <summary>True if the peer is authenticated.</summary>
    public bool IsPeerAuthenticated => PeerIdentityPropertyName is not null;

    /// <summary>Properties that identify the peer.</summary>
    public IEnumerable<AuthProperty> PeerIdentity => PeerIdentityPropertyName is null ? [] : FindPropertiesByName(PeerIdentityPropertyName);

    /// <summary>Every property.</summary>
    public IEnumerable<AuthProperty> Properties
    {
        get
        {
            foreach (var list in properties.Values)
            {
                foreach (var property in list)
                {
                    yield return property;
                }
            }
        }
    }

    /// <summary>Properties with a given name.</summary>
    public IEnumerable<AuthProperty> FindPropertiesByName(string propertyName) => properties.TryGetValue(propertyName, out var list) ? list : [];
}
