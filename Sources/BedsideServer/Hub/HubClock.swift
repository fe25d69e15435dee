/// The hub's clock with its type erased: elapsed time since it was made, and sleeping.
///
/// Turn durations, the shutdown grace and the event writer's retry backoff are measured and
/// waited on this clock; tests pass a manual one and move it. `any Clock<Duration>` cannot
/// subtract its own instants, so the clock is opened once here and kept behind two closures.
struct HubClock: Sendable {
    /// The time since this clock was made.
    let elapsed: @Sendable () -> Duration
    /// Sleeps for a duration; throws `CancellationError` when the task is cancelled.
    let sleep: @Sendable (Duration) async throws -> Void

    init(_ clock: any Clock<Duration> = ContinuousClock()) {
        self.init(opening: clock)
    }

    private init<C: Clock<Duration>>(opening clock: C) {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleep = { duration in try await clock.sleep(for: duration) }
    }

    /// Sleeps until `elapsed()` reaches `deadline`; throws `CancellationError` when cancelled.
    func sleep(until deadline: Duration) async throws {
        let remaining = deadline - elapsed()
        if remaining > .zero { try await sleep(remaining) }
    }

    /// Waits until `condition` holds, for at most `limit` on this clock; true when it held.
    /// Returns early, with the condition's answer, when the task is cancelled.
    ///
    /// The condition is checked every `interval` of real time, whatever the clock: a manual clock
    /// then moves only the deadline, and a condition that comes true is seen without moving it.
    /// Shutdown only: a short poll keeps the waits independent of how each turn or connection
    /// ends, and leaves no task behind.
    func wait(
        until condition: () -> Bool,
        upTo limit: Duration,
        checkingEvery interval: Duration = .milliseconds(10)
    ) async -> Bool {
        let deadline = elapsed() + limit
        while !condition() {
            guard elapsed() < deadline else { return false }
            do {
                try await Task.sleep(for: interval)
            } catch {
                return condition()
            }
        }
        return true
    }
}
