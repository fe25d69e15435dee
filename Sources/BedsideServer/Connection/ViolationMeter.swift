/// Counts a connection's protocol violations in a leaky bucket: each violation adds one, the
/// level drains at `drainPerSecond`, and a connection whose level passes `capacity` is closed.
///
/// A client that makes an occasional mistake keeps its connection; one that keeps sending
/// garbage is closed with 1008.
struct ViolationMeter {
    let capacity: Double
    let drainPerSecond: Double
    private var level = 0.0
    private var last: ContinuousClock.Instant?

    init(capacity: Int, drainPerSecond: Double = 1) {
        self.capacity = Double(capacity)
        self.drainPerSecond = drainPerSecond
    }

    /// Records a violation at `now`; true when the connection has now gone over the limit.
    mutating func record(at now: ContinuousClock.Instant = .now) -> Bool {
        if let last {
            let elapsed = now - last
            let seconds = elapsed / .seconds(1)
            level = max(0, level - seconds * drainPerSecond)
        }
        last = now
        level += 1
        return level > capacity
    }
}
