using System.Diagnostics.CodeAnalysis;

namespace Grpc.Core;

/// <summary>Put by codegen on a service base class: names the static type and method that bind it.</summary>
[AttributeUsage(AttributeTargets.Class)]
public class BindServiceMethodAttribute : Attribute
{
    private const DynamicallyAccessedMemberTypes BindMembers = DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods | DynamicallyAccessedMemberTypes.PublicProperties;

    /// <summary>Creates the attribute.</summary>
    public BindServiceMethodAttribute([DynamicallyAccessedMembers(BindMembers)] Type bindType, string bindMethodName)
    {
        BindType = bindType;
        BindMethodName = bindMethodName;
    }

    /// <summary>The static class that holds the bind method (and the service descriptor).</summary>
    [DynamicallyAccessedMembers(BindMembers)]
    public Type BindType { get; }

    /// <summary>The bind method's name.</summary>
    public string BindMethodName { get; }
}
