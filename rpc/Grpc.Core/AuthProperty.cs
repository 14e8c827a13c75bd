namespace Grpc.Core;

/// <summary>One property of an authenticated peer.</summary>
public class AuthProperty
{
    /// <summary>Creates a property.</summary>
    public AuthProperty(string name, string value)
    {
        Name = name;
        Value = value;
    }

    /// <summary>Property name.</summary>
    public string Name { get; }

    /// <summary>Property value.</summary>
    public string Value { get; }
}
