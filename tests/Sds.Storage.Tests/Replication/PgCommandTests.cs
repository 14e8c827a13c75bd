using System.Diagnostics;
using Sds.Storage.Chunks;
using Sds.Storage.Replication;

namespace Sds.Storage.Tests.Replication;

/// <summary>The PG entry codec: header fields, body, and the optional trace context of a sampled proposer.</summary>
public sealed class PgCommandTests
{
    [Fact]
    public void UntracedCommandRoundTripsWithoutATraceContext()
    {
        var chunk = new ChunkKey(Guid.NewGuid(), 7);
        byte[] payload = PgCommand.Create(PgCommandKind.WriteSame, chunk, 4096, 8192, 1, 3, out Span<byte> body);
        body.Fill(0xAB);
        Assert.Equal(PgCommand.HeaderBytes + 3, payload.Length); // nothing extra when not traced
        Assert.True(PgCommand.TryDecode(payload, out PgCommand command));
        Assert.Equal((PgCommandKind.WriteSame, chunk, 4096L, 8192, (byte)1), (command.Kind, command.Chunk, command.OffsetBytes, command.LengthBytes, command.Flags));
        Assert.Equal(new byte[] { 0xAB, 0xAB, 0xAB }, command.Body.ToArray());
        Assert.Equal(default, command.TraceContext);
    }

    [Fact]
    public void SampledProposerTravelsInTheEntryAndLeavesFlagsAndBodyAlone()
    {
        using var source = new ActivitySource("pg-command-test");
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "pg-command-test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using Activity proposer = source.StartActivity("leader")!;
        var chunk = new ChunkKey(Guid.NewGuid(), 1);
        byte[] payload = PgCommand.Create(PgCommandKind.WriteSame, chunk, 0, 512, 1, 2, out Span<byte> body);
        body[0] = 1;
        body[1] = 2;
        Assert.Equal(PgCommand.HeaderBytes + PgCommand.TraceContextBytes + 2, payload.Length);
        Assert.True(PgCommand.TryDecode(payload, out PgCommand command));
        Assert.Equal((byte)1, command.Flags); // the codec's flag is not the command's
        Assert.Equal(new byte[] { 1, 2 }, command.Body.ToArray());
        Assert.Equal(proposer.TraceId, command.TraceContext.TraceId);
        Assert.Equal(proposer.SpanId, command.TraceContext.SpanId);
        Assert.True(command.TraceContext.TraceFlags.HasFlag(ActivityTraceFlags.Recorded));
    }

    [Fact]
    public void TruncatedTraceContextIsRefused()
    {
        byte[] payload = PgCommand.Create(PgCommandKind.Flush, default, 0, 0, 0, 0, out _);
        payload[37] |= PgCommand.TracedFlag; // claims a context it does not carry
        Assert.False(PgCommand.TryDecode(payload, out _));
    }
}
