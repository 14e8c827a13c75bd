using Sds.Gateway.Iscsi.Login;
using Sds.Meta.Host;
using Sds.Meta.State;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// <c>sds server --demo</c> (DESIGN.md §7): target <see cref="Iqn"/> with a 1 GiB LUN 0 on volume
/// <see cref="VolumeName"/>, created through meta like any admin command would, and idempotent: a restart finds the
/// volume, the target and the mapping and creates nothing, so the demo LUN keeps its data and its identity (the
/// volume UUID). The CHAP flags are applied on every start (none given = an open target).
/// </summary>
internal static class DemoTarget
{
    /// <summary>The demo target's name.</summary>
    public const string Iqn = "iqn.2026-11.io.sds:demo";

    /// <summary>The demo volume's name.</summary>
    public const string VolumeName = "demo";

    /// <summary>Size of the demo LUN.</summary>
    public const long SizeBytes = 1L << 30;

    /// <summary>Logical block size of the demo LUN (the volume default, as the file-backed demo LU had).</summary>
    public const uint BlockSizeBytes = 512;

    /// <summary>The CHAP settings the flags ask for (null: CHAP off).</summary>
    public static ChapConfig? Chap(ChapCredentials? chap, ChapCredentials? mutualChap) => chap is null
        ? null
        : new ChapConfig
        {
            Initiator = new ChapSecret { User = chap.UserName, Secret = chap.Secret },
            Target = mutualChap is null ? null : new ChapSecret { User = mutualChap.UserName, Secret = mutualChap.Secret },
        };

    /// <summary>
    /// Creates what is missing and applies <paramref name="chap"/>; returns the map version that holds the demo
    /// target, or an error line (a refused command).
    /// </summary>
    public static async Task<(ulong Version, string? Error)> EnsureAsync(MetaNode meta, ChapConfig? chap, CancellationToken cancellationToken)
    {
        (Volume? volume, Target? target) = await QueryAsync(meta, s => (s.FindVolume(VolumeName)?.Clone(), s.FindTarget(Iqn)?.Clone()), cancellationToken);
        if (volume is null)
        {
            var create = new CreateVolumeRequest { Name = VolumeName, SizeBytes = SizeBytes, LogicalBlockSizeBytes = BlockSizeBytes };
            if (await ProposeAsync(meta, new MetaCommand { CreateVolume = new CreateVolumeCommand { Request = create, VolumeId = Guid.NewGuid().ToString() } }, cancellationToken) is { } error)
            {
                return (0, error);
            }
        }

        if (target is null)
        {
            // The demo LU is the conformance target: removable (docs/decisions.md, like tgt's removable=1), so libiscsi
            // runs its PreventAllow and StartStopUnit tests against it.
            var create = new CreateTargetRequest { Target = new Target { Iqn = Iqn, Alias = "sds-demo", Removable = true } };
            if (await ProposeAsync(meta, new MetaCommand { CreateTarget = create }, cancellationToken) is { } error)
            {
                return (0, error);
            }
        }

        if (target is null || !target.Luns.Any(static l => l.Lun == 0))
        {
            var map = new MapLunRequest { TargetIqn = Iqn, Lun = 0, Volume = VolumeName };
            if (await ProposeAsync(meta, new MetaCommand { MapLun = map }, cancellationToken) is { } error)
            {
                return (0, error);
            }
        }

        if (!Equals(target?.Chap, chap))
        {
            var set = new SetChapRequest { TargetIqn = Iqn, Chap = chap ?? new ChapConfig() };
            if (await ProposeAsync(meta, new MetaCommand { SetChap = set }, cancellationToken) is { } error)
            {
                return (0, error);
            }
        }

        return (await QueryAsync(meta, static s => s.Version, cancellationToken), null);
    }

    private static async Task<T> QueryAsync<T>(MetaNode meta, Func<MetaStateMachine, T> query, CancellationToken cancellationToken)
    {
        MetaResult<T> result = await meta.QueryAsync(query, cancellationToken);
        Sds.Meta.Invariant.Assert(result.Status == MetaCallStatus.Ok, "the local member answers local queries");
        return result.Value!;
    }

    // The one member leads once it has elected itself; until then a proposal answers NotLeader: retry.
    private static async Task<string?> ProposeAsync(MetaNode meta, MetaCommand command, CancellationToken cancellationToken)
    {
        command.RequestId = "demo-" + Guid.NewGuid().ToString("N");
        while (true)
        {
            MetaResult<CommandOutcome> result = await meta.ProposeAsync(command, cancellationToken);
            if (result.Status == MetaCallStatus.Ok)
            {
                return result.Value.IsOk ? null : $"{command.CommandCase}: {result.Value.Message}";
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
