namespace Sds.Gateway.Scsi;

/// <summary>SAM-5 §8.9 task attributes, with RFC 7143 §11.3.1 ATTR encoding.</summary>
internal enum TaskAttribute : byte
{
    Untagged = 0,
    Simple = 1,
    Ordered = 2,
    HeadOfQueue = 3,
    Aca = 4,
}
