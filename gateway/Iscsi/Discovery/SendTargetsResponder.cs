using Sds.Gateway.Iscsi.Catalog;
using Sds.Gateway.Iscsi.Login;

namespace Sds.Gateway.Iscsi.Discovery;

/// <summary>
/// Answers SendTargets (RFC 7143 §13.3 and Appendix C): every target the initiator may see
/// with every portal (TargetAddress "host:port,tpgt"). In a discovery session "All" lists all
/// targets; in a normal session only the session's own target is reported.
/// </summary>
internal static class SendTargetsResponder
{
    /// <summary>Appends the answer for <paramref name="value"/> to <paramref name="response"/>.</summary>
    public static void Answer(string value, string initiatorName, TargetCatalog catalog, TargetNode? sessionTarget, TextParameters response)
    {
        if (sessionTarget is not null)
        {
            // Normal session: "All", empty, or its own name report the current target only.
            if (value is "All" or "" || string.Equals(value, sessionTarget.Name, StringComparison.OrdinalIgnoreCase))
            {
                AddTarget(sessionTarget, catalog, response);
            }
            return;
        }
        if (value == "All")
        {
            foreach (TargetNode target in catalog.Targets)
            {
                if (target.Allows(initiatorName)) AddTarget(target, catalog, response);
            }
            return;
        }
        TargetNode? named = catalog.Find(value);
        if (named is not null && named.Allows(initiatorName)) AddTarget(named, catalog, response);
    }

    private static void AddTarget(TargetNode target, TargetCatalog catalog, TextParameters response)
    {
        response.Add("TargetName", target.Name);
        foreach (Portal portal in catalog.Portals) response.Add("TargetAddress", portal.TargetAddress);
        foreach (string peer in catalog.PeerTargetAddresses) response.Add("TargetAddress", peer);
    }
}
