namespace Sds.Gateway.Iscsi;

/// <summary>
/// Every bound the iSCSI layer enforces on network input, in one place (STYLE.md "Bound
/// everything"). Each is asserted where it is used.
/// </summary>
internal static class IscsiLimits
{
    /// <summary>Basic Header Segment size (RFC 7143 §11.2).</summary>
    public const int BhsLengthBytes = 48;

    /// <summary>Largest AHS the TotalAHSLength byte can express (255 words, RFC 7143 §11.2.1.2).</summary>
    public const int AhsLengthBytesMax = 255 * 4;

    /// <summary>The MaxRecvDataSegmentLength this target declares (RFC 7143 §13.12): largest data segment it accepts in full feature phase.</summary>
    public const int MaxRecvDataSegmentLengthBytes = 256 * 1024;

    /// <summary>RFC 7143 §13.12: before MaxRecvDataSegmentLength is declared, 8192 bytes applies (login phase).</summary>
    public const int LoginDataSegmentLengthBytesMax = 8192;

    /// <summary>Largest data segment this target sends regardless of what the initiator declares.</summary>
    public const int SendDataSegmentLengthBytesMax = 256 * 1024;

    /// <summary>CmdSN window = commands in flight per session (RFC 7143 §4.2.2.1 MaxCmdSN − ExpCmdSN + 1).</summary>
    public const int CommandWindowDepth = 128;

    /// <summary>Immediate commands that may be in flight per session on top of the window.</summary>
    public const int ImmediateCommandsMax = 16;

    /// <summary>
    /// Commands per connection that may give their window slot back before their response is written
    /// (so that very response already advertises the slot). Such a command still holds its context
    /// while it waits for the sender and the socket, and the initiator may already use the slot for a
    /// new command; counting them is what makes <see cref="CommandContextsMax"/> a real bound
    /// (IscsiConnection.RespondAsync gives the slot back after the send once this many are out).
    /// </summary>
    public const int EarlySlotReleasesMax = CommandWindowDepth + ImmediateCommandsMax;

    /// <summary>
    /// Command contexts per connection: one per window slot and immediate command, one per command
    /// that gave its slot back early (at most <see cref="EarlySlotReleasesMax"/>), plus one being
    /// parsed before the window check.
    /// </summary>
    public const int CommandContextsMax = CommandWindowDepth + ImmediateCommandsMax + EarlySlotReleasesMax + 1;

    /// <summary>Largest MaxOutstandingR2T the target agrees to (RFC 7143 §13.17).</summary>
    public const int OutstandingR2TMax = 16;

    /// <summary>Largest MaxBurstLength the target agrees to (RFC 7143 §13.13).</summary>
    public const int MaxBurstLengthBytes = 1024 * 1024;

    /// <summary>Largest FirstBurstLength the target agrees to (RFC 7143 §13.14).</summary>
    public const int FirstBurstLengthBytes = 256 * 1024;

    /// <summary>Largest Expected Data Transfer Length accepted for one command (buffer is pooled per command).</summary>
    public const uint ExpectedDataTransferLengthMax = 32u * 1024 * 1024;

    /// <summary>Largest accumulated text of one login or text negotiation (RFC 7143 §6.6 suggests limits); beyond it the request is rejected.</summary>
    public const int TextNegotiationBytesMax = 64 * 1024;

    /// <summary>Largest single key name (RFC 7143 §6.1: 63 bytes).</summary>
    public const int KeyNameLengthMax = 63;

    /// <summary>Largest single value (RFC 7143 §6.1: 255 bytes, except binary CHAP values which may be longer).</summary>
    public const int KeyValueLengthMax = 8192;

    /// <summary>Most login request PDUs per connection before the login is failed.</summary>
    public const int LoginPdusMax = 64;

    /// <summary>Connections per server, logged in or not (bounds sockets and buffers under connection floods).</summary>
    public const int ConnectionsMax = 2048;

    /// <summary>Sessions per server (bounds memory under login floods).</summary>
    public const int SessionsMax = 1024;
}
