import BedsideCore
import Synchronization

/// The server's turn limits, shared by every session: the turns each rate key may start per
/// minute (``TurnRateWindow``) and the turns that may run at once (``TurnSlots``).
///
/// A session asks it under its own lock, in the order messages arrive; neither answer waits.
final class TurnLimiter: Sendable {
    /// The limits: turns per minute per rate key, and turns running at once.
    let limits: ServerLimits
    /// The slots of the turns running at once (`limits.maxConcurrentTurns`).
    let slots: TurnSlots
    /// Turns each rate key started in the last minute (`limits.maxTurnsPerMinute`).
    private let rates: Mutex<TurnRateWindow>
    /// The time the window is measured on: elapsed since the limiter was made.
    private let elapsed: @Sendable () -> Duration

    /// - Parameter clock: what the turns-per-minute window is measured on; tests pass a
    ///   manual clock.
    init(limits: ServerLimits, clock: any Clock<Duration>) {
        self.limits = limits
        self.slots = TurnSlots(capacity: limits.maxConcurrentTurns)
        self.rates = Mutex(TurnRateWindow(limit: limits.maxTurnsPerMinute))
        self.elapsed = ElapsedClock(clock).elapsed
    }

    /// Counts a turn of `rateKey` against its turns per minute, or says how long until one
    /// may start; a nil key (an internal caller) is never limited.
    func admitTurn(rateKey: String?) -> TurnRateWindow.Decision {
        guard let rateKey, limits.maxTurnsPerMinute > 0 else { return .admitted }
        let now = elapsed()
        return rates.withLock { $0.admit(rateKey, at: now) }
    }
}
