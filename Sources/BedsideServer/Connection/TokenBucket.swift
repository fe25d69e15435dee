/// A token bucket: holds up to `rate` tokens (the burst), refills at `rate` per second, and each
/// frame it meters takes one.
///
/// A client that keeps under the rate never notices it; one that floods gets its burst, then
/// one frame per refilled token.
struct TokenBucket {
    let rate: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant?

    /// A bucket of `perSecond` tokens; nil for 0 (unlimited).
    init?(perSecond: Int) {
        guard perSecond > 0 else { return nil }
        rate = Double(perSecond)
        tokens = rate
    }

    /// Takes a token at `now`; false when the bucket is empty (the frame is over the rate).
    mutating func take(at now: ContinuousClock.Instant = .now) -> Bool {
        if let last {
            tokens = min(rate, tokens + (now - last) / .seconds(1) * rate)
        }
        last = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
