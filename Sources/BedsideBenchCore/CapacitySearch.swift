/// Finds the largest session count at which a chat run still meets its limit (turn p50 within
/// the model's time + 30 ms): up a ladder of sizes until one fails, then by halving the gap
/// between the largest that passed and the smallest that failed, until the gap is within the
/// resolution.
///
/// Pure: the caller runs each size ``next`` names and ``record(sessions:passed:)``s the
/// outcome, and stops early when its time is up. A pass above a failure (noise on a busy
/// machine) is kept in ``steps`` but does not move the bounds.
public struct CapacitySearch: Sendable {
    /// One size tried.
    public struct Step: Sendable, Equatable, Codable {
        public var sessions: Int
        public var passed: Bool

        public init(sessions: Int, passed: Bool) {
            self.sessions = sessions
            self.passed = passed
        }
    }

    /// 20, 50, 100, 150, 200, 300, 400, 600, 800, 1000, 1500, 2000.
    public static let defaultLadder = [20, 50, 100, 150, 200, 300, 400, 600, 800, 1000, 1500, 2000]

    /// The sizes tried, in ascending order, until the first failure.
    public let ladder: [Int]
    /// The search stops once the gap is at most this many sessions…
    public let absoluteResolution: Int
    /// …or at most this share of the largest size that passed.
    public let relativeResolution: Double
    public private(set) var steps: [Step] = []

    public init(ladder: [Int] = CapacitySearch.defaultLadder, absoluteResolution: Int = 2, relativeResolution: Double = 0.1) {
        self.ladder = Array(Set(ladder.filter { $0 > 0 })).sorted()
        self.absoluteResolution = max(1, absoluteResolution)
        self.relativeResolution = max(0, relativeResolution)
    }

    /// The smallest size that failed, if any did.
    public var smallestFailing: Int? { steps.filter { !$0.passed }.map(\.sessions).min() }

    /// The largest size that passed below every failure: the capacity found so far (nil: none passed).
    public var largestPassing: Int? {
        let ceiling = smallestFailing ?? .max
        return steps.filter { $0.passed && $0.sessions < ceiling }.map(\.sessions).max()
    }

    /// The next size to run; nil once the search is done.
    public var next: Int? {
        let passing = largestPassing ?? 0
        guard let failing = smallestFailing else { return ladder.first { $0 > passing } }
        let gap = failing - passing
        guard gap > max(absoluteResolution, Int(Double(passing) * relativeResolution)) else { return nil }
        return passing + gap / 2
    }

    public mutating func record(sessions: Int, passed: Bool) {
        steps.append(Step(sessions: sessions, passed: passed))
    }

    /// The outcome in words, e.g. `150 sessions (175 did not)`, `≥ 2000 sessions (the largest tried)`,
    /// `< 20 sessions (20 did not)`; `finished` false says the time ran out first.
    public func summary(finished: Bool = true) -> String {
        let failing = smallestFailing
        switch (largestPassing, failing) {
        case (let passing?, let failing?):
            let bounds = "\(Self.sessions(passing)) (\(failing) did not)"
            return finished || next == nil ? bounds : "≥ \(bounds); the time ran out before the gap closed"
        case (let passing?, nil):
            if next == nil { return "≥ \(Self.sessions(passing)) (the largest tried)" }
            return "≥ \(Self.sessions(passing)) (the time ran out before \(next ?? passing) was tried)"
        case (nil, let failing?):
            return "< \(Self.sessions(failing)) (\(failing) did not)"
        case (nil, nil):
            return "not measured (the time ran out before the first run)"
        }
    }

    /// `1 session`, `20 sessions`.
    public static func sessions(_ count: Int) -> String { count == 1 ? "1 session" : "\(count) sessions" }
}
