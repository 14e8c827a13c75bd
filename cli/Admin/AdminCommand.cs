using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Sds.Meta.Client;
using Sds.Proto.V1;

namespace Sds.Cli.Admin;

/// <summary>
/// The admin commands (<c>sds volume|target|lun|acl|chap|node|status</c>) against the management API.
/// Output: a human table, or with <c>--json</c> the API's message as protobuf JSON. Errors: one line on
/// stderr, and the exit codes of <see cref="ExitCodes"/>.
/// </summary>
internal static class AdminCommand
{
    /// <summary>Environment variable with the API address list when --api is not given.</summary>
    public const string ApiEnvironmentVariable = "SDS_API";

    /// <summary>Default API address.</summary>
    public const string DefaultApi = "127.0.0.1:7070";

    /// <summary>Usage text of the admin commands.</summary>
    public const string Usage = """
        admin commands (talk to the management API):
          sds volume create NAME --size SIZE [--replicas N] [--block-size 512|4096] [--thick]
          sds volume list | show NAME | resize NAME --size SIZE | delete NAME [--force]
          sds target create IQN [--alias A] [--removable] | list | show IQN | delete IQN
          sds lun map IQN LUN VOLUME | unmap IQN LUN
          sds acl add IQN INITIATOR_IQN | remove IQN INITIATOR_IQN
          sds chap set IQN --user U --secret S [--mutual-user U --mutual-secret S] | clear IQN
          sds node list | show ID | drain ID | undrain ID
          sds status
        common options:
          --api HOST:PORT[,HOST:PORT...]  meta members to ask (default $SDS_API, else 127.0.0.1:7070);
                                          the client follows the leader and fails over between them
          --json                          print the API's answer as JSON (for scripts)
          --timeout SECONDS               give up after this long (default 30)
        sizes: bytes, or a number with KiB, MiB, GiB, TiB (binary) or KB, MB, GB, TB (decimal), e.g. 10GiB
        exit status: 0 ok; 1 the server refused (invalid argument, not found, already exists, failed
        precondition); 2 bad command line; 3 no meta member reachable / no leader in time; 4 server error.
        """;

    /// <summary>Runs <paramref name="args"/> (starting with the resource word); returns the exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        CommandLine? line = CommandLine.Parse(args, out string? parseError);
        if (line is null)
        {
            return Fail(ExitCodes.Usage, parseError!);
        }

        if (line.Flag("--help") || line.Flag("-h"))
        {
            Console.WriteLine(Usage);
            return ExitCodes.Ok;
        }

        string api = line.Option("--api") ?? Environment.GetEnvironmentVariable(ApiEnvironmentVariable) ?? DefaultApi;
        bool json = line.Flag("--json");
        double timeoutSeconds = 30;
        if (line.Option("--timeout") is { } timeoutText && (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out timeoutSeconds) || timeoutSeconds <= 0))
        {
            return Fail(ExitCodes.Usage, $"--timeout '{timeoutText}' is not a positive number of seconds");
        }

        using var client = new MetaClient(api.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) { Timeout = TimeSpan.FromSeconds(timeoutSeconds) };
        try
        {
            Func<Task<IMessage>> call = Bind(line, client);
            if (line.UnknownOption() is { } unknown)
            {
                return Fail(ExitCodes.Usage, $"unknown option {unknown} (see sds --help)");
            }

            IMessage result = await call();
            Console.Write(json ? JsonFormatter.Default.Format(result) + "\n" : Render(result));
            return ExitCodes.Ok;
        }
        catch (UsageException usage)
        {
            return Fail(ExitCodes.Usage, usage.Message);
        }
        catch (RpcException exception)
        {
            return exception.StatusCode switch
            {
                StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.AlreadyExists or StatusCode.FailedPrecondition or
                    StatusCode.Aborted or StatusCode.OutOfRange or StatusCode.ResourceExhausted or StatusCode.PermissionDenied or
                    StatusCode.Unauthenticated => Fail(ExitCodes.Refused, exception.Status.Detail),
                StatusCode.Unavailable or StatusCode.DeadlineExceeded =>
                    Fail(ExitCodes.Unreachable, $"no meta leader reachable at {api} within {timeoutSeconds:0.#} s ({OneLine(exception.Status.Detail)})"),
                _ => Fail(ExitCodes.ServerError, $"server error {exception.StatusCode}: {OneLine(exception.Status.Detail)}"),
            };
        }
    }

    private static Func<Task<IMessage>> Bind(CommandLine line, MetaClient client)
    {
        List<string> words = line.Positional;
        string resource = words.Count > 0 ? words[0] : string.Empty;
        string verb = words.Count > 1 ? words[1] : string.Empty;
        string Arg(int index, string name) => words.Count > index ? words[index] : throw new UsageException($"sds {resource} {verb}: missing {name}");
        void NoMore(int count)
        {
            if (words.Count > count) throw new UsageException($"sds {resource} {verb}: unexpected argument '{words[count]}'");
        }

        switch (resource, verb)
        {
            case ("volume", "create"):
            {
                var request = new CreateVolumeRequest { Name = Arg(2, "NAME"), SizeBytes = Size(line, required: true) };
                NoMore(3);
                if (line.Option("--replicas") is { } replicas) request.Replicas = UInt(replicas, "--replicas");
                if (line.Option("--block-size") is { } blockSize) request.LogicalBlockSizeBytes = UInt(blockSize, "--block-size");
                if (line.Flag("--thick")) request.Thin = false;
                return async () => await client.ManagementAsync((c, h, d, t) => c.CreateVolumeAsync(request, h, d, t));
            }
            case ("volume", "list"):
                NoMore(2);
                return async () => await ListAllVolumes(client);
            case ("volume", "show"):
            {
                var request = new GetVolumeRequest { Volume = Arg(2, "NAME") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.GetVolumeAsync(request, h, d, t));
            }
            case ("volume", "resize"):
            {
                var request = new ResizeVolumeRequest { Volume = Arg(2, "NAME"), NewSizeBytes = Size(line, required: true) };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.ResizeVolumeAsync(request, h, d, t));
            }
            case ("volume", "delete"):
            {
                var request = new DeleteVolumeRequest { Volume = Arg(2, "NAME"), Force = line.Flag("--force") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.DeleteVolumeAsync(request, h, d, t));
            }
            case ("target", "create"):
            {
                // --removable: the target's LUs report a removable medium (RMB), shared by every gateway (docs/decisions.md).
                var request = new CreateTargetRequest { Target = new Target { Iqn = Arg(2, "IQN"), Alias = line.Option("--alias") ?? string.Empty, Removable = line.Flag("--removable") } };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.CreateTargetAsync(request, h, d, t));
            }
            case ("target", "list"):
                NoMore(2);
                return async () => await ListAllTargets(client);
            case ("target", "show"):
            {
                var request = new GetTargetRequest { Iqn = Arg(2, "IQN") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.GetTargetAsync(request, h, d, t));
            }
            case ("target", "delete"):
            {
                var request = new DeleteTargetRequest { Iqn = Arg(2, "IQN") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.DeleteTargetAsync(request, h, d, t));
            }
            case ("lun", "map"):
            {
                var request = new MapLunRequest { TargetIqn = Arg(2, "IQN"), Lun = UInt(Arg(3, "LUN"), "LUN"), Volume = Arg(4, "VOLUME") };
                NoMore(5);
                return async () => await client.ManagementAsync((c, h, d, t) => c.MapLunAsync(request, h, d, t));
            }
            case ("lun", "unmap"):
            {
                var request = new UnmapLunRequest { TargetIqn = Arg(2, "IQN"), Lun = UInt(Arg(3, "LUN"), "LUN") };
                NoMore(4);
                return async () => await client.ManagementAsync((c, h, d, t) => c.UnmapLunAsync(request, h, d, t));
            }
            case ("acl", "add"):
            {
                var request = new AddInitiatorRequest { TargetIqn = Arg(2, "IQN"), InitiatorIqn = Arg(3, "INITIATOR_IQN") };
                NoMore(4);
                return async () => await client.ManagementAsync((c, h, d, t) => c.AddInitiatorAsync(request, h, d, t));
            }
            case ("acl", "remove"):
            {
                var request = new RemoveInitiatorRequest { TargetIqn = Arg(2, "IQN"), InitiatorIqn = Arg(3, "INITIATOR_IQN") };
                NoMore(4);
                return async () => await client.ManagementAsync((c, h, d, t) => c.RemoveInitiatorAsync(request, h, d, t));
            }
            case ("chap", "set"):
            {
                var chap = new ChapConfig { Initiator = new ChapSecret { User = Required(line, "--user"), Secret = Required(line, "--secret") } };
                string? mutualUser = line.Option("--mutual-user");
                string? mutualSecret = line.Option("--mutual-secret");
                if (mutualUser is not null || mutualSecret is not null)
                {
                    chap.Target = new ChapSecret
                    {
                        User = mutualUser ?? throw new UsageException("--mutual-secret needs --mutual-user"),
                        Secret = mutualSecret ?? throw new UsageException("--mutual-user needs --mutual-secret"),
                    };
                }

                var request = new SetChapRequest { TargetIqn = Arg(2, "IQN"), Chap = chap };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.SetChapAsync(request, h, d, t));
            }
            case ("chap", "clear"):
            {
                var request = new SetChapRequest { TargetIqn = Arg(2, "IQN") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.SetChapAsync(request, h, d, t));
            }
            case ("node", "list"):
                NoMore(2);
                return async () => await client.ManagementAsync((c, h, d, t) => c.ListNodesAsync(new ListNodesRequest { PageSize = 1000 }, h, d, t));
            case ("node", "show"):
            {
                var request = new GetNodeRequest { NodeId = Arg(2, "ID") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.GetNodeAsync(request, h, d, t));
            }
            case ("node", "drain"):
            {
                var request = new DrainNodeRequest { NodeId = Arg(2, "ID") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.DrainNodeAsync(request, h, d, t));
            }
            case ("node", "undrain"):
            {
                var request = new UndrainNodeRequest { NodeId = Arg(2, "ID") };
                NoMore(3);
                return async () => await client.ManagementAsync((c, h, d, t) => c.UndrainNodeAsync(request, h, d, t));
            }
            case ("status", ""):
                return async () => await client.ManagementAsync((c, h, d, t) => c.GetClusterStatusAsync(new GetClusterStatusRequest(), h, d, t));
            default:
                throw new UsageException(verb.Length == 0 ? $"sds {resource}: missing subcommand (see sds --help)" : $"sds {resource}: unknown subcommand '{verb}' (see sds --help)");
        }
    }

    private static async Task<ListVolumesResponse> ListAllVolumes(MetaClient client)
    {
        var all = new ListVolumesResponse();
        string token = string.Empty;
        for (int page = 0; page < 10_000; page++)
        {
            var request = new ListVolumesRequest { PageSize = 1000, PageToken = token };
            ListVolumesResponse response = await client.ManagementAsync((c, h, d, t) => c.ListVolumesAsync(request, h, d, t));
            all.Volumes.Add(response.Volumes);
            token = response.NextPageToken;
            if (token.Length == 0) break;
        }

        return all;
    }

    private static async Task<ListTargetsResponse> ListAllTargets(MetaClient client)
    {
        var all = new ListTargetsResponse();
        string token = string.Empty;
        for (int page = 0; page < 10_000; page++)
        {
            var request = new ListTargetsRequest { PageSize = 1000, PageToken = token };
            ListTargetsResponse response = await client.ManagementAsync((c, h, d, t) => c.ListTargetsAsync(request, h, d, t));
            all.Targets.Add(response.Targets);
            token = response.NextPageToken;
            if (token.Length == 0) break;
        }

        return all;
    }

    private static string Render(IMessage result)
    {
        switch (result)
        {
            case Volume volume:
                return Pairs(("name", volume.Name), ("id", volume.Id), ("size", $"{ByteSize.Format(volume.SizeBytes)} ({volume.SizeBytes} bytes)"),
                    ("block size", volume.LogicalBlockSizeBytes.ToString(CultureInfo.InvariantCulture)), ("replicas", volume.Replicas.ToString(CultureInfo.InvariantCulture)),
                    ("thin", volume.Thin ? "yes" : "no"), ("state", Name(volume.State)), ("naa", volume.NaaId), ("serial", volume.UnitSerial),
                    ("created", volume.CreateTime?.ToDateTime().ToString("u", CultureInfo.InvariantCulture) ?? string.Empty));
            case ListVolumesResponse list:
            {
                var table = new Table("NAME", "SIZE", "BLOCK", "REPLICAS", "STATE", "ID");
                foreach (Volume v in list.Volumes)
                {
                    table.Add(v.Name, ByteSize.Format(v.SizeBytes), v.LogicalBlockSizeBytes.ToString(CultureInfo.InvariantCulture), v.Replicas.ToString(CultureInfo.InvariantCulture), Name(v.State), v.Id);
                }

                return table.ToString();
            }
            case Target target:
            {
                string text = Pairs(("iqn", target.Iqn), ("alias", target.Alias), ("chap", ChapText(target.Chap)),
                    ("removable", target.Removable ? "yes" : "no"),
                    ("initiators", target.AllowedInitiators.Count == 0 ? "any" : string.Join(", ", target.AllowedInitiators)),
                    ("generation", target.Generation.ToString(CultureInfo.InvariantCulture)));
                var luns = new Table("LUN", "VOLUME");
                foreach (LunMapping lun in target.Luns) luns.Add(lun.Lun.ToString(CultureInfo.InvariantCulture), lun.VolumeId);
                return text + (target.Luns.Count == 0 ? "luns:       none\n" : luns.ToString());
            }
            case ListTargetsResponse targets:
            {
                var table = new Table("IQN", "ALIAS", "LUNS", "INITIATORS", "CHAP");
                foreach (Target t in targets.Targets)
                {
                    table.Add(t.Iqn, t.Alias, t.Luns.Count.ToString(CultureInfo.InvariantCulture), t.AllowedInitiators.Count == 0 ? "any" : t.AllowedInitiators.Count.ToString(CultureInfo.InvariantCulture), ChapText(t.Chap));
                }

                return table.ToString();
            }
            case Node node:
                return Pairs(("id", node.Id), ("roles", string.Join(",", node.Roles.Select(Name))), ("state", Name(node.State)), ("address", node.GrpcAddress),
                    ("portal", node.IscsiPortal), ("capacity", ByteSize.Format(node.CapacityBytes)), ("used", ByteSize.Format(node.UsedBytes)),
                    ("last heartbeat", node.LastHeartbeatTime?.ToDateTime().ToString("u", CultureInfo.InvariantCulture) ?? "never"));
            case ListNodesResponse nodes:
            {
                var table = new Table("ID", "ROLES", "STATE", "ADDRESS", "CAPACITY", "USED");
                foreach (Node n in nodes.Nodes)
                {
                    table.Add(n.Id, string.Join(",", n.Roles.Select(Name)), Name(n.State), n.GrpcAddress, ByteSize.Format(n.CapacityBytes), ByteSize.Format(n.UsedBytes));
                }

                return table.ToString();
            }
            case ClusterStatus status:
                return Pairs(("health", Name(status.Health)), ("map version", status.ClusterMapVersion.ToString(CultureInfo.InvariantCulture)),
                    ("meta leader", status.MetaLeaderNodeId), ("meta members", status.MetaMembers.ToString(CultureInfo.InvariantCulture)),
                    ("nodes", $"{status.NodesUp} up, {status.NodesDown} down"),
                    ("pgs", $"{status.PgsTotal} total, {status.PgsActive} active, {status.PgsDegraded} degraded, {status.PgsRecovering} recovering, {status.PgsInactive} inactive"),
                    ("capacity", $"{ByteSize.Format(status.UsedBytes)} used of {ByteSize.Format(status.CapacityBytes)}"),
                    ("volumes", status.VolumeCount.ToString(CultureInfo.InvariantCulture)), ("targets", status.TargetCount.ToString(CultureInfo.InvariantCulture)));
            case Google.Protobuf.WellKnownTypes.Empty:
                return string.Empty;
            default:
                return result + "\n";
        }
    }

    private static string ChapText(ChapConfig? chap) =>
        chap?.Initiator is null ? "off" : chap.Target is null ? $"one-way ({chap.Initiator.User})" : $"mutual ({chap.Initiator.User}/{chap.Target.User})";

    private static string Pairs(params (string Key, string Value)[] pairs)
    {
        var text = new StringBuilder();
        foreach ((string key, string value) in pairs)
        {
            text.Append((key + ":").PadRight(14)).Append(value).Append('\n');
        }

        return text.ToString();
    }

    // Enum names without their prefix, lowercase: NODE_STATE_UP → up.
    private static string Name<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    private static ulong Size(CommandLine line, bool required)
    {
        string? text = line.Option("--size");
        if (text is null)
        {
            return required ? throw new UsageException("--size is required, e.g. --size 10GiB") : 0UL;
        }

        return ByteSize.Parse(text, out string? error) ?? throw new UsageException(error!);
    }

    private static uint UInt(string text, string what) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint value) ? value : throw new UsageException($"{what} '{text}' is not a non-negative integer");

    private static string Required(CommandLine line, string name) => line.Option(name) ?? throw new UsageException($"{name} is required");

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static int Fail(int code, string message)
    {
        Console.Error.WriteLine("sds: " + OneLine(message));
        return code;
    }
}
