/// A clock with its type erased: the time since it was opened, and sleeping on it.
///
/// `any Clock<Duration>` cannot subtract its own instants, so the clock is opened once here and
/// kept behind closures; its instants become durations since the opening. Every timeout,
/// backoff and duration of the agent, the model client, MCP and the hub is measured and waited
/// on one of these, so that tests can drive them with a clock of their own.
public struct ElapsedClock: Sendable {
    /// The time since this clock was made.
    public let elapsed: @Sendable () -> Duration
    private let sleepUntilOffset: @Sendable (Duration) async throws -> Void

    public init(_ clock: any Clock<Duration> = ContinuousClock()) {
        self.init(opening: clock)
    }

    private init<C: Clock<Duration>>(opening clock: C) {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleepUntilOffset = { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) }
    }

    /// Sleeps until ``elapsed`` reaches `offset`; throws `CancellationError` when the task is
    /// cancelled.
    public func sleep(until offset: Duration) async throws {
        try await sleepUntilOffset(offset)
    }

    /// Sleeps for `duration`; throws `CancellationError` when the task is cancelled.
    public func sleep(for duration: Duration) async throws {
        try await sleepUntilOffset(elapsed() + duration)
    }
}
