using System.Net;
using Sds.Gateway.Iscsi;
using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Login;
using Sds.Gateway.Iscsi.Session;

namespace Sds.Gateway.Tests.Iscsi.Session;

/// <summary>
/// Proves the CmdSN window of RFC 7143 §4.2.2.1 on a discovery-type session (no SCSI device
/// needed): in-order admission, silent drop outside [ExpCmdSN, MaxCmdSN], immediate bypass,
/// consumed slots for non-command PDUs, and a MaxCmdSN that never decreases.
/// </summary>
public class IscsiSessionTests
{
    private static IscsiSession NewSession(uint initialCmdSN) =>
        new(1, 0x8000_0000_0001, "iqn.i", SessionType.Discovery, null, new Portal(new IPEndPoint(IPAddress.Loopback, 3260), 1, 1, 1), new OperationalParameters(), initialCmdSN);

    private static (uint Exp, uint Max) Window(IscsiSession session)
    {
        session.Read(out uint exp, out uint max);
        return (exp, max);
    }

    [Fact]
    public void InitialWindowIsTheQueueDepth()
    {
        IscsiSession session = NewSession(10);
        Assert.Equal((10u, 10u + IscsiLimits.CommandWindowDepth - 1), Window(session));
    }

    [Fact]
    public void InOrderNonCommandAdvancesExpCmdSNAndTheWindow()
    {
        IscsiSession session = NewSession(10);
        Assert.Equal(AdmitResult.Deliver, session.Admit(10, immediate: false, command: null));
        Assert.Equal((11u, 11u + IscsiLimits.CommandWindowDepth - 1), Window(session));
    }

    [Fact]
    public void OutsideTheWindowIsDropped()
    {
        IscsiSession session = NewSession(10);
        Assert.Equal(AdmitResult.OutOfWindow, session.Admit(9, immediate: false, command: null));
        Assert.Equal(AdmitResult.OutOfWindow, session.Admit(10 + IscsiLimits.CommandWindowDepth, immediate: false, command: null));
        Assert.Equal(AdmitResult.OutOfWindow, session.Admit(10 + 100_000, immediate: false, command: null));
        Assert.Equal(10u, Window(session).Exp);
    }

    [Fact]
    public void ImmediateBypassesTheWindow()
    {
        IscsiSession session = NewSession(10);
        Assert.Equal(AdmitResult.Deliver, session.Admit(12345, immediate: true, command: null));
        Assert.Equal(10u, Window(session).Exp);
    }

    [Fact]
    public void AGapIsSkippedOnceFilled()
    {
        IscsiSession session = NewSession(10);
        // CmdSN 11 arrives before 10: handled, and its slot is marked consumed.
        Assert.Equal(AdmitResult.Deliver, session.Admit(11, immediate: false, command: null));
        Assert.Equal(10u, Window(session).Exp);
        Assert.Equal(AdmitResult.Duplicate, session.Admit(11, immediate: false, command: null));
        Assert.Equal(AdmitResult.Deliver, session.Admit(10, immediate: false, command: null));
        Assert.Null(session.TakeNextInOrder());
        Assert.Equal(12u, Window(session).Exp);
    }

    [Fact]
    public void WindowWrapsAroundTheSerialSpace()
    {
        IscsiSession session = NewSession(0xFFFF_FFFE);
        for (uint i = 0; i < 4; i++) Assert.Equal(AdmitResult.Deliver, session.Admit(unchecked(0xFFFF_FFFE + i), immediate: false, command: null));
        (uint exp, uint max) = Window(session);
        Assert.Equal(2u, exp);
        Assert.Equal(unchecked(2u + IscsiLimits.CommandWindowDepth - 1), max);
    }
}
