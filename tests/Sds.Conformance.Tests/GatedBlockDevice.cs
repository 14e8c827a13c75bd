using Sds.Gateway.Block;

namespace Sds.Conformance.Tests;

/// <summary>
/// A real <see cref="MemoryBlockDevice"/> whose FlushAsync (SYNCHRONIZE CACHE) can be held at a gate:
/// a command that stays "executing" for as long as a test needs, so an ordering that otherwise
/// depends on scheduling (a connection's cleanup waiting for its executing commands) is fixed.
/// Every other call goes straight to the memory device.
/// </summary>
internal sealed class GatedBlockDevice : IBlockDevice
{
    private readonly MemoryBlockDevice _inner;
    private TaskCompletionSource _gate = Opened();

    public GatedBlockDevice(long sizeBytes) => _inner = new MemoryBlockDevice(sizeBytes);

    /// <summary>Completes when a FlushAsync reaches the closed gate.</summary>
    public TaskCompletionSource Entered { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Makes the next FlushAsync calls wait until <see cref="Open"/>.</summary>
    public void Close()
    {
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Lets waiting and later FlushAsync calls through.</summary>
    public void Open() => _gate.TrySetResult();

    public long SizeBytes => _inner.SizeBytes;
    public int BlockSizeBytes => _inner.BlockSizeBytes;
    public int ProvisioningGranularityBytes => _inner.ProvisioningGranularityBytes;
    public bool SupportsUnmap => _inner.SupportsUnmap;
    public int AtomicWriteBytesMax => _inner.AtomicWriteBytesMax;

    public async ValueTask<BlockResult> FlushAsync(CancellationToken cancellationToken)
    {
        Entered.TrySetResult();
        // The gate ignores cancellation on purpose: the command must stay executing after an abort.
        await _gate.Task.ConfigureAwait(false);
        return await _inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<BlockResult> WriteAtomicAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken) => _inner.WriteAtomicAsync(offsetBytes, data, forceUnitAccess, cancellationToken);
    public ValueTask<BlockResult> ReadAsync(long offsetBytes, Memory<byte> buffer, CancellationToken cancellationToken) => _inner.ReadAsync(offsetBytes, buffer, cancellationToken);
    public ValueTask<BlockResult> WriteAsync(long offsetBytes, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken) => _inner.WriteAsync(offsetBytes, data, forceUnitAccess, cancellationToken);
    public ValueTask<BlockResult> UnmapAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken) => _inner.UnmapAsync(offsetBytes, lengthBytes, cancellationToken);
    public ValueTask<BlockResult> WriteSameAsync(long offsetBytes, long lengthBytes, ReadOnlyMemory<byte> pattern, bool deallocate, CancellationToken cancellationToken) => _inner.WriteSameAsync(offsetBytes, lengthBytes, pattern, deallocate, cancellationToken);
    public ValueTask<CompareAndWriteResult> CompareAndWriteAsync(long offsetBytes, ReadOnlyMemory<byte> expected, ReadOnlyMemory<byte> data, bool forceUnitAccess, CancellationToken cancellationToken) => _inner.CompareAndWriteAsync(offsetBytes, expected, data, forceUnitAccess, cancellationToken);
    public ValueTask<ProvisioningStatus> GetProvisioningStatusAsync(long offsetBytes, long lengthBytes, CancellationToken cancellationToken) => _inner.GetProvisioningStatusAsync(offsetBytes, lengthBytes, cancellationToken);
    public ValueTask<BlockResult> ResizeAsync(long sizeBytes, CancellationToken cancellationToken) => _inner.ResizeAsync(sizeBytes, cancellationToken);

    public void Dispose() => _inner.Dispose();

    private static TaskCompletionSource Opened()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}
