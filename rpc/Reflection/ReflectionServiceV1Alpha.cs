using Google.Protobuf;
using Grpc.Core;
using Alpha = Grpc.Reflection.V1Alpha;
using V1 = Grpc.Reflection.V1;

namespace Sds.Rpc.Reflection;

/// <summary>
/// Serves <c>grpc.reflection.v1alpha.ServerReflection</c>, which older tools still ask for. Its messages are
/// field-for-field the same as v1, so each is translated through its wire bytes and answered by the same index.
/// </summary>
internal sealed class ReflectionServiceV1Alpha(ReflectionIndex index) : Alpha.ServerReflection.ServerReflectionBase
{
    /// <inheritdoc />
    public override async Task ServerReflectionInfo(IAsyncStreamReader<Alpha.ServerReflectionRequest> requestStream, IServerStreamWriter<Alpha.ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var request = V1.ServerReflectionRequest.Parser.ParseFrom(requestStream.Current.ToByteString());
            var answer = index.Answer(request);
            await responseStream.WriteAsync(Alpha.ServerReflectionResponse.Parser.ParseFrom(answer.ToByteString())).ConfigureAwait(false);
        }
    }
}
