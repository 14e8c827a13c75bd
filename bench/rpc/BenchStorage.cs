using Grpc.Core;
using Sds.Proto.V1;

namespace Sds.Rpc.Bench;

/// <summary>
/// A Storage service that acknowledges every write at once, so the benchmark measures the transport and not a
/// chunk store. Responses are allocated per message, as a real service would.
/// </summary>
internal sealed class BenchStorage : Storage.StorageBase
{
    private static readonly IoStatus Ok = new() { Code = IoStatusCode.Ok };

    public override Task<WriteResponse> Write(WriteRequest request, ServerCallContext context) => Task.FromResult(new WriteResponse { Status = Ok });

    public override async Task Io(IAsyncStreamReader<IoRequest> requestStream, IServerStreamWriter<IoResponse> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var request = requestStream.Current;
            await responseStream.WriteAsync(new IoResponse { Id = request.Id, Write = new WriteResponse { Status = Ok } }).ConfigureAwait(false);
        }
    }
}
