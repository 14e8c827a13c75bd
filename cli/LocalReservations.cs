using Sds.Gateway.Scsi.Reservations;
using Sds.Proto.V1;

namespace Sds.Cli;

/// <summary>
/// Persistent reservations of <c>sds server</c>'s one gateway: judged in process (SPC-4 rules in
/// <see cref="PersistentReservations"/>), one state per volume shared by every LUN that maps it, with APTPL state in
/// <c>DATA/reservations/&lt;volume uuid&gt;.pr</c>. A cluster gateway keeps them in meta instead
/// (<see cref="MetaPersistentReservations"/>), because there every gateway must see one state; with a single gateway
/// that round trip (a PR OUT waits for a heartbeat barrier) buys nothing (docs/decisions.md).
/// </summary>
internal sealed class LocalReservations
{
    private readonly string directory;
    private readonly Dictionary<string, PersistentReservations> byVolume = new(StringComparer.Ordinal);

    /// <summary>Keeps APTPL files under <paramref name="directory"/> (created).</summary>
    public LocalReservations(string directory)
    {
        this.directory = directory;
        Directory.CreateDirectory(directory);
    }

    /// <summary>The reservations of <paramref name="volume"/> (the same object for every LUN of the volume).</summary>
    public IPersistentReservations? For(Volume volume)
    {
        lock (byVolume)
        {
            if (!byVolume.TryGetValue(volume.Id, out PersistentReservations? reservations))
            {
                string path = Path.Combine(directory, Guid.Parse(volume.Id).ToString("D") + ".pr");
                reservations = new PersistentReservations(new FilePersistentReservationStore(path));
                byVolume.Add(volume.Id, reservations);
            }

            return reservations;
        }
    }
}
