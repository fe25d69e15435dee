import BedsideCore
import BedsideProtocol
import BedsideServer
import BedsideStore
import Foundation
import Testing

/// A turn runner for the store-failure tests: `"stream"` streams deltas every few
/// milliseconds until cancelled; `"long"` streams 200 of them and ends; anything else answers
/// with one reply.
struct StreamingRunner: TurnRunner {
    var description: String { "streaming test runner" }

    func run(_ turn: TurnContext) async throws -> TurnUsage {
        let messageID = "msg-\(turn.turnID)"
        switch turn.content {
        case "stream", "long":
            let count = turn.content == "long" ? 200 : Int.max
            var index = 0
            while index < count {
                try await Task.sleep(for: .milliseconds(5))
                turn.emit(.assistant(AssistantEvent(content: "x\(index) ", streaming: true, messageID: messageID)))
                index += 1
            }
            turn.emit(.assistant(AssistantEvent(content: "done", streaming: false, messageID: messageID)))
        default:
            turn.emit(.assistant(AssistantEvent(content: "Re: \(turn.content)", streaming: false, messageID: messageID)))
        }
        return TurnUsage(promptTokens: 1, completionTokens: 1)
    }
}

/// What a client may rely on when the store cannot write: it is never sent an event that is not
/// stored, never two events under one seq; the turn ends `store_unavailable`, new messages are
/// refused with that code, `/ready` answers 503, and the session goes on once writes succeed.
@Suite struct FailClosedTests {
    @Test func aStoreThatStopsWritingStopsTheTurnAndShowsNothingUnstored() async throws {
        let store = FlakyStore()
        let server = try await LiveServer.start(store: store, runner: StreamingRunner())
        let session = newSessionID()
        let id = SessionID(session)!
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "stream", id: "m1"))
        var received = try await socket.receive(until: { $0.type == "assistant" })
        store.fail(.all)
        try await eventually("/ready reports the store unavailable") { try await server.get("/ready").0 == 503 }
        let (_, ready) = try await server.get("/ready")
        #expect(try JSONValue.parse(ready)["checks"]?["store"]?.stringValue == "unavailable")
        #expect((try JSONValue.parse(ready)["unwritten_events"]?.integerValue ?? 0) > 0)

        // Whatever still arrives was committed before the failure; then nothing more does.
        received += try await socket.receiveUntilSilent(for: .milliseconds(400))
        let storedWhileDown = try await store.events(in: id, after: 0, through: nil, limit: nil)
        try expectAllStored(received, in: storedWhileDown)

        // A new message is refused and nothing is stored for it.
        try await socket.send(Frame.message(session, "hello again", id: "m2"))
        let refusal = try await socket.receive()
        #expect(refusal.type == "error")
        #expect(refusal.code == "store_unavailable")
        #expect(refusal.seq == nil)

        // Writes succeed again: the held events arrive, then the turn's end.
        store.fail(.none)
        try await expectTheSessionGoesOn(session, on: socket, server: server, after: received, resending: "hello again", id: "m2")
        try await server.stop()
    }

    @Test func aWriteThatFailsForOneSessionLeavesTheOthersFlowing() async throws {
        let store = FlakyStore()
        let server = try await LiveServer.start(store: store, runner: StreamingRunner())
        let failing = newSessionID()
        let healthy = newSessionID()
        let failingSocket = try await server.open(failing)
        let healthySocket = try await server.open(healthy)
        try await healthySocket.send(Frame.message(healthy, "long"))
        _ = try await healthySocket.receive(until: { $0.type == "assistant" })
        try await failingSocket.send(Frame.message(failing, "stream"))
        _ = try await failingSocket.receive(until: { $0.type == "assistant" })
        store.fail(.session(SessionID(failing)!))

        // The healthy session's turn streams to its end while the other's events wait.
        let healthyTurn = try await healthySocket.receive(until: { $0.type == "turn" && $0.status != "started" })
        #expect(healthyTurn.last?.status == "completed")
        let healthyHistory = try await server.history(healthy)
        #expect(healthyHistory.compactMap(\.seq) == Array(1...Int64(healthyHistory.count)))
        #expect(store.refusedWrites > 0)

        store.fail(.none)
        let failedTurn = try await failingSocket.receive(until: { $0.type == "turn" && $0.status != "started" })
        #expect(failedTurn.last?["reason"]?.stringValue == "store_unavailable")
        let failingHistory = try await server.history(failing)
        #expect(failingHistory.compactMap(\.seq) == Array(1...Int64(failingHistory.count)))
        try await server.stop()
    }

    @Test func eventsTheStoreNeverTookAreSentToNoOneAndTheirSeqsAreNotSeenTwice() async throws {
        let base = InMemoryEventStore()
        let store = FlakyStore(base: base)
        let first = try await LiveServer.start(store: store, runner: StreamingRunner()) { $0.shutdownGrace = .zero }
        let session = newSessionID()
        let socket = try await first.open(session)
        try await socket.send(Frame.message(session, "stream"))
        var seen = try await socket.receive(until: { $0.type == "assistant" })
        store.fail(.all)
        try await eventually("/ready reports the store unavailable") { try await first.get("/ready").0 == 503 }
        // The server stops while the store still refuses: what it held is given up, unsent.
        try await first.stop()
        seen += try await socket.receiveUntilSilent(for: .milliseconds(200))
        let lastSeen = seen.compactMap(\.seq).max() ?? 0

        store.fail(.none)
        let second = try await LiveServer.start(store: store, runner: StreamingRunner())
        let resumed = try await second.open(session, lastSeq: lastSeen)
        let replay = try await resumed.receive(until: { $0.type == "turn" && $0.status != "started" })
        #expect(replay.last?["reason"]?.stringValue == "interrupted")
        let history = try await second.history(session)
        #expect(history.compactMap(\.seq) == Array(1...Int64(history.count)))
        // Every event the client saw under a seq is the one stored under it.
        for event in seen where event.seq != nil {
            #expect(history.first { $0.seq == event.seq } == event)
        }
        #expect(replay.compactMap(\.seq).allSatisfy { $0 > lastSeen })
        try await second.stop()
    }

    @Test func aDeleteWhileTheStoreCannotWriteIsRefusedAndChangesNothing() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-\(UUID().uuidString).sqlite")
        defer { try? FileManager.default.removeItem(at: file) }
        let sqlite = try SQLiteEventStore(path: file.path)
        let store = FlakyDirectoryStore(sqlite: sqlite)
        let server = try await LiveServer.start(store: store, runner: StreamingRunner())
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "hi"))
        _ = try await socket.receiveTurn()
        store.flaky.fail(.all)
        try await socket.send(Frame.message(session, "stream"))
        try await eventually("/ready reports the store unavailable") { try await server.get("/ready").0 == 503 }
        let deleted = try await HTTPGet.perform(
            port: server.port,
            method: "DELETE",
            path: "/sessions/\(session)",
            headers: [:],
            body: Data()
        )
        #expect(deleted.status == 503)
        #expect(try JSONValue.parse(deleted.body).code == "store_unavailable")
        store.flaky.fail(.none)
        _ = try await socket.receive(until: { $0.type == "turn" && $0.status != "started" })
        #expect(try await server.history(session).count > 4)
        try await server.stop()
    }
}

/// A ``FlakyStore`` over SQLite that is also the session directory (list, rename, delete).
final class FlakyDirectoryStore: EventStore, SessionDirectory {
    let sqlite: SQLiteEventStore
    let flaky: FlakyStore

    init(sqlite: SQLiteEventStore) {
        self.sqlite = sqlite
        self.flaky = FlakyStore(base: sqlite)
    }

    func append(_ events: [StoredEvent]) async throws { try await flaky.append(events) }
    func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] {
        try await sqlite.events(in: session, after: after, through: through, limit: limit)
    }
    func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? {
        try await sqlite.userEvent(in: session, clientMessageID: clientMessageID)
    }
    func snapshot(of session: SessionID) async throws -> SessionSnapshot { try await sqlite.snapshot(of: session) }
    func unfinishedTurns() async throws -> [UnfinishedTurn] { try await sqlite.unfinishedTurns() }
    func ping() async throws { try await sqlite.ping() }
    func sessions(owner: String, after cursor: SessionCursor?, limit: Int) async throws -> [SessionSummary] {
        try await sqlite.sessions(owner: owner, after: cursor, limit: limit)
    }
    func summary(of session: SessionID) async throws -> SessionSummary? { try await sqlite.summary(of: session) }
    func rename(_ session: SessionID, title: String) async throws -> SessionSummary? { try await sqlite.rename(session, title: title) }
    func delete(_ session: SessionID) async throws -> Bool { try await sqlite.delete(session) }
}

/// Once the store writes again: the held events reach `socket`, then the stopped turn's end
/// (`error` and `turn` `failed`, both `store_unavailable`); `/ready` is back; the message refused
/// meanwhile is taken under its own id; and what the client was sent is the stored history, dense.
func expectTheSessionGoesOn(
    _ session: String,
    on socket: TestSocket,
    server: LiveServer,
    after received: [JSONValue],
    resending content: String,
    id: String,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    var received = received
    let rest = try await socket.receive(until: { $0.type == "turn" && $0.status != "started" })
    received += rest
    #expect(rest.last?.status == "failed", sourceLocation: sourceLocation)
    #expect(rest.last?["reason"]?.stringValue == "store_unavailable", sourceLocation: sourceLocation)
    #expect(rest.dropLast().last?.code == "store_unavailable", sourceLocation: sourceLocation)
    try await eventually("/ready reports ready") { try await server.get("/ready").0 == 200 }

    try await socket.send(Frame.message(session, content, id: id))
    received += try await socket.receiveTurn()
    #expect(received.last?.status == "completed", sourceLocation: sourceLocation)

    let history = try await server.history(session)
    #expect(history.compactMap(\.seq) == Array(1...Int64(history.count)), sourceLocation: sourceLocation)
    #expect(received.filter { $0.seq != nil } == history, sourceLocation: sourceLocation)
    #expect(try await server.store.unfinishedTurns().isEmpty, sourceLocation: sourceLocation)
}

/// Checks that every event the client was sent under a seq is stored, identical, under it.
func expectAllStored(_ received: [JSONValue], in stored: [StoredEvent], sourceLocation: SourceLocation = #_sourceLocation) throws {
    let bySeq = Dictionary(stored.map { ($0.seq, $0.json) }, uniquingKeysWith: { first, _ in first })
    for event in received {
        guard let seq = event.seq else { continue }
        guard let json = bySeq[seq] else {
            Issue.record("seq \(seq) (\(event.type ?? "?")) was sent but is not stored", sourceLocation: sourceLocation)
            continue
        }
        #expect(try JSONValue.parse(json) == event, "seq \(seq) differs from what is stored", sourceLocation: sourceLocation)
    }
}

extension TestSocket {
    /// Receives events until none arrives for `quiet` (or the connection ends).
    func receiveUntilSilent(for quiet: Duration) async throws -> [JSONValue] {
        var events: [JSONValue] = []
        while true {
            do {
                guard let text = try await receiveText(timeout: quiet) else { return events }
                events.append(try JSONValue.parse(text))
            } catch let failure as TestFailure where failure.description.hasPrefix("no event") {
                return events
            }
        }
    }
}
