// A clock for the tests of every target that takes one (the agent, the model, MCP).
import Synchronization

/// A clock that moves only when a test advances it: sleepers wake when it passes their
/// deadline, at once, so timeouts and backoff are tested with no real waiting.
public final class TestClock: Clock, Sendable {
    public struct Instant: InstantProtocol {
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// The deadlines of the tasks sleeping on the clock, as offsets from now, earliest first.
    public var pendingSleeps: [Duration] {
        state.withLock { state in state.sleepers.values.map { state.now.duration(to: $0.deadline) }.sorted() }
    }

    /// Moves the clock forward by `duration`, waking every sleeper whose deadline it reaches.
    public func advance(by duration: Duration) {
        let woken = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now = state.now.advanced(by: duration)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wait, wake, cancel }
                let now = state.withLock { state -> Now in
                    if Task.isCancelled { return .cancel }
                    if deadline <= state.now { return .wake }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .wait
                }
                switch now {
                case .cancel: continuation.resume(throwing: CancellationError())
                case .wake: continuation.resume()
                case .wait: break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Waits in real time (at most 120 s: the suite runs in parallel on few cores) until a task
    /// sleeps on the clock with a deadline that satisfies `matching`, measured from now;
    /// returns that deadline.
    @discardableResult
    public func waitForSleeper(_ matching: (Duration) -> Bool = { _ in true }) async throws -> Duration {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let found = pendingSleeps.first(where: matching) { return found }
            try await Task.sleep(for: .milliseconds(2))
        }
        throw TestClockTimeout(pending: pendingSleeps)
    }
}

/// No task slept on the ``TestClock`` as the test expected.
public struct TestClockTimeout: Error, CustomStringConvertible {
    public var pending: [Duration]
    public var description: String { "no sleeper as expected within 120 s; sleeping: \(pending)" }
}
