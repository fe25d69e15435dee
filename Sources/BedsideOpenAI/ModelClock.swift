/// The model's clock with its type erased: the time since it was opened, and sleeping on it.
///
/// `any Clock<Duration>` cannot subtract its own instants, so the clock is opened once here
/// and kept behind closures; its instants become durations since the opening. The retry
/// backoff, the first-token timeout and the stall timeout all wait on it, so that tests can
/// drive them with a clock of their own.
struct ModelClock: Sendable {
    /// The time since this clock was made.
    let now: @Sendable () -> Duration
    /// Sleeps until `now()` reaches the offset; throws `CancellationError` when the task is cancelled.
    let sleepUntil: @Sendable (Duration) async throws -> Void

    init(_ clock: any Clock<Duration>) {
        self.init(opening: clock)
    }

    private init<C: Clock<Duration>>(opening clock: C) {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleepUntil = { offset in try await clock.sleep(until: origin.advanced(by: offset), tolerance: nil) }
    }

    /// Sleeps for `duration`; throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws {
        try await sleepUntil(now() + duration)
    }
}
