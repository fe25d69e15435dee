/// A set of measurements (microseconds) with exact percentiles.
///
/// Keeps every value: a full benchmark run records a few hundred thousand, and sorting them once
/// at the end is cheaper and exact where a bucketed histogram would round.
public struct Samples: Sendable {
    public private(set) var values: [Int64] = []
    private var sorted = true

    public init() {}

    public init(_ values: [Int64]) {
        for value in values { record(value) }
    }

    public var count: Int { values.count }

    public mutating func record(_ value: Int64) {
        if let last = values.last, value < last { sorted = false }
        values.append(value)
    }

    public mutating func merge(_ other: Samples) {
        for value in other.values { record(value) }
    }

    /// The nearest-rank percentile (`p` in 0...100): the smallest value with at least p% of the
    /// values at or below it. nil when empty.
    public mutating func percentile(_ p: Double) -> Int64? {
        guard !values.isEmpty else { return nil }
        if !sorted {
            values.sort()
            sorted = true
        }
        let rank = Int((p / 100 * Double(values.count)).rounded(.up))
        return values[min(max(rank, 1), values.count) - 1]
    }

    public mutating func summary() -> Summary? {
        guard let p50 = percentile(50), let p95 = percentile(95), let p99 = percentile(99), let max = percentile(100)
        else { return nil }
        return Summary(count: count, p50: p50, p95: p95, p99: p99, max: max)
    }

    /// Percentiles of a sample set, in microseconds.
    public struct Summary: Sendable, Equatable, Codable {
        public var count: Int
        public var p50: Int64
        public var p95: Int64
        public var p99: Int64
        public var max: Int64

        public init(count: Int, p50: Int64, p95: Int64, p99: Int64, max: Int64) {
            self.count = count
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
            self.max = max
        }
    }
}
