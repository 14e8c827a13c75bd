using Sds.Gateway.Scsi;
using Sds.Gateway.Scsi.Sense;

namespace Sds.Gateway.Tests.Scsi;

internal static class ScsiAssert
{
    public static void Good(ScsiTask task) =>
        Assert.True(task.Status == ScsiStatus.Good, $"expected GOOD, got {task.Status} {task.Sense.Key}/{task.Sense.Asc:x2}/{task.Sense.Ascq:x2}");

    public static void Check(ScsiTask task, SenseKey key, byte asc, byte ascq)
    {
        Assert.Equal(ScsiStatus.CheckCondition, task.Status);
        Assert.Equal((key, asc, ascq), (task.Sense.Key, task.Sense.Asc, task.Sense.Ascq));
    }
}
