using Grpc.Core;
using Grpc.Reflection.V1;

namespace Sds.Rpc.Reflection;

/// <summary>Serves <c>grpc.reflection.v1.ServerReflection</c> from the server's <see cref="ReflectionIndex"/>.</summary>
internal sealed class ReflectionServiceV1(ReflectionIndex index) : ServerReflection.ServerReflectionBase
{
    /// <inheritdoc />
    public override async Task ServerReflectionInfo(IAsyncStreamReader<ServerReflectionRequest> requestStream, IServerStreamWriter<ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(index.Answer(requestStream.Current)).ConfigureAwait(false);
        }
    }
}
