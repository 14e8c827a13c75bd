namespace Sds.Gateway.Iscsi.Session;

/// <summary>What the CmdSN window did with a request (RFC 7143 §4.2.2.1).</summary>
internal enum AdmitResult : byte
{
    /// <summary>Deliver now; more queued requests may follow via <see cref="IscsiSession.TakeNextInOrder"/>.</summary>
    Deliver,
    /// <summary>Held until the CmdSN gap before it fills.</summary>
    Queued,
    /// <summary>Outside [ExpCmdSN, MaxCmdSN]: silently ignored (§4.2.2.1).</summary>
    OutOfWindow,
    /// <summary>That CmdSN is already waiting (a duplicate): ignored.</summary>
    Duplicate,
    /// <summary>Too many immediate commands in flight: Reject reason 0x06.</summary>
    TooManyImmediate,
}
