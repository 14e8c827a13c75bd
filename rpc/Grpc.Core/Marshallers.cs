using System.Text;

namespace Grpc.Core;

/// <summary>Factory methods for <see cref="Marshaller{T}"/>.</summary>
public static class Marshallers
{
    /// <summary>A UTF-8 string marshaller.</summary>
    public static Marshaller<string> StringMarshaller { get; } = new(static s => Encoding.UTF8.GetBytes(s), static b => Encoding.UTF8.GetString(b));

    /// <summary>Creates a marshaller from array-based functions.</summary>
    public static Marshaller<T> Create<T>(Func<T, byte[]> serializer, Func<byte[], T> deserializer) => new(serializer, deserializer);

    /// <summary>Creates a marshaller from context-based functions.</summary>
    public static Marshaller<T> Create<T>(Action<T, SerializationContext> serializer, Func<DeserializationContext, T> deserializer) => new(serializer, deserializer);
}
