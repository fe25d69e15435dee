import BedsideCore

extension ElapsedClock {
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
