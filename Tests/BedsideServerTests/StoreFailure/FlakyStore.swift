import BedsideCore
import BedsideStore
import Synchronization

/// An event store whose writes can be made to fail, as a full disk or a locked database makes
/// them fail: the test double at the `EventStore` seam, over a real in-memory store. Reads keep
/// working, as they do on a full disk.
final class FlakyStore: EventStore {
    struct WriteFailed: Error {}

    let base: any EventStore
    private let failing = Mutex<Failing>(.none)
    private let failures = Atomic(0)

    enum Failing {
        case none
        /// Every write fails.
        case all
        /// A write that holds an event of this session fails.
        case session(SessionID)
    }

    init(base: any EventStore = InMemoryEventStore()) {
        self.base = base
    }

    func fail(_ mode: Failing) { failing.withLock { $0 = mode } }

    /// Writes refused so far.
    var refusedWrites: Int { failures.load(ordering: .relaxed) }

    func append(_ events: [StoredEvent]) async throws {
        let refuse: Bool = failing.withLock { mode in
            switch mode {
            case .none: false
            case .all: true
            case .session(let id): events.contains { $0.sessionID == id }
            }
        }
        if refuse {
            failures.add(1, ordering: .relaxed)
            throw WriteFailed()
        }
        try await base.append(events)
    }

    func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] {
        try await base.events(in: session, after: after, through: through, limit: limit)
    }

    func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? {
        try await base.userEvent(in: session, clientMessageID: clientMessageID)
    }

    func snapshot(of session: SessionID) async throws -> SessionSnapshot { try await base.snapshot(of: session) }

    func unfinishedTurns() async throws -> [UnfinishedTurn] { try await base.unfinishedTurns() }

    func ping() async throws { try await base.ping() }
}

/// Waits, polling, until `condition` holds; fails after `timeout` (generous: a loaded machine
/// can stall a test for many seconds, and the wait ends as soon as the condition holds).
func eventually(
    _ what: String,
    timeout: Duration = .seconds(60),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
