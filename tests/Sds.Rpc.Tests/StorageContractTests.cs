using Google.Protobuf;
using Grpc.Core;
using Grpc.Reflection.V1;
using Sds.Proto.V1;

namespace Sds.Rpc.Tests;

/// <summary>
/// Proves the real sds.v1 contracts work end to end over our transport: the Storage.Io bidi stream with
/// out-of-order responses matched by id, NOT_LEADER / STALE_EPOCH values carried as data, and reflection serving
/// storage.proto together with the raft.proto it imports.
/// </summary>
public sealed class StorageContractTests
{
    [Fact]
    public async Task Io_stream_carries_requests_and_redirects_as_values()
    {
        await using var server = new GrpcServer(new GrpcServerOptions { Endpoints = { "127.0.0.1:0" } });
        server.AddService(Storage.BindService(new FakeStorage()));
        await server.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Addresses[0]);
        var client = new Storage.StorageClient(channel);

        using var io = client.Io(deadline: DateTime.UtcNow.AddSeconds(30));
        var data = ByteString.CopyFrom(new byte[4096]);
        await io.RequestStream.WriteAsync(new IoRequest { Id = 1, Write = new WriteRequest { Target = new IoTarget { VolumeId = "v", ChunkIndex = 0, PgId = 7, PgEpoch = 3 }, Data = data } });
        await io.RequestStream.WriteAsync(new IoRequest { Id = 2, Read = new ReadRequest { Target = new IoTarget { VolumeId = "v", PgId = 8, PgEpoch = 3 }, LengthBytes = 512 } });
        await io.RequestStream.WriteAsync(new IoRequest { Id = 3, Read = new ReadRequest { Target = new IoTarget { VolumeId = "v", PgId = 7, PgEpoch = 2 }, LengthBytes = 512 } });
        await io.RequestStream.CompleteAsync();

        var responses = new Dictionary<ulong, IoResponse>();
        await foreach (var response in io.ResponseStream.ReadAllAsync())
        {
            responses.Add(response.Id, response);
        }

        Assert.Equal(IoStatusCode.Ok, responses[1].Write.Status.Code);
        Assert.Equal(IoStatusCode.NotLeader, responses[2].Read.Status.Code);
        Assert.Equal("127.0.0.1:7002", responses[2].Read.Status.LeaderAddress);
        Assert.Equal(IoStatusCode.StaleEpoch, responses[3].Read.Status.Code);
        Assert.Equal(3UL, responses[3].Read.Status.CurrentEpoch);

        var reflection = new ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo(deadline: DateTime.UtcNow.AddSeconds(30));
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "sds.v1.IoRequest" });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto
            .Select(bytes => Google.Protobuf.Reflection.FileDescriptorProto.Parser.ParseFrom(bytes).Name).ToList();
        Assert.Equal("sds/v1/storage.proto", names[0]);
        Assert.Contains("sds/v1/raft.proto", names);
        await call.RequestStream.CompleteAsync();
    }

    /// <summary>Leads PG 7 at epoch 3; PG 8's leader is elsewhere. Answers in reverse order to prove ids matter.</summary>
    private sealed class FakeStorage : Storage.StorageBase
    {
        public override async Task Io(IAsyncStreamReader<IoRequest> requestStream, IServerStreamWriter<IoResponse> responseStream, ServerCallContext context)
        {
            var pending = new Stack<IoResponse>();
            await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
            {
                var target = request.OpCase == IoRequest.OpOneofCase.Write ? request.Write.Target : request.Read.Target;
                var status = new IoStatus { Code = IoStatusCode.Ok };
                if (target.PgId != 7)
                {
                    status = new IoStatus { Code = IoStatusCode.NotLeader, LeaderNodeId = "storage-2", LeaderAddress = "127.0.0.1:7002" };
                }
                else if (target.PgEpoch != 3)
                {
                    status = new IoStatus { Code = IoStatusCode.StaleEpoch, CurrentEpoch = 3 };
                }

                pending.Push(request.OpCase == IoRequest.OpOneofCase.Write
                    ? new IoResponse { Id = request.Id, Write = new WriteResponse { Status = status } }
                    : new IoResponse { Id = request.Id, Read = new ReadResponse { Status = status } });
            }

            while (pending.Count > 0)
            {
                await responseStream.WriteAsync(pending.Pop());
            }
        }
    }
}
