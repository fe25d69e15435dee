/// The driver's clock with its type erased: elapsed time since the turn began, and sleeping.
///
/// `any Clock<Duration>` cannot subtract its own instants, so the clock is opened once here and
/// kept behind two closures.
struct TurnClock: Sendable {
    /// The time since this clock was made.
    let elapsed: @Sendable () -> Duration
    /// Sleeps for a duration; throws `CancellationError` when the task is cancelled.
    let sleep: @Sendable (Duration) async throws -> Void

    init(_ clock: any Clock<Duration>) {
        self.init(opening: clock)
    }

    private init<C: Clock<Duration>>(opening clock: C) {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleep = { duration in try await clock.sleep(for: duration) }
    }
}
