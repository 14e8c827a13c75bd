using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Discovery;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Iscsi.Pdu;
using Sds.Gateway.Scsi;

namespace Sds.Gateway.Iscsi.Session;

/// <summary>
/// One TCP connection (RFC 7143 §4.4): it moves PDUs. Its read loop parses each PDU (two-phase:
/// header, then data segment), checks it, and hands work on: login to
/// <see cref="LoginNegotiation"/>, ordering to <see cref="IscsiSession"/>, execution to the
/// SCSI layer through <see cref="IScsiTargetDevice"/>. Responses go out through <see cref="PduSender"/>.
/// Only the read loop touches the Data-Out/R2T state and the TTT map.
/// </summary>
internal sealed class IscsiConnection
{
    private const uint PingTagBit = 0x8000_0000u;

    // Drains poll on real time (they wait for real work to finish); their deadline is on the injected clock.
    private static readonly TimeSpan DrainPollInterval = TimeSpan.FromMilliseconds(1);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly PduReceiver _receiver;
    private readonly PduSender _sender;
    private readonly LoginWindow _loginWindow = new();
    private readonly InboundHeader _header = new();
    private readonly IscsiTargetServer _server;
    private readonly Portal _portal;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stack<ScsiCommandContext> _free = new();
    private readonly object _freeLock = new();
    private readonly Dictionary<uint, ScsiCommandContext> _byTargetTransferTag = new();
    private readonly List<byte> _textAccumulated = new();
    private byte[] _segment = new byte[IscsiLimits.LoginDataSegmentLengthBytesMax];
    private int _contextsCreated;
    private uint _nextTargetTransferTag = 1;
    private IscsiSession? _session;
    private long _lastReceiveTimestamp;
    private long _pingSentTimestamp;
    private uint _pingTag;
    private int _pingOutstanding;
    private int _executing;
    // Commands whose window slot went back before their response and whose context is not back in
    // the pool yet. Invariant: 0 <= _earlySlotReleases <= IscsiLimits.EarlySlotReleasesMax.
    private int _earlySlotReleases;
    private byte[]? _pendingText;
    private int _pendingTextOffset;
    private uint _pendingTextTag;
    private ushort _cid;

    /// <summary>Wraps an accepted socket.</summary>
    public IscsiConnection(Socket socket, Portal portal, IscsiTargetServer server)
    {
        _socket = socket;
        _portal = portal;
        _server = server;
        _logger = server.LoggerFactory.CreateLogger<IscsiConnection>();
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024));
        _receiver = new PduReceiver(_reader);
        _sender = new PduSender(_writer, _loginWindow);
        // One delegate per connection (not per I/O): responses the read loop deferred leave before it blocks.
        _receiver.BeforeWait = _sender.FlushPendingAsync;
        RemoteEndPoint = socket.RemoteEndPoint?.ToString() ?? "?";
    }

    /// <summary>Peer address for logs.</summary>
    public string RemoteEndPoint { get; }

    /// <summary>The session, once logged in.</summary>
    public IscsiSession? Session => _session;

    /// <summary>Completes when the connection is fully cleaned up.</summary>
    public Task Finished => _finished.Task;

    private OperationalParameters Parameters => _session!.Parameters;

    /// <summary>Runs login then full feature phase until the connection ends; never throws.</summary>
    public async Task RunAsync()
    {
        _lastReceiveTimestamp = _server.Options.TimeProvider.GetTimestamp();
        try
        {
            if (await LoginAsync().ConfigureAwait(false))
            {
                _ = KeepAliveAsync();
                await FullFeatureAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (IOException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (Exception exception)
        {
            // The connection boundary catches once (STYLE.md): anything else is a bug in this
            // process. It is logged loudly and costs only this connection, never the server (DESIGN.md §9).
            _logger.LogCritical(exception, "bug: connection from {Remote} failed with an unexpected exception", RemoteEndPoint);
        }
        finally
        {
            await CleanupAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Drops the connection (reinstatement, cold reset, shutdown, keep-alive timeout).</summary>
    public void Abort()
    {
        _closing.Cancel();
        _sender.MarkBroken();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _reader.CancelPendingRead();
    }

    /// <summary>Sends the Async Message "target requests logout" (RFC 7143 §11.9.1, AsyncEvent 1).</summary>
    public async ValueTask RequestLogoutAsync(int seconds)
    {
        if (_session is null) return;
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.AsyncMessage, 0x80, Bhs.ReservedTag);
        pdu.Field36 = 1u << 24; // AsyncEvent=1, AsyncVCode=0, Parameter1=0
        pdu.Field40 = (uint)Math.Clamp(seconds, 0, ushort.MaxValue); // Parameter2=0, Parameter3=seconds to logout
        await _sender.SendAsync(pdu, default).ConfigureAwait(false);
    }

    /// <summary>Appends this connection's state to <paramref name="text"/> (diagnostics only, see <see cref="IscsiSession.Describe"/>).</summary>
    public void Describe(System.Text.StringBuilder text)
    {
        int free;
        lock (_freeLock) free = _free.Count;
        text.Append($"connection {RemoteEndPoint} CID {_cid} receiver {_receiver.State} executing {Volatile.Read(ref _executing)} contexts {_contextsCreated} free {free} TTTs {_byTargetTransferTag.Count} StatSN {_sender.NextStatSN} pendingFlush {_sender.PendingFlush} broken {_sender.Broken} closing {_closing.IsCancellationRequested} ping {Volatile.Read(ref _pingOutstanding)}\n");
        _session?.Describe(text);
    }

    // ---------------------------------------------------------------- login phase

    private async Task<bool> LoginAsync()
    {
        var login = new LoginNegotiation(_server.Catalog, _portal);
        using var timeout = new CancellationTokenSource(_server.Options.LoginTimeout, _server.Options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _closing.Token);
        bool first = true;
        while (true)
        {
            ReceiveStatus status = await _receiver.ReceiveHeaderAsync(_header, linked.Token).ConfigureAwait(false);
            if (status != ReceiveStatus.Ok)
            {
                if (status == ReceiveStatus.DataSegmentTooLong) LogRefused("login data segment over 8192 bytes");
                return false;
            }
            if (_header.Opcode != IscsiOpcode.LoginRequest)
            {
                // RFC 7143 §6.1: only Login Requests are valid before full feature phase.
                LogRefused("non-login PDU during login");
                return false;
            }
            int length = _header.DataSegmentLength;
            status = await _receiver.ReceiveDataAsync(_segment.AsMemory(0, length), linked.Token).ConfigureAwait(false);
            if (status != ReceiveStatus.Ok) return false;
            if (first)
            {
                _sender.InitializeStatSN(_header.Bhs.Field28);
                _loginWindow.Set(_header.Bhs.Field24);
            }
            var response = new TextParameters();
            LoginOutcome outcome = login.Process(_header, _segment.AsSpan(0, length), response, out byte flags);
            LoginStatus loginStatus = login.Status;
            if (first && outcome != LoginOutcome.Failed && login.RequestedTsih != 0)
            {
                // RFC 7143 §6.3.1: a nonzero TSIH adds a connection to a session; we allow one (MaxConnections=1).
                loginStatus = _server.Registry.Find(login.RequestedTsih) is null ? LoginStatus.SessionDoesNotExist : LoginStatus.TooManyConnections;
                outcome = LoginOutcome.Failed;
            }
            first = false;
            ushort tsih = 0;
            if (outcome == LoginOutcome.Complete)
            {
                tsih = await CreateSessionAsync(login).ConfigureAwait(false);
                if (tsih == 0)
                {
                    outcome = LoginOutcome.Failed;
                    loginStatus = LoginStatus.OutOfResources;
                }
            }
            PduTemplate pdu = PduTemplate.For(IscsiOpcode.LoginResponse, outcome == LoginOutcome.Failed ? (byte)0 : flags, login.InitiatorTaskTag);
            pdu.Lun = (login.Isid << 16) | tsih;
            pdu.Field36 = outcome == LoginOutcome.Failed ? (uint)loginStatus << 16 : 0;
            byte[] text = outcome == LoginOutcome.Failed ? Array.Empty<byte>() : response.Encode();
            if (!await _sender.SendAsync(pdu, text).ConfigureAwait(false)) return false;
            if (outcome == LoginOutcome.Failed)
            {
                _logger.LogInformation("login from {Remote} ({Initiator}) refused: {Status}", RemoteEndPoint, login.InitiatorName, loginStatus);
                return false;
            }
            if (outcome == LoginOutcome.Complete)
            {
                // RFC 7143 §13.1: digests start with the first PDU after the final login response.
                _receiver.HeaderDigest = _sender.HeaderDigest = login.Parameters.HeaderDigest;
                _receiver.DataDigest = _sender.DataDigest = login.Parameters.DataDigest;
                _receiver.DataSegmentLengthMax = IscsiLimits.MaxRecvDataSegmentLengthBytes;
                _segment = new byte[IscsiLimits.MaxRecvDataSegmentLengthBytes];
                _cid = login.Cid;
                _logger.LogInformation("{Type} session TSIH {Tsih} from {Initiator} at {Remote} on {Target} (HeaderDigest={HeaderDigest}, DataDigest={DataDigest})",
                    login.SessionType, tsih, login.InitiatorName, RemoteEndPoint, login.Target?.Name ?? "(discovery)", login.Parameters.HeaderDigest ? "CRC32C" : "None", login.Parameters.DataDigest ? "CRC32C" : "None");
                return true;
            }
        }
    }

    private async Task<ushort> CreateSessionAsync(LoginNegotiation login)
    {
        ushort tsih = _server.Registry.AllocateTsih();
        if (tsih == 0) return 0;
        var session = new IscsiSession(tsih, login.Isid, login.InitiatorName, login.SessionType, login.Target, _portal, login.Parameters, login.InitialCmdSN);
        session.Connection = this;
        IscsiSession? old = _server.Registry.Add(session);
        if (old?.Connection is IscsiConnection previous)
        {
            // RFC 7143 §6.3.5: session reinstatement closes the old session (its tasks end) first.
            _logger.LogInformation("reinstating session TSIH {Old} as {New} for {Initiator}", old.Tsih, tsih, login.InitiatorName);
            previous.Abort();
            await WaitAsync(previous.Finished).ConfigureAwait(false);
        }
        if (session.Target is not null)
        {
            // SAM-5 §6.3.4: an initiator that drops a connection and logs in again (libiscsi
            // PreventAllow.ITNexusLoss, Reserve6.ITNexusLoss) must find the old I_T nexus lost:
            // its reservation released, its medium removal prevention ended. The old connection's
            // FIN reached this host before the new connection's SYN, but its read loop may not have
            // run yet; so the sessions of this target whose peer has gone finish their cleanup
            // before this login completes.
            await WaitAsync(_server.DepartingConnections(session.Target.Name, this)).ConfigureAwait(false);
        }
        _session = session;
        _sender.UseWindow(session);
        _server.Registry.BeginNexus(session, old);
        return tsih;
    }

    /// <summary>Waits for other connections' cleanup, at most DrainTimeout (a stuck one must not block logins forever).</summary>
    private async Task WaitAsync(Task cleanup)
    {
        try
        {
            await cleanup.WaitAsync(_server.Options.DrainTimeout, _server.Options.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("an earlier connection's cleanup outlasted {Timeout}; login from {Remote} goes on", _server.Options.DrainTimeout, RemoteEndPoint);
        }
    }

    /// <summary>
    /// Whether the peer has closed its end (or the connection is already going away): the socket is
    /// readable with nothing left to read. Used by logins on other connections (see CreateSessionAsync).
    /// </summary>
    public bool IsDeparting
    {
        get
        {
            if (_closing.IsCancellationRequested) return true;
            try
            {
                return _socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0;
            }
            catch (SocketException)
            {
                return true;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        }
    }

    // ---------------------------------------------------------------- full feature phase

    private async Task FullFeatureAsync()
    {
        CancellationToken token = _closing.Token;
        while (!token.IsCancellationRequested)
        {
            ReceiveStatus status = await _receiver.ReceiveHeaderAsync(_header, token).ConfigureAwait(false);
            switch (status)
            {
                case ReceiveStatus.EndOfStream:
                    return;
                case ReceiveStatus.HeaderDigestError:
                    // RFC 7143 §7.8: a header digest error leaves the PDU boundary unknown.
                    LogRefused("header digest error");
                    return;
                case ReceiveStatus.DataSegmentTooLong:
                    LogRefused("data segment over MaxRecvDataSegmentLength");
                    await SendRejectAsync(RejectReason.ProtocolError).ConfigureAwait(false);
                    return;
            }
            Volatile.Write(ref _lastReceiveTimestamp, _server.Options.TimeProvider.GetTimestamp());
            ConnectionVerdict verdict = await DispatchAsync(token).ConfigureAwait(false);
            if (verdict == ConnectionVerdict.Close) return;
        }
    }

    private ValueTask<ConnectionVerdict> DispatchAsync(CancellationToken token)
    {
        bool discovery = _session!.Type == SessionType.Discovery;
        switch (_header.Opcode)
        {
            case IscsiOpcode.NopOut: return HandleNopOutAsync(token);
            case IscsiOpcode.ScsiCommand when !discovery: return HandleScsiCommandAsync(token);
            case IscsiOpcode.TaskManagementRequest when !discovery: return HandleTaskManagementAsync(token);
            case IscsiOpcode.TextRequest: return HandleTextAsync(token);
            case IscsiOpcode.ScsiDataOut when !discovery: return HandleDataOutAsync(token);
            case IscsiOpcode.LogoutRequest: return HandleLogoutAsync(token);
            case IscsiOpcode.LoginRequest:
                // RFC 7143 §11.12: a Login Request in full feature phase is a protocol error.
                return SkipAndRejectAsync(RejectReason.ProtocolError, token);
            case IscsiOpcode.SnackRequest:
                // ErrorRecoveryLevel=0: no SNACK support (§11.16).
                return SkipAndRejectAsync(RejectReason.SnackReject, token);
            case IscsiOpcode.ScsiCommand:
            case IscsiOpcode.TaskManagementRequest:
            case IscsiOpcode.ScsiDataOut:
                // §4.3: a discovery session carries only Text and Logout (and NOP).
                return SkipAndRejectAsync(RejectReason.ProtocolError, token);
            default:
                return SkipAndRejectAsync(RejectReason.CommandNotSupported, token);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> SkipAndRejectAsync(RejectReason reason, CancellationToken token)
    {
        _logger.LogDebug("reject {Reason} for opcode 0x{Opcode:x2} from {Remote}", reason, (byte)_header.Opcode, RemoteEndPoint);
        if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok) return ConnectionVerdict.Close;
        return await SendRejectAsync(reason).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> SendRejectAsync(RejectReason reason)
    {
        // RFC 7143 §11.17: the data segment carries the complete header of the rejected PDU.
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.Reject, 0x80, Bhs.ReservedTag);
        pdu.Byte2 = (byte)reason;
        return await _sender.SendAsync(pdu, _header.BhsBytes).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<(ReceiveStatus Status, int Length)> ReceiveSegmentAsync(CancellationToken token)
    {
        int length = _header.DataSegmentLength;
        Invariant.Assert(length <= _segment.Length, "the receiver bounds the data segment");
        ReceiveStatus status = await _receiver.ReceiveDataAsync(_segment.AsMemory(0, length), token).ConfigureAwait(false);
        return (status, length);
    }

    // ---------------------------------------------------------------- NOP

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> HandleNopOutAsync(CancellationToken token)
    {
        uint itt = _header.Bhs.InitiatorTaskTag;
        uint ttt = _header.Bhs.Field20;
        uint cmdSN = _header.Bhs.Field24;
        bool immediate = _header.Bhs.Immediate;
        ulong lun = _header.Bhs.Lun;
        (ReceiveStatus status, int length) = await ReceiveSegmentAsync(token).ConfigureAwait(false);
        if (status == ReceiveStatus.DataDigestError) return await SendRejectAsync(RejectReason.DataDigestError).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        if (status != ReceiveStatus.Ok) return ConnectionVerdict.Close;
        if (ttt != Bhs.ReservedTag)
        {
            // RFC 7143 §11.18.3: the answer to our NOP-In ping.
            if (ttt == _pingTag) Volatile.Write(ref _pingOutstanding, 0);
            return ConnectionVerdict.Continue;
        }
        if (itt == Bhs.ReservedTag)
        {
            // §11.18.2: ITT 0xffffffff asks for no answer (and must be immediate).
            return ConnectionVerdict.Continue;
        }
        AdmitResult admit = _session!.Admit(cmdSN, immediate, null);
        if (admit is AdmitResult.OutOfWindow or AdmitResult.Duplicate) return ConnectionVerdict.Continue;
        // §11.19: a ping is answered with a NOP-In echoing the data.
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.NopIn, 0x80, itt);
        pdu.Lun = lun;
        bool sent = await _sender.SendAsync(pdu, _segment.AsMemory(0, length)).ConfigureAwait(false);
        await DeliverQueuedAsync().ConfigureAwait(false);
        return sent ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
    }

    private async Task KeepAliveAsync()
    {
        TimeProvider clock = _server.Options.TimeProvider;
        TimeSpan interval = _server.Options.NopInInterval;
        TimeSpan period = interval / 2 < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : interval / 2;
        using var timer = new PeriodicTimer(period, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(_closing.Token).ConfigureAwait(false))
            {
                if (Volatile.Read(ref _pingOutstanding) != 0)
                {
                    if (clock.GetElapsedTime(Volatile.Read(ref _pingSentTimestamp)) < _server.Options.NopInTimeout) continue;
                    _logger.LogWarning("no NOP-Out answer from {Remote} within {Timeout}: dropping the connection", RemoteEndPoint, _server.Options.NopInTimeout);
                    Abort();
                    return;
                }
                if (clock.GetElapsedTime(Volatile.Read(ref _lastReceiveTimestamp)) < interval) continue;
                // RFC 7143 §11.19: an unsolicited NOP-In with a valid TTT asks for a NOP-Out answer.
                uint tag = PingTagBit | (Interlocked.Increment(ref _pingTag) & ~PingTagBit);
                Volatile.Write(ref _pingTag, tag);
                Volatile.Write(ref _pingSentTimestamp, clock.GetTimestamp());
                Volatile.Write(ref _pingOutstanding, 1);
                PduTemplate pdu = PduTemplate.For(IscsiOpcode.NopIn, 0x80, Bhs.ReservedTag);
                pdu.Field20 = tag;
                pdu.StatSN = StatSNPolicy.Current;
                // Not awaited: a peer that stopped reading would hold the sender lock forever, and the
                // timeout above must still fire on the next tick to drop it.
                _ = _sender.SendAsync(pdu, default).AsTask();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    // ---------------------------------------------------------------- SCSI Command and Data-Out

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> HandleScsiCommandAsync(CancellationToken token)
    {
        ScsiCommandContext? command = PrepareCommand(out RejectReason reject);
        if (command is null) return await RejectCommandAsync(reject, token).ConfigureAwait(false);
        int immediateLength = _header.DataSegmentLength;
        if (immediateLength > 0)
        {
            ReceiveStatus status = await _receiver.ReceiveDataAsync(command.DataOutBuffer[..immediateLength], token).ConfigureAwait(false);
            if (status != ReceiveStatus.Ok)
            {
                ReturnContext(command);
                if (status != ReceiveStatus.DataDigestError) return ConnectionVerdict.Close;
                // RFC 7143 §7.8: the command PDU is rejected; the initiator reissues it.
                return await SendRejectAsync(RejectReason.DataDigestError).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
            }
        }
        else if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok)
        {
            ReturnContext(command);
            return ConnectionVerdict.Close;
        }
        command.ReceivedBytes = immediateLength;
        command.UnsolicitedReceived = immediateLength;
        IscsiSession session = _session!;
        if (!session.TryRegister(command))
        {
            ReturnContext(command);
            ConsumeRejectedCmdSN();
            if (!await SendRejectAsync(RejectReason.TaskInProgress).ConfigureAwait(false)) return ConnectionVerdict.Close;
            return await DeliverQueuedAsync().ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        AdmitResult admit = session.Admit(command.CmdSN, command.Immediate, command);
        switch (admit)
        {
            case AdmitResult.Deliver:
                if (!await DeliverAsync(command).ConfigureAwait(false)) return ConnectionVerdict.Close;
                return await DeliverQueuedAsync().ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
            case AdmitResult.Queued:
                return ConnectionVerdict.Continue;
            case AdmitResult.TooManyImmediate:
                Release(command, admitted: false);
                return await SendRejectAsync(RejectReason.ImmediateCommandReject).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
            default:
                // RFC 7143 §4.2.2.1: outside the window the command is silently ignored.
                _logger.LogDebug("CmdSN {CmdSN} outside the window from {Remote}: ignored", command.CmdSN, RemoteEndPoint);
                Release(command, admitted: false);
                return ConnectionVerdict.Continue;
        }
    }

    /// <summary>Rejects the SCSI Command in <see cref="_header"/> (its data segment is skipped) and consumes its CmdSN.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> RejectCommandAsync(RejectReason reason, CancellationToken token)
    {
        _logger.LogDebug("reject {Reason} for SCSI Command CmdSN {CmdSN} from {Remote}", reason, _header.Bhs.Field24, RemoteEndPoint);
        if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok) return ConnectionVerdict.Close;
        ConsumeRejectedCmdSN();
        if (!await SendRejectAsync(reason).ConfigureAwait(false)) return ConnectionVerdict.Close;
        return await DeliverQueuedAsync().ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
    }

    /// <summary>
    /// A rejected non-immediate SCSI Command is discarded (RFC 7143 §11.17.1: "the command itself is
    /// being discarded") but its CmdSN is taken as received, so ExpCmdSN moves past it. Initiators do
    /// not send a discarded command again with the same CmdSN (libiscsi completes it with an error,
    /// open-iscsi fails it to the SCSI midlayer, which retries under a new CmdSN); left open, the
    /// gap would hold every later command of the session in the CmdSN queue (§4.2.2.1) and the
    /// initiator would wait for their responses forever — the issue #3 stall. Data digest errors
    /// are not handled here: there the command may be retried with its CmdSN (§7.8, §6.2).
    /// </summary>
    private void ConsumeRejectedCmdSN()
    {
        if (_header.Bhs.Immediate) return;
        AdmitResult admit = _session!.Admit(_header.Bhs.Field24, immediate: false, command: null);
        if (admit is AdmitResult.OutOfWindow or AdmitResult.Duplicate) _logger.LogDebug("rejected CmdSN {CmdSN} outside the window from {Remote}", _header.Bhs.Field24, RemoteEndPoint);
    }

    /// <summary>Validates a SCSI Command header and fills a context; null with a reject reason when invalid.</summary>
    private ScsiCommandContext? PrepareCommand(out RejectReason reject)
    {
        Bhs bhs = _header.Bhs;
        reject = RejectReason.InvalidPduField;
        byte flags = bhs.Flags;
        bool final = (flags & 0x80) != 0;
        bool read = (flags & 0x40) != 0;
        bool write = (flags & 0x20) != 0;
        uint edtl = bhs.Field20;
        int immediateLength = _header.DataSegmentLength;
        OperationalParameters parameters = Parameters;
        if (bhs.InitiatorTaskTag == Bhs.ReservedTag) return null;
        if (edtl > IscsiLimits.ExpectedDataTransferLengthMax) return null;
        if (_header.TryFindAhs(InboundHeader.AhsTypeExtendedCdb, out ReadOnlySpan<byte> extended, out bool malformed) && extended.Length < 2) return null;
        if (malformed) return null;
        uint bidirectionalReadLength = 0;
        if (_header.TryFindAhs(InboundHeader.AhsTypeBidirectionalReadLength, out ReadOnlySpan<byte> bidi, out malformed))
        {
            if (bidi.Length < 5) return null;
            bidirectionalReadLength = (uint)((bidi[1] << 24) | (bidi[2] << 16) | (bidi[3] << 8) | bidi[4]);
            if (bidirectionalReadLength > IscsiLimits.ExpectedDataTransferLengthMax) return null;
        }
        reject = RejectReason.ProtocolError;
        // RFC 7143 §11.3.4/§13.11: immediate data needs W, ImmediateData=Yes, and fits EDTL and FirstBurstLength.
        if (immediateLength > 0 && (!write || !parameters.ImmediateData || immediateLength > edtl || immediateLength > parameters.EffectiveFirstBurstLength)) return null;
        ScsiCommandContext? command = RentContext();
        if (command is null)
        {
            reject = RejectReason.ImmediateCommandReject;
            return null;
        }
        command.Begin();
        command.InitiatorTaskTag = bhs.InitiatorTaskTag;
        command.CmdSN = bhs.Field24;
        command.Immediate = bhs.Immediate;
        command.WriteLength = write ? (int)edtl : 0;
        command.ReadLength = read ? (int)(write ? bidirectionalReadLength : edtl) : 0;
        ScsiTask task = command.Task;
        task.Nexus = _session!.Nexus!;
        task.Lun = bhs.Lun;
        task.TaskTag = bhs.InitiatorTaskTag;
        task.Attribute = (TaskAttribute)(flags & 0x7);
        task.Direction = read && write ? DataDirection.Bidirectional : read ? DataDirection.Read : write ? DataDirection.Write : DataDirection.None;
        task.ExpectedDataTransferLength = edtl;
        task.CancellationToken = command.Cancellation.Token;
        Span<byte> cdb = stackalloc byte[ScsiTask.CdbLengthMax];
        bhs.Cdb.CopyTo(cdb);
        int cdbLength = 16;
        if (extended.Length >= 2)
        {
            // §11.2.2.3: the Extended CDB AHS holds a reserved byte, then CDB bytes 16 onwards.
            ReadOnlySpan<byte> rest = extended[1..];
            int take = Math.Min(rest.Length, ScsiTask.CdbLengthMax - 16);
            rest[..take].CopyTo(cdb[16..]);
            cdbLength += take;
        }
        task.SetCdb(cdb[..cdbLength]);
        command.RentBuffers();
        // RFC 7143 §13.10/§13.14: unsolicited data runs to FirstBurstLength unless F is set or InitialR2T=Yes.
        int unsolicitedEnd = final || parameters.InitialR2T ? immediateLength : Math.Min(parameters.EffectiveFirstBurstLength, command.WriteLength);
        command.UnsolicitedEnd = Math.Max(unsolicitedEnd, immediateLength);
        command.NextR2TOffset = command.UnsolicitedEnd;
        return command;
    }

    /// <summary>The command's CmdSN turn came: solicit missing data or execute.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DeliverAsync(ScsiCommandContext command)
    {
        if (!_session!.TryTransition(command, CommandState.AwaitingOrder, CommandState.AwaitingData))
        {
            Release(command, admitted: true);
            return true;
        }
        if (command.Task.Status == ScsiStatus.CheckCondition)
        {
            // Failed while queued (bad Data-Out sequence): answer without executing.
            if (!_session.TryTransition(command, CommandState.AwaitingData, CommandState.Responding))
            {
                Release(command, admitted: true);
                return true;
            }
            bool sent = await ScsiResponder.SendAsync(_sender, command, Parameters, targetFailure: false).ConfigureAwait(false);
            Release(command, admitted: true);
            return sent;
        }
        if (command.ReceivedBytes == command.WriteLength) return await StartExecutionAsync(command).ConfigureAwait(false);
        return await IssueR2TsAsync(command).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DeliverQueuedAsync()
    {
        IscsiSession session = _session!;
        for (int guard = 0; guard < IscsiLimits.CommandWindowDepth; guard++)
        {
            ScsiCommandContext? next = session.TakeNextInOrder();
            if (next is null) return true;
            if (!await DeliverAsync(next).ConfigureAwait(false)) return false;
        }
        return true;
    }

    /// <summary>Sends R2Ts while fewer than MaxOutstandingR2T are open (RFC 7143 §10.8, §13.17).</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> IssueR2TsAsync(ScsiCommandContext command)
    {
        OperationalParameters parameters = Parameters;
        int outstandingMax = Math.Min(parameters.MaxOutstandingR2T, IscsiLimits.OutstandingR2TMax);
        while (command.OutstandingR2TCount < outstandingMax && command.NextR2TOffset < command.WriteLength)
        {
            int slot = FreeR2TSlot(command);
            Invariant.Assert(slot >= 0, "a free R2T slot exists below MaxOutstandingR2T");
            int length = Math.Min(parameters.MaxBurstLength, command.WriteLength - command.NextR2TOffset);
            uint tag = NextTargetTransferTag();
            command.R2Ts[slot] = new OutstandingR2T
            {
                TargetTransferTag = tag,
                R2TSN = command.NextR2TSN,
                Offset = command.NextR2TOffset,
                Length = length,
                Active = true,
            };
            _byTargetTransferTag[tag] = command;
            command.OutstandingR2TCount++;
            PduTemplate pdu = PduTemplate.For(IscsiOpcode.ReadyToTransfer, 0x80, command.InitiatorTaskTag);
            pdu.Lun = command.Task.Lun;
            pdu.Field20 = tag;
            pdu.StatSN = StatSNPolicy.Current;
            pdu.Field36 = command.NextR2TSN;
            pdu.Field40 = (uint)command.NextR2TOffset;
            pdu.Field44 = (uint)length;
            command.NextR2TSN++;
            command.NextR2TOffset += length;
            // Deferred: the read loop flushes before it waits for the solicited Data-Out.
            if (!await _sender.SendAsync(pdu, default, flush: false).ConfigureAwait(false)) return false;
        }
        return true;
    }

    private static int FreeR2TSlot(ScsiCommandContext command)
    {
        for (int i = 0; i < command.R2Ts.Length; i++) if (!command.R2Ts[i].Active) return i;
        return -1;
    }

    private uint NextTargetTransferTag()
    {
        // TTTs below the ping bit, never 0xffffffff (RFC 7143 §11.8.2), never two live at once.
        for (int guard = 0; guard < 1024; guard++)
        {
            uint tag = _nextTargetTransferTag;
            _nextTargetTransferTag = (_nextTargetTransferTag + 1) & ~PingTagBit;
            if (tag != 0 && !_byTargetTransferTag.ContainsKey(tag)) return tag;
        }
        Invariant.Assert(false, "the TTT space is far larger than the outstanding R2Ts");
        return 0;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> HandleDataOutAsync(CancellationToken token)
    {
        Bhs bhs = _header.Bhs;
        uint itt = bhs.InitiatorTaskTag;
        uint ttt = bhs.Field20;
        uint dataSN = bhs.Field36;
        int offset = (int)Math.Min(bhs.Field40, int.MaxValue);
        int length = _header.DataSegmentLength;
        ScsiCommandContext? command = ttt == Bhs.ReservedTag ? _session!.FindTask(itt) : _byTargetTransferTag.GetValueOrDefault(ttt);
        if (command is null || command.InitiatorTaskTag != itt || !ReferenceEquals(command.Owner, this))
        {
            // Data for a task that is gone (aborted, or dropped outside the window): discard it.
            return await _receiver.SkipDataAsync(token).ConfigureAwait(false) == ReceiveStatus.Ok ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        if (command.State == CommandState.Aborted)
        {
            if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok) return ConnectionVerdict.Close;
            ReleaseAbortedOnReadLoop(command);
            return ConnectionVerdict.Continue;
        }
        if (command.State == CommandState.AwaitingOrder && command.Task.Status == ScsiStatus.CheckCondition)
        {
            // Already failed while queued (broken sequence): the rest of its data is discarded.
            return await _receiver.SkipDataAsync(token).ConfigureAwait(false) == ReceiveStatus.Ok ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        int slot = -1;
        bool valid;
        if (ttt == Bhs.ReservedTag)
        {
            // RFC 7143 §11.7.5/§13.14: unsolicited Data-Out: in order, within FirstBurstLength, DataSN from 0.
            valid = offset == command.UnsolicitedReceived && offset + length <= command.UnsolicitedEnd && dataSN == command.UnsolicitedNextDataSN;
        }
        else
        {
            slot = command.FindR2T(ttt);
            valid = slot >= 0;
            if (valid)
            {
                ref OutstandingR2T r2t = ref command.R2Ts[slot];
                valid = offset == r2t.Offset + r2t.Received && offset + length <= r2t.Offset + r2t.Length && dataSN == r2t.NextDataSN;
            }
        }
        if (!valid)
        {
            // RFC 7143 §7 at ErrorRecoveryLevel 0 a broken data sequence cannot be repaired
            // (no SNACK/recovery R2T), but it need not cost the connection: the command ends at
            // once with CHECK CONDITION and its later Data-Out PDUs are discarded as stale.
            _logger.LogInformation("bad Data-Out (ITT 0x{Itt:x8}, DataSN {DataSN}, offset {Offset}) from {Remote}: failing the command", itt, dataSN, offset, RemoteEndPoint);
            if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok) return ConnectionVerdict.Close;
            return await FailCommandAsync(command).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        ReceiveStatus status = await _receiver.ReceiveDataAsync(command.DataOutBuffer.Slice(offset, length), token).ConfigureAwait(false);
        if (status != ReceiveStatus.Ok)
        {
            if (status == ReceiveStatus.DataDigestError) await SendRejectAsync(RejectReason.DataDigestError).ConfigureAwait(false);
            return ConnectionVerdict.Close;
        }
        command.ReceivedBytes += length;
        if (slot < 0)
        {
            command.UnsolicitedReceived += length;
            command.UnsolicitedNextDataSN++;
        }
        else
        {
            ref OutstandingR2T r2t = ref command.R2Ts[slot];
            r2t.Received += length;
            r2t.NextDataSN++;
            if (r2t.Received == r2t.Length)
            {
                r2t.Active = false;
                _byTargetTransferTag.Remove(ttt);
                command.OutstandingR2TCount--;
                if (command.State == CommandState.AwaitingData && !await IssueR2TsAsync(command).ConfigureAwait(false)) return ConnectionVerdict.Close;
            }
        }
        if (command.ReceivedBytes == command.WriteLength && command.State == CommandState.AwaitingData)
        {
            return await StartExecutionAsync(command).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        return ConnectionVerdict.Continue;
    }

    /// <summary>Ends a command that is still collecting data with ABORTED COMMAND / DATA PHASE ERROR (SPC-4 4Bh/00h).</summary>
    private async ValueTask<bool> FailCommandAsync(ScsiCommandContext command)
    {
        for (int i = 0; i < command.R2Ts.Length; i++)
        {
            if (!command.R2Ts[i].Active) continue;
            _byTargetTransferTag.Remove(command.R2Ts[i].TargetTransferTag);
            command.R2Ts[i].Active = false;
        }
        command.OutstandingR2TCount = 0;
        bool admitted = command.State != CommandState.AwaitingOrder;
        if (!admitted)
        {
            // Still waiting for its CmdSN turn: it stays in the window queue and is answered then.
            command.Task.CheckCondition(DataPhaseError);
            return true;
        }
        if (!_session!.TryTransition(command, CommandState.AwaitingData, CommandState.Responding))
        {
            ReleaseAbortedOnReadLoop(command);
            return true;
        }
        command.Task.CheckCondition(DataPhaseError);
        bool sent = await ScsiResponder.SendAsync(_sender, command, Parameters, targetFailure: false).ConfigureAwait(false);
        Release(command, admitted: true);
        return sent;
    }

    private static readonly Sds.Gateway.Scsi.Sense.SenseData DataPhaseError = new(Sds.Gateway.Scsi.Sense.SenseKey.AbortedCommand, 0x4B, 0x00);

    private ValueTask<bool> StartExecutionAsync(ScsiCommandContext command)
    {
        Invariant.Assert(command.OutstandingR2TCount == 0, "all solicited data arrived");
        if (!_session!.TryTransition(command, CommandState.AwaitingData, CommandState.Executing))
        {
            ReleaseAbortedOnReadLoop(command);
            return new(true);
        }
        command.Task.DataOut = command.DataOutBuffer[..command.ReceivedBytes];
        Interlocked.Increment(ref _executing);
        ScsiTask task = command.Task;
        // Only data-moving commands run inline: commands without data (SYNCHRONIZE CACHE's fdatasync,
        // TEST UNIT READY behind a slow device) keep the read loop free by going to the pool.
        bool inline = task.Direction is DataDirection.Read or DataDirection.Write
            && Math.Max(command.ReadLength, command.WriteLength) <= _server.Options.InlineExecutionBytesMax;
        if (!inline)
        {
            ThreadPool.UnsafeQueueUserWorkItem(command, preferLocal: false);
            return new(true);
        }
        return ExecuteInlineAsync(command);
    }

    /// <summary>
    /// Runs a command on the read loop. A synchronous completion is answered with a deferred flush
    /// (the read loop flushes before it blocks); an asynchronous one finishes off the read loop.
    /// </summary>
    private ValueTask<bool> ExecuteInlineAsync(ScsiCommandContext command)
    {
        bool targetFailure = false;
        ValueTask pending = default;
        try
        {
            pending = _session!.Target!.Device.ExecuteAsync(command.Task);
            if (pending.IsCompletedSuccessfully) pending.GetAwaiter().GetResult();
            else
            {
                _ = FinishExecutionAsync(command, pending);
                return new(true);
            }
        }
        catch (Exception exception) when (exception is not InvariantViolationException)
        {
            LogScsiLayerBug(exception, command);
            targetFailure = true;
        }
        return RespondAsync(command, targetFailure, flush: false);
    }

    /// <summary>Thread-pool entry of a command (see <see cref="ScsiCommandContext"/>).</summary>
    public void ExecuteCommand(ScsiCommandContext command) => _ = ExecuteCommandAsync(command);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ExecuteCommandAsync(ScsiCommandContext command)
    {
        bool targetFailure = false;
        try
        {
            await _session!.Target!.Device.ExecuteAsync(command.Task).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not InvariantViolationException)
        {
            LogScsiLayerBug(exception, command);
            targetFailure = true;
        }
        await RespondAsync(command, targetFailure, flush: true).ConfigureAwait(false);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FinishExecutionAsync(ScsiCommandContext command, ValueTask pending)
    {
        bool targetFailure = false;
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not InvariantViolationException)
        {
            LogScsiLayerBug(exception, command);
            targetFailure = true;
        }
        await RespondAsync(command, targetFailure, flush: true).ConfigureAwait(false);
    }

    // The SCSI layer must not throw; if it does, the initiator gets a target failure (RFC 7143 §11.4.3) and we log the bug.
    private void LogScsiLayerBug(Exception exception, ScsiCommandContext command) =>
        _logger.LogError(exception, "SCSI layer threw for CDB opcode 0x{Opcode:x2}", command.Task.Cdb.Length > 0 ? command.Task.Cdb[0] : 0);

    /// <summary>Answers an executed command and releases it; false when the connection broke.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RespondAsync(ScsiCommandContext command, bool targetFailure, bool flush)
    {
        IscsiSession session = _session!;
        bool sent = true;
        try
        {
            // Deciding to answer and being aborted are exclusive: the transition is made under the session lock.
            if (session.TryTransition(command, CommandState.Executing, CommandState.Responding))
            {
                // RFC 7143 §4.2.2.1: the slot goes back before the response, so this response's
                // MaxCmdSN already counts it; but only while few enough contexts are in that state,
                // or responders queued on the sender (a slow reader, many completions off the read
                // loop) would let the initiator open more commands than there are contexts. Past the
                // bound the slot goes back in Release, after the send (issue #3 stall).
                if (Interlocked.Increment(ref _earlySlotReleases) <= IscsiLimits.EarlySlotReleasesMax) session.ReleaseWindowSlot(command);
                else Interlocked.Decrement(ref _earlySlotReleases);
                sent = await ScsiResponder.SendAsync(_sender, command, Parameters, targetFailure, flush).ConfigureAwait(false);
            }
        }
        catch (Exception exception)
        {
            _logger.LogCritical(exception, "bug: sending the response of ITT 0x{Itt:x8} failed", command.InitiatorTaskTag);
            Abort();
            sent = false;
        }
        finally
        {
            Release(command, admitted: true);
            Interlocked.Decrement(ref _executing);
        }
        return sent;
    }

    // ---------------------------------------------------------------- Task management

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> HandleTaskManagementAsync(CancellationToken token)
    {
        Bhs bhs = _header.Bhs;
        var function = (TaskManagementFunction)(bhs.Flags & 0x7f);
        ulong lun = bhs.Lun;
        uint itt = bhs.InitiatorTaskTag;
        uint referencedTag = bhs.Field20;
        uint cmdSN = bhs.Field24;
        uint refCmdSN = bhs.Field32;
        bool immediate = bhs.Immediate;
        if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok) return ConnectionVerdict.Close;
        AdmitResult admit = _session!.Admit(cmdSN, immediate, null);
        if (admit is AdmitResult.OutOfWindow or AdmitResult.Duplicate) return ConnectionVerdict.Continue;
        TaskManagementResponse response = await TaskManagement.ExecuteAsync(this, function, lun, referencedTag, refCmdSN, cmdSN).ConfigureAwait(false);
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.TaskManagementResponse, 0x80, itt);
        pdu.Byte2 = (byte)response;
        bool sent = await _sender.SendAsync(pdu, default).ConfigureAwait(false);
        if (function == TaskManagementFunction.TargetColdReset && response == TaskManagementResponse.FunctionComplete)
        {
            // RFC 7143 §11.5.1: a cold reset drops every I_T nexus of the target, this one included.
            _server.DropSessionsOf(_session.Target!.Name);
            return ConnectionVerdict.Close;
        }
        if (!await DeliverQueuedAsync().ConfigureAwait(false)) return ConnectionVerdict.Close;
        return sent ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
    }

    /// <summary>Aborted commands of this connection that still wait for data are released here, on the read loop.</summary>
    public void ReleaseAbortedOnReadLoop(ScsiCommandContext command)
    {
        Invariant.Assert(ReferenceEquals(command.Owner, this), "only the owner's read loop releases waiting commands");
        if (command.State != CommandState.Aborted && command.State != CommandState.AwaitingData) return;
        for (int i = 0; i < command.R2Ts.Length; i++)
        {
            if (!command.R2Ts[i].Active) continue;
            _byTargetTransferTag.Remove(command.R2Ts[i].TargetTransferTag);
            command.R2Ts[i].Active = false;
        }
        command.OutstandingR2TCount = 0;
        Release(command, admitted: true);
    }

    /// <summary>The session this connection serves (task management helpers).</summary>
    internal IscsiTargetServer Server => _server;

    /// <summary>Waits until none of <paramref name="commands"/> (captured with their generations) is still executing.</summary>
    internal async Task DrainAsync(List<(ScsiCommandContext Command, uint Generation)> commands)
    {
        TimeProvider clock = _server.Options.TimeProvider;
        long start = clock.GetTimestamp();
        foreach ((ScsiCommandContext command, uint generation) in commands)
        {
            while (command.Generation == generation && command.State != CommandState.Free && clock.GetElapsedTime(start) < _server.Options.DrainTimeout)
            {
                await Task.Delay(DrainPollInterval).ConfigureAwait(false);
            }
        }
    }

    // ---------------------------------------------------------------- Text

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> HandleTextAsync(CancellationToken token)
    {
        Bhs bhs = _header.Bhs;
        bool continuing = (bhs.Flags & 0x40) != 0;
        uint itt = bhs.InitiatorTaskTag;
        uint ttt = bhs.Field20;
        uint cmdSN = bhs.Field24;
        bool immediate = bhs.Immediate;
        ulong lun = bhs.Lun;
        (ReceiveStatus status, int length) = await ReceiveSegmentAsync(token).ConfigureAwait(false);
        if (status == ReceiveStatus.DataDigestError) return await SendRejectAsync(RejectReason.DataDigestError).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        if (status != ReceiveStatus.Ok) return ConnectionVerdict.Close;
        AdmitResult admit = _session!.Admit(cmdSN, immediate, null);
        if (admit is AdmitResult.OutOfWindow or AdmitResult.Duplicate) return ConnectionVerdict.Continue;
        if (ttt != Bhs.ReservedTag)
        {
            // RFC 7143 §11.10.4: an empty request with our TTT fetches the next part of a long answer.
            if (_pendingText is null || ttt != _pendingTextTag) return await SendRejectAsync(RejectReason.InvalidPduField).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
            return await SendTextPartAsync(itt, lun).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        _pendingText = null;
        if (_textAccumulated.Count + length > IscsiLimits.TextNegotiationBytesMax)
        {
            // Bounded negotiation text (STYLE.md "Bound everything"): over 64 KiB is refused.
            _textAccumulated.Clear();
            return await SendRejectAsync(RejectReason.ProtocolError).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        for (int i = 0; i < length; i++) _textAccumulated.Add(_segment[i]);
        if (continuing)
        {
            // §11.10.2: the target answers a partial request (C=1) with an empty Text Response.
            PduTemplate partial = PduTemplate.For(IscsiOpcode.TextResponse, 0, itt);
            partial.Lun = lun;
            partial.Field20 = NextTargetTransferTag();
            return await _sender.SendAsync(partial, default).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        var request = new TextParameters();
        TextParseStatus parse = TextParameters.Parse(_textAccumulated.ToArray(), request);
        _textAccumulated.Clear();
        if (parse != TextParseStatus.Ok)
        {
            _logger.LogDebug("malformed text request ({Parse}) from {Remote}", parse, RemoteEndPoint);
            return await SendRejectAsync(RejectReason.ProtocolError).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        }
        var response = new TextParameters();
        if (request.TryGet("SendTargets", out string sendTargets))
        {
            SendTargetsResponder.Answer(sendTargets, _session.InitiatorName, _server.Catalog, _session.Target, response);
        }
        KeyNegotiator.NegotiateFullFeature(request, response, _session.Parameters);
        _pendingText = response.Encode();
        _pendingTextOffset = 0;
        return await SendTextPartAsync(itt, lun).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
    }

    private async ValueTask<bool> SendTextPartAsync(uint itt, ulong lun)
    {
        byte[] text = _pendingText!;
        int segmentMax = Math.Min(Parameters.InitiatorMaxRecvDataSegmentLength, IscsiLimits.SendDataSegmentLengthBytesMax);
        int length = Math.Min(segmentMax, text.Length - _pendingTextOffset);
        bool last = _pendingTextOffset + length == text.Length;
        // §11.11: F=1 ends the answer; otherwise C=1 and a TTT to continue with.
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.TextResponse, last ? (byte)0x80 : (byte)0x40, itt);
        pdu.Lun = lun;
        if (!last)
        {
            _pendingTextTag = NextTargetTransferTag();
            pdu.Field20 = _pendingTextTag;
        }
        ReadOnlyMemory<byte> part = text.AsMemory(_pendingTextOffset, length);
        _pendingTextOffset += length;
        if (last) _pendingText = null;
        return await _sender.SendAsync(pdu, part).ConfigureAwait(false);
    }

    // ---------------------------------------------------------------- Logout

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ConnectionVerdict> HandleLogoutAsync(CancellationToken token)
    {
        Bhs bhs = _header.Bhs;
        int reason = bhs.Flags & 0x7f;
        uint itt = bhs.InitiatorTaskTag;
        ushort cid = (ushort)(bhs.Field20 >> 16);
        uint cmdSN = bhs.Field24;
        bool immediate = bhs.Immediate;
        if (await _receiver.SkipDataAsync(token).ConfigureAwait(false) != ReceiveStatus.Ok) return ConnectionVerdict.Close;
        AdmitResult admit = _session!.Admit(cmdSN, immediate, null);
        if (admit is AdmitResult.OutOfWindow or AdmitResult.Duplicate) return ConnectionVerdict.Continue;
        // RFC 7143 §11.15.1: 0 = closed, 1 = CID not found, 2 = recovery not supported.
        // One connection per session: closing "the connection" closes the session (ERL 0).
        byte response = reason switch
        {
            0 => 0,
            1 => cid == _cid ? (byte)0 : (byte)1,
            2 => 2,
            _ => 0xff,
        };
        if (response == 0xff) return await SendRejectAsync(RejectReason.InvalidPduField).ConfigureAwait(false) ? ConnectionVerdict.Continue : ConnectionVerdict.Close;
        if (response == 0)
        {
            await WaitForExecutingAsync().ConfigureAwait(false);
            // RFC 7143 §11.15: the Logout Response says the cleanup has completed, so the SCSI
            // layer's I_T nexus loss (SPC-2 reservation, medium removal prevention) happens first;
            // an initiator that logs in again right away must not find it still in force.
            // On a cluster gateway the SPC-2 release is a meta command: the response waits for it, so the other
            // initiator's RESERVE that follows this logout (libiscsi Reserve6.Logout) finds it released on any
            // gateway. Bounded by the reservation layer's own meta timeouts.
            IscsiSession session = _session!;
            if (session.MarkClosed())
            {
                await _server.Registry.EndSession(session).ConfigureAwait(false);
                _logger.LogInformation("session TSIH {Tsih} of {Initiator} closed", session.Tsih, session.InitiatorName);
            }
        }
        PduTemplate pdu = PduTemplate.For(IscsiOpcode.LogoutResponse, 0x80, itt);
        pdu.Byte2 = response;
        // §11.15.2/§11.15.3: Time2Wait and Time2Retain; ERL 0 keeps nothing for reconnection.
        pdu.Field40 = ((uint)Math.Clamp(Parameters.DefaultTime2Wait, 0, 3600) << 16) | (uint)Math.Clamp(Parameters.DefaultTime2Retain, 0, 3600);
        await _sender.SendAsync(pdu, default).ConfigureAwait(false);
        if (response == 0) _logger.LogInformation("logout of TSIH {Tsih} from {Remote}", _session.Tsih, RemoteEndPoint);
        return response == 0 ? ConnectionVerdict.Close : ConnectionVerdict.Continue;
    }

    private async Task WaitForExecutingAsync()
    {
        TimeProvider clock = _server.Options.TimeProvider;
        long start = clock.GetTimestamp();
        while (Volatile.Read(ref _executing) > 0 && clock.GetElapsedTime(start) < _server.Options.DrainTimeout)
        {
            await Task.Delay(DrainPollInterval).ConfigureAwait(false);
        }
    }

    // ---------------------------------------------------------------- contexts and cleanup

    private ScsiCommandContext? RentContext()
    {
        lock (_freeLock)
        {
            if (_free.Count > 0) return _free.Pop();
            // Cannot happen while the initiator respects the window (see CommandContextsMax); if it does, the command is rejected.
            if (_contextsCreated >= IscsiLimits.CommandContextsMax) return null;
            _contextsCreated++;
        }
        return new ScsiCommandContext(this);
    }

    private void ReturnContext(ScsiCommandContext command)
    {
        if (command.WindowSlotReleased)
        {
            int early = Interlocked.Decrement(ref _earlySlotReleases);
            Invariant.Assert(early >= 0, "every early slot release is counted once");
            command.WindowSlotReleased = false;
        }
        command.ReturnBuffers();
        command.State = CommandState.Free;
        lock (_freeLock) _free.Push(command);
    }

    private void Release(ScsiCommandContext command, bool admitted)
    {
        _session?.CommandFinished(command, admitted);
        ReturnContext(command);
    }

    private async Task CleanupAsync()
    {
        _closing.Cancel();
        _sender.MarkBroken();
        IscsiSession? session = _session;
        Task nexusLost = Task.CompletedTask;
        if (session is not null)
        {
            // ERL 0: losing the connection ends the session; its tasks are aborted (RFC 7143 §7, ErrorRecoveryLevel 0).
            List<ScsiCommandContext> aborted = session.AbortTasks(null);
            await WaitForExecutingAsync().ConfigureAwait(false);
            foreach (ScsiCommandContext command in aborted)
            {
                if (command.State == CommandState.Aborted && ReferenceEquals(command.Owner, this) && Volatile.Read(ref _executing) == 0)
                {
                    // Commands that were waiting for data or order never reached SCSI: return their buffers.
                    command.ReturnBuffers();
                }
            }
            if (session.MarkClosed())
            {
                nexusLost = _server.Registry.EndSession(session);
                _logger.LogInformation("session TSIH {Tsih} of {Initiator} closed", session.Tsih, session.InitiatorName);
            }
        }
        try { await _writer.CompleteAsync().ConfigureAwait(false); } catch (IOException) { } catch (ObjectDisposedException) { }
        try { await _reader.CompleteAsync().ConfigureAwait(false); } catch (IOException) { } catch (ObjectDisposedException) { }
        try { _socket.Dispose(); } catch (ObjectDisposedException) { }
        // Finished (which a login of the same target waits for, DepartingConnections) completes only after the
        // nexus loss's shared effects: the SPC-2 release of a dropped connection is in meta before the
        // initiator's next session is admitted (libiscsi Reserve6.ITNexusLoss; SAM-5 §6.3.4).
        // A fault there is a bug (the reservation layer turns meta failures into logged outcomes); it still
        // propagates, but only after the connection is accounted closed, so logins and shutdown are not held.
        try
        {
            await nexusLost.ConfigureAwait(false);
        }
        finally
        {
            _server.ConnectionClosed(this);
            _finished.TrySetResult();
        }
    }

    private void LogRefused(string why) => _logger.LogInformation("dropping connection from {Remote}: {Why}", RemoteEndPoint, why);
}
