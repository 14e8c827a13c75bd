namespace Grpc.Core;

/// <summary>A method descriptor without its message types.</summary>
public interface IMethod
{
    /// <summary>The method's shape.</summary>
    MethodType Type { get; }

    /// <summary>Fully qualified service name, e.g. <c>sds.v1.Storage</c>.</summary>
    string ServiceName { get; }

    /// <summary>Method name within the service, e.g. <c>Io</c>.</summary>
    string Name { get; }

    /// <summary>The HTTP/2 :path of the method: <c>/sds.v1.Storage/Io</c>.</summary>
    string FullName { get; }
}
