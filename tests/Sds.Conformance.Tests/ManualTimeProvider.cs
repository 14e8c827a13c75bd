namespace Sds.Conformance.Tests;

/// <summary>
/// A <see cref="TimeProvider"/> whose time moves only when the test calls <see cref="Advance"/>, so
/// keep-alive timers can be driven deterministically (STYLE.md: timers take an injected TimeProvider).
/// </summary>
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _lock = new();
    private readonly List<ManualTimer> _timers = new();
    private long _ticks;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override long GetTimestamp()
    {
        lock (_lock) return _ticks;
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        lock (_lock) _timers.Add(timer);
        return timer;
    }

    /// <summary>Moves time forward, firing every timer that comes due, in order.</summary>
    public void Advance(TimeSpan by)
    {
        long target;
        lock (_lock) target = _ticks + by.Ticks;
        while (true)
        {
            ManualTimer? next = null;
            lock (_lock)
            {
                foreach (ManualTimer timer in _timers)
                {
                    if (timer.DueTicks is long due && due <= target && (next is null || due < next.DueTicks)) next = timer;
                }
                if (next is null)
                {
                    _ticks = target;
                    return;
                }
                _ticks = Math.Max(_ticks, next.DueTicks!.Value);
                next.DueTicks = next.PeriodTicks > 0 ? _ticks + next.PeriodTicks : null;
            }
            next.Fire();
        }
    }

    private void Remove(ManualTimer timer)
    {
        lock (_lock) _timers.Remove(timer);
    }

    private sealed class ManualTimer : ITimer
    {
        private readonly ManualTimeProvider _owner;
        private readonly TimerCallback _callback;
        private readonly object? _state;

        public ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state)
        {
            _owner = owner;
            _callback = callback;
            _state = state;
        }

        public long? DueTicks { get; set; }

        public long PeriodTicks { get; private set; }

        public void Fire() => _callback(_state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_owner._lock)
            {
                DueTicks = dueTime == Timeout.InfiniteTimeSpan ? null : _owner._ticks + dueTime.Ticks;
                PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            }
            return true;
        }

        public void Dispose() => _owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
