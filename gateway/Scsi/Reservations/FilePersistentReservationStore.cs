using System.Globalization;
using System.Text;

namespace Sds.Gateway.Scsi.Reservations;

/// <summary>
/// Keeps APTPL persistent reservation state in a small text file beside the LUN (SPC-4 r37
/// §5.9.4: with APTPL the state survives power loss). Written to a temporary file, flushed and
/// renamed over the old one, so a crash leaves either the old or the new state. Without APTPL
/// the file is deleted.
/// </summary>
internal sealed class FilePersistentReservationStore : IPersistentReservationStore
{
    private const string Magic = "sds-pr-v1";
    private readonly string _path;

    /// <summary>Uses <paramref name="path"/> (e.g. "lun0.pr" beside "lun0.img").</summary>
    public FilePersistentReservationStore(string path) => _path = path;

    /// <inheritdoc />
    public PersistentReservationSnapshot Load()
    {
        string[] lines;
        try
        {
            if (!File.Exists(_path)) return PersistentReservationSnapshot.Empty;
            lines = File.ReadAllLines(_path, Encoding.UTF8);
        }
        catch (IOException)
        {
            return PersistentReservationSnapshot.Empty;
        }
        catch (UnauthorizedAccessException)
        {
            return PersistentReservationSnapshot.Empty;
        }
        return Parse(lines) ?? PersistentReservationSnapshot.Empty;
    }

    /// <inheritdoc />
    public bool Save(PersistentReservationSnapshot snapshot)
    {
        try
        {
            if (!snapshot.Aptpl)
            {
                File.Delete(_path);
                return true;
            }
            var text = new StringBuilder();
            text.Append(Magic).Append('\n');
            text.Append("generation=").Append(snapshot.Generation.ToString(CultureInfo.InvariantCulture)).Append('\n');
            text.Append("type=").Append(((byte)snapshot.Type).ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (snapshot.Holder is { } holder) text.Append("holder=").Append(Format(holder)).Append('\n');
            foreach (Registration registration in snapshot.Registrations)
                text.Append("reg=").Append(Format(registration.Registrant)).Append('|').Append(registration.Key.ToString("x16", CultureInfo.InvariantCulture)).Append('\n');
            string temporary = _path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, _path, overwrite: true);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Format(in RegistrantId registrant) =>
        string.Create(CultureInfo.InvariantCulture, $"{registrant.InitiatorName}|{registrant.Isid:x12}|{registrant.RelativeTargetPortId}");

    private static PersistentReservationSnapshot? Parse(string[] lines)
    {
        if (lines.Length == 0 || lines[0] != Magic) return null;
        uint generation = 0;
        var type = ReservationType.None;
        RegistrantId? holder = null;
        var registrations = new List<Registration>();
        foreach (string line in lines.AsSpan(1))
        {
            int equals = line.IndexOf('=');
            if (equals < 0) continue;
            string key = line[..equals];
            string value = line[(equals + 1)..];
            switch (key)
            {
                case "generation" when uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out uint g):
                    generation = g;
                    break;
                case "type" when byte.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out byte t):
                    type = (ReservationType)t;
                    break;
                case "holder":
                    holder = ParseRegistrant(value.Split('|'));
                    if (holder is null) return null;
                    break;
                case "reg":
                {
                    string[] parts = value.Split('|');
                    if (parts.Length != 4 || ParseRegistrant(parts) is not { } registrant
                        || !ulong.TryParse(parts[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong reservationKey))
                        return null;
                    registrations.Add(new Registration(registrant, reservationKey));
                    break;
                }
                default:
                    return null;
            }
        }
        return new PersistentReservationSnapshot(generation, registrations, type, holder, Aptpl: true);
    }

    private static RegistrantId? ParseRegistrant(string[] parts)
    {
        if (parts.Length < 3) return null;
        if (!ulong.TryParse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong isid)) return null;
        if (!ushort.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out ushort port)) return null;
        return new RegistrantId(parts[0], isid, port);
    }
}
