namespace Sds.Meta.Tests.Membership;

/// <summary>A clock that moves only when the test says so (virtual time for timeout logic).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long ticks = TimeSpan.FromDays(1).Ticks;

    /// <inheritdoc/>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc/>
    public override long GetTimestamp() => ticks;

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero).AddTicks(ticks);

    /// <summary>Moves time forward.</summary>
    public void Advance(TimeSpan by) => ticks += by.Ticks;
}
