namespace Grpc.Core;

/// <summary>Turns messages of type <typeparamref name="T"/> into payload bytes and back.</summary>
public class Marshaller<T>
{
    /// <summary>Creates a marshaller from array-based functions.</summary>
    public Marshaller(Func<T, byte[]> serializer, Func<byte[], T> deserializer)
    {
        Serializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        Deserializer = deserializer ?? throw new ArgumentNullException(nameof(deserializer));
        ContextualSerializer = EmulateContextualSerializer;
        ContextualDeserializer = EmulateContextualDeserializer;
    }

    /// <summary>Creates a marshaller from context-based functions (the generated stubs use this one).</summary>
    public Marshaller(Action<T, SerializationContext> serializer, Func<DeserializationContext, T> deserializer)
    {
        ContextualSerializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        ContextualDeserializer = deserializer ?? throw new ArgumentNullException(nameof(deserializer));
        Serializer = EmulateSimpleSerializer;
        Deserializer = EmulateSimpleDeserializer;
    }

    /// <summary>Array-based serializer.</summary>
    public Func<T, byte[]> Serializer { get; }

    /// <summary>Array-based deserializer.</summary>
    public Func<byte[], T> Deserializer { get; }

    /// <summary>Context-based serializer; the transport always calls this one.</summary>
    public Action<T, SerializationContext> ContextualSerializer { get; }

    /// <summary>Context-based deserializer; the transport always calls this one.</summary>
    public Func<DeserializationContext, T> ContextualDeserializer { get; }

    private void EmulateContextualSerializer(T message, SerializationContext context) => context.Complete(Serializer(message));

    private T EmulateContextualDeserializer(DeserializationContext context) => Deserializer(context.PayloadAsNewBuffer());

    private byte[] EmulateSimpleSerializer(T message)
    {
        var context = new ArraySerializationContext();
        ContextualSerializer(message, context);
        return context.Payload;
    }

    private T EmulateSimpleDeserializer(byte[] payload) => ContextualDeserializer(new ArrayDeserializationContext(payload));

    /// <summary>Collects one payload into an array; used only by the array-based emulation.</summary>
    private sealed class ArraySerializationContext : SerializationContext
    {
        private System.Buffers.ArrayBufferWriter<byte>? writer;

        public byte[] Payload { get; private set; } = [];

        public override void Complete(byte[] payload) => Payload = payload;

        public override System.Buffers.IBufferWriter<byte> GetBufferWriter() => writer ??= new System.Buffers.ArrayBufferWriter<byte>();

        public override void Complete() => Payload = writer is null ? [] : writer.WrittenSpan.ToArray();
    }

    /// <summary>Exposes one array as a payload; used only by the array-based emulation.</summary>
    private sealed class ArrayDeserializationContext(byte[] payload) : DeserializationContext
    {
        public override int PayloadLength => payload.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

        public override System.Buffers.ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }
}
