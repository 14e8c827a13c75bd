using System.Threading.Channels;
using Grpc.Core;
using Grpc.Health.V1;

namespace Sds.Rpc.Health;

/// <summary>
/// The standard <c>grpc.health.v1.Health</c> service, served by every <see cref="GrpcServer"/>. The server marks
/// each registered service and the whole server ("") SERVING at start and NOT_SERVING at shutdown; owners may set
/// other states (e.g. NOT_SERVING while a node drains).
/// </summary>
public sealed class HealthService : Grpc.Health.V1.Health.HealthBase
{
    /// <summary>Changes a watcher may lag behind; only the latest state matters, so older ones are dropped.</summary>
    private const int WatchQueueCapacity = 1;

    private readonly Lock gate = new();
    private readonly Dictionary<string, HealthCheckResponse.Types.ServingStatus> statuses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ChannelWriter<HealthCheckResponse.Types.ServingStatus>>> watchers = new(StringComparer.Ordinal);
    private bool shutDown;

    /// <summary>Sets the state of a service ("" for the whole server) and tells its watchers.</summary>
    public void SetStatus(string service, HealthCheckResponse.Types.ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (gate)
        {
            if (shutDown)
            {
                // After shutdown everything stays NOT_SERVING, whatever late callers ask.
                return;
            }

            statuses[service] = status;
            NotifyLocked(service, status);
        }
    }

    /// <summary>Forgets a service; watchers see SERVICE_UNKNOWN.</summary>
    public void ClearStatus(string service)
    {
        lock (gate)
        {
            statuses.Remove(service);
            NotifyLocked(service, HealthCheckResponse.Types.ServingStatus.ServiceUnknown);
        }
    }

    /// <summary>Marks everything NOT_SERVING and ends every Watch stream, so shutdown is not held up by watchers.</summary>
    public void EnterShutdown()
    {
        lock (gate)
        {
            shutDown = true;
            foreach (var service in statuses.Keys.ToArray())
            {
                statuses[service] = HealthCheckResponse.Types.ServingStatus.NotServing;
                NotifyLocked(service, HealthCheckResponse.Types.ServingStatus.NotServing);
            }

            foreach (var list in watchers.Values)
            {
                foreach (var writer in list)
                {
                    writer.TryComplete();
                }
            }

            watchers.Clear();
        }
    }

    /// <inheritdoc />
    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        lock (gate)
        {
            if (statuses.TryGetValue(request.Service, out var status))
            {
                return Task.FromResult(new HealthCheckResponse { Status = status });
            }
        }

        // Transport edge: the health spec defines an unknown service as NOT_FOUND.
        throw new RpcException(new Status(StatusCode.NotFound, $"Unknown service '{request.Service}'."));
    }

    /// <inheritdoc />
    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        var queue = Channel.CreateBounded<HealthCheckResponse.Types.ServingStatus>(new BoundedChannelOptions(WatchQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (gate)
        {
            var current = statuses.TryGetValue(request.Service, out var status) ? status : HealthCheckResponse.Types.ServingStatus.ServiceUnknown;
            queue.Writer.TryWrite(current);
            if (shutDown)
            {
                queue.Writer.TryComplete();
            }
            else
            {
                if (!watchers.TryGetValue(request.Service, out var list))
                {
                    list = [];
                    watchers[request.Service] = list;
                }

                list.Add(queue.Writer);
            }
        }

        try
        {
            HealthCheckResponse.Types.ServingStatus? last = null;
            await foreach (var status in queue.Reader.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
            {
                if (status != last)
                {
                    last = status;
                    await responseStream.WriteAsync(new HealthCheckResponse { Status = status }).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            lock (gate)
            {
                if (watchers.TryGetValue(request.Service, out var list))
                {
                    list.Remove(queue.Writer);
                }
            }
        }
    }

    private void NotifyLocked(string service, HealthCheckResponse.Types.ServingStatus status)
    {
        if (watchers.TryGetValue(service, out var list))
        {
            foreach (var writer in list)
            {
                writer.TryWrite(status);
            }
        }
    }
}
