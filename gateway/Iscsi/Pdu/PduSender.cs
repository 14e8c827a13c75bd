using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Sds.Gateway.Iscsi.Pdu;

/// <summary>
/// Writes target PDUs on one connection through a <see cref="PipeWriter"/>. One async lock
/// serializes writers (SCSI completions finish on any thread); StatSN is assigned under it.
/// </summary>
/// <remarks>
/// Batching: the read loop sends with <c>flush: false</c> and calls <see cref="FlushPendingAsync"/>
/// just before it would block waiting for more input (<see cref="PduReceiver.BeforeWait"/>), so the
/// answers to every PDU that arrived in one TCP read leave in one send. Nothing waits on a timer:
/// a deferred PDU is flushed at the latest when the read loop runs out of input.
/// </remarks>
internal sealed class PduSender
{
    private readonly PipeWriter _writer;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private ICommandWindow _window;
    private uint _statSN;
    private bool _broken;
    // Written but not yet flushed (read-loop sends with flush: false); cleared by every flush.
    private volatile bool _pendingFlush;

    /// <summary>Creates a sender over <paramref name="writer"/> advertising <paramref name="window"/>.</summary>
    public PduSender(PipeWriter writer, ICommandWindow window)
    {
        _writer = writer;
        _window = window;
    }

    /// <summary>Whether HeaderDigest=CRC32C is in effect.</summary>
    public bool HeaderDigest { get; set; }

    /// <summary>Whether DataDigest=CRC32C is in effect.</summary>
    public bool DataDigest { get; set; }

    /// <summary>Whether a write has failed (the connection is going away).</summary>
    public bool Broken => _broken;

    /// <summary>Whether deferred PDUs wait for a flush (diagnostics).</summary>
    public bool PendingFlush => _pendingFlush;

    /// <summary>Sets the initial StatSN (RFC 7143 §11.12.8: from the first login's ExpStatSN).</summary>
    public void InitializeStatSN(uint statSN) => _statSN = statSN;

    /// <summary>The next StatSN to be used.</summary>
    public uint NextStatSN => Volatile.Read(ref _statSN);

    /// <summary>Switches the advertised window (from the login's to the session's).</summary>
    public void UseWindow(ICommandWindow window) => _window = window;

    /// <summary>Sends one PDU and flushes. Returns false when the connection is broken.</summary>
    public ValueTask<bool> SendAsync(PduTemplate template, ReadOnlyMemory<byte> data) => SendAsync(template, data, flush: true);

    /// <summary>
    /// Sends one PDU; with <paramref name="flush"/> false it stays buffered until the next flush
    /// (only the read loop does that, see the remarks). Returns false when the connection is broken.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> SendAsync(PduTemplate template, ReadOnlyMemory<byte> data, bool flush)
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_broken) return false;
            WritePdu(ref template, data.Span);
            if (!flush)
            {
                _pendingFlush = true;
                return true;
            }
            return await FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>
    /// Sends the Data-In sequence of one read (RFC 7143 §10.7): PDUs of at most
    /// <paramref name="segmentLengthMax"/> bytes, DataSN from 0, F at every MaxBurstLength boundary,
    /// and status in the last PDU (S bit) when <paramref name="collapseStatus"/> is set.
    /// <paramref name="last"/> supplies flags/status/residual of the final PDU.
    /// Returns the number of Data-In PDUs sent (the ExpDataSN of a following SCSI Response), or -1 when broken.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> SendDataInAsync(PduTemplate first, ReadOnlyMemory<byte> data, int segmentLengthMax, int burstLengthMax, bool collapseStatus, PduTemplate last, bool flush = true)
    {
        Invariant.Assert(segmentLengthMax > 0 && burstLengthMax > 0, "segment and burst sizes are positive");
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_broken) return -1;
            int offset = 0;
            uint dataSN = 0;
            int burstUsed = 0;
            int unflushed = 0;
            while (offset < data.Length)
            {
                int length = Math.Min(Math.Min(segmentLengthMax, data.Length - offset), burstLengthMax - burstUsed);
                bool final = offset + length == data.Length;
                PduTemplate pdu = final && collapseStatus ? last : first;
                pdu.Field36 = dataSN;
                pdu.Field40 = (uint)offset;
                burstUsed += length;
                // RFC 7143 §11.7.1: F ends each sequence (burst) and the last PDU of the command.
                if (final || burstUsed == burstLengthMax) pdu.Flags |= 0x80;
                else pdu.Flags = (byte)(pdu.Flags & ~0x80);
                if (burstUsed == burstLengthMax) burstUsed = 0;
                if (!(final && collapseStatus))
                {
                    pdu.StatSN = StatSNPolicy.None;
                    pdu.Flags &= 0x80;
                    pdu.Byte3 = 0;
                    pdu.Field44 = 0;
                }
                WritePdu(ref pdu, data.Span.Slice(offset, length));
                offset += length;
                dataSN++;
                unflushed += length;
                if (unflushed >= 256 * 1024 && !final)
                {
                    if (!await FlushAsync().ConfigureAwait(false)) return -1;
                    unflushed = 0;
                }
            }
            if (!flush)
            {
                _pendingFlush = true;
                return (int)dataSN;
            }
            return await FlushAsync().ConfigureAwait(false) ? (int)dataSN : -1;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Flushes what deferred sends left buffered; returns false when the connection is broken.</summary>
    public ValueTask<bool> FlushPendingAsync()
    {
        if (!_pendingFlush) return new(!_broken);
        return FlushPendingLockedAsync();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushPendingLockedAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_broken) return false;
            if (!_pendingFlush) return true;
            return await FlushAsync().ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Marks the sender broken so later sends fail fast.</summary>
    public void MarkBroken() => _broken = true;

    private void WritePdu(ref PduTemplate template, ReadOnlySpan<byte> data)
    {
        Invariant.Assert(data.Length <= 0xFF_FFFF, "DataSegmentLength is 24 bits");
        int headerLength = IscsiLimits.BhsLengthBytes + (HeaderDigest ? 4 : 0);
        Span<byte> header = _writer.GetSpan(headerLength)[..headerLength];
        header.Clear();
        var bhs = new Bhs(header[..IscsiLimits.BhsLengthBytes]);
        bhs.Opcode = template.Opcode;
        bhs.Flags = template.Flags;
        bhs.Byte2 = template.Byte2;
        bhs.Byte3 = template.Byte3;
        bhs.DataSegmentLength = data.Length;
        bhs.Lun = template.Lun;
        bhs.InitiatorTaskTag = template.InitiatorTaskTag;
        bhs.Field20 = template.Field20;
        switch (template.StatSN)
        {
            case StatSNPolicy.Current: bhs.Field24 = _statSN; break;
            case StatSNPolicy.Advance: bhs.Field24 = _statSN; _statSN = unchecked(_statSN + 1); break;
        }
        if (template.CarriesCommandWindow)
        {
            _window.Read(out uint expCmdSN, out uint maxCmdSN);
            bhs.Field28 = expCmdSN;
            bhs.Field32 = maxCmdSN;
        }
        bhs.Field36 = template.Field36;
        bhs.Field40 = template.Field40;
        bhs.Field44 = template.Field44;
        if (HeaderDigest)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header[IscsiLimits.BhsLengthBytes..], Crc32C.Compute(header[..IscsiLimits.BhsLengthBytes]));
        }
        _writer.Advance(headerLength);
        if (data.Length == 0) return;
        _writer.Write(data);
        int padding = Bhs.Padded(data.Length) - data.Length;
        Span<byte> tail = _writer.GetSpan(8);
        tail[..padding].Clear();
        int tailLength = padding;
        if (DataDigest)
        {
            uint crc = Crc32C.Append(Crc32C.Seed, data);
            crc = Crc32C.Append(crc, tail[..padding]);
            BinaryPrimitives.WriteUInt32LittleEndian(tail[padding..], Crc32C.Finish(crc));
            tailLength += 4;
        }
        _writer.Advance(tailLength);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FlushAsync()
    {
        _pendingFlush = false;
        try
        {
            FlushResult result = await _writer.FlushAsync().ConfigureAwait(false);
            if (result.IsCompleted || result.IsCanceled) _broken = true;
        }
        catch (IOException)
        {
            _broken = true;
        }
        catch (ObjectDisposedException)
        {
            _broken = true;
        }
        catch (InvalidOperationException)
        {
            _broken = true;
        }
        return !_broken;
    }
}
