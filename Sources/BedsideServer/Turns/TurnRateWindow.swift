/// How many turns each rate key has started in the last minute: a sliding window over the start
/// times of its accepted turns.
///
/// A key may start ``limit`` turns in any 60 seconds; the next is refused until the oldest of
/// them is a minute old, and the refusal says how long that is. Unlike a token bucket, the
/// window never lets a key start more than ``limit`` turns within a minute, whatever the timing.
/// It keeps at most ``limit`` times per key, and forgets keys whose turns are all older than a
/// minute.
///
/// What it deliberately does not do: read a clock or lock. The caller passes the time (elapsed
/// since any fixed origin), so every decision can be tested by passing times in.
struct TurnRateWindow: Sendable {
    enum Decision: Sendable, Equatable {
        /// The turn may start; it now counts against the key.
        case admitted
        /// The key has started ``TurnRateWindow/limit`` turns within the window; one more may
        /// start after `retryAfter`.
        case refused(retryAfter: Duration)
    }

    /// Turns one key may start per window; 0 means unlimited.
    let limit: Int
    /// The length of the window: one minute.
    let window: Duration
    /// Start times per key, oldest first; never more than `limit` per key.
    private var starts: [String: [Duration]] = [:]
    /// Keys held before the next sweep for keys with no recent turn.
    private var sweepAt = 1024

    init(limit: Int, window: Duration = .seconds(60)) {
        self.limit = max(0, limit)
        self.window = window
    }

    /// Keys with a turn in the window (or not yet swept), for tests.
    var keyCount: Int { starts.count }

    /// Admits a turn of `key` at `now` and counts it, or refuses it and counts nothing.
    mutating func admit(_ key: String, at now: Duration) -> Decision {
        guard limit > 0 else { return .admitted }
        var times = starts[key] ?? []
        let expired = times.prefix { now - $0 >= window }.count
        times.removeFirst(expired)
        if times.count >= limit {
            starts[key] = times
            return .refused(retryAfter: times[0] + window - now)
        }
        times.append(now)
        starts[key] = times
        if starts.count >= sweepAt { sweep(at: now) }
        return .admitted
    }

    /// Forgets keys whose every turn has left the window; amortised over the keys added since
    /// the last sweep.
    private mutating func sweep(at now: Duration) {
        starts = starts.filter { _, times in times.last.map { now - $0 < window } ?? false }
        sweepAt = max(1024, starts.count * 2)
    }
}
