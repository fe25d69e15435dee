import BedsideCore
import BedsideStore
import Foundation
import Testing

/// One suite, run against every `EventStore` implementation: they must behave the same.
@Suite struct EventStoreTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case memory, sqlite
        var testDescription: String { rawValue }
    }

    /// A fresh store of `kind`; SQLite lives in a temporary file removed by `cleanup`.
    static func makeStore(_ kind: Kind) throws -> (any EventStore, path: String?) {
        switch kind {
        case .memory:
            return (InMemoryEventStore(), nil)
        case .sqlite:
            let path = NSTemporaryDirectory() + "bedside-store-\(UUID().uuidString).sqlite"
            return (try SQLiteEventStore(path: path), path)
        }
    }

    static func cleanup(_ path: String?) {
        guard let path else { return }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    let alpha = SessionID("session-alpha")!
    let beta = SessionID("session-beta")!

    func event(
        _ session: SessionID,
        _ seq: Int64,
        type: String = "assistant",
        turn: String? = "t1",
        clientMessageID: String? = nil,
        status: String? = nil
    ) -> StoredEvent {
        StoredEvent(
            sessionID: session,
            seq: seq,
            type: type,
            turnID: turn,
            clientMessageID: clientMessageID,
            turnStatus: status,
            json: #"{"type":"\#(type)","seq":\#(seq),"text":"é \"quoted\""}"#
        )
    }

    @Test(arguments: Kind.allCases)
    func appendsAndReadsBackInOrderPerSession(_ kind: Kind) async throws {
        let (store, path) = try Self.makeStore(kind)
        defer { Self.cleanup(path) }
        try await store.append([event(alpha, 1), event(beta, 1), event(alpha, 2)])
        try await store.append((3...10).map { event(alpha, $0) })
        let all = try await store.events(in: alpha, after: 0, through: nil, limit: nil)
        #expect(all.map(\.seq) == Array(1...10))
        #expect(all.first == event(alpha, 1))  // byte-for-byte JSON, all fields
        #expect(try await store.events(in: beta, after: 0, through: nil, limit: nil).map(\.seq) == [1])
        #expect(try await store.events(in: alpha, after: 4, through: 7, limit: nil).map(\.seq) == [5, 6, 7])
        #expect(try await store.events(in: alpha, after: 4, through: nil, limit: 2).map(\.seq) == [5, 6])
        #expect(try await store.events(in: alpha, after: 10, through: nil, limit: nil).isEmpty)
        #expect(try await store.events(in: SessionID("session-none")!, after: 0, through: nil, limit: nil).isEmpty)
    }

    @Test(arguments: Kind.allCases)
    func conversationKeepsUserMessagesAndFinalRepliesOnly(_ kind: Kind) async throws {
        let (store, path) = try Self.makeStore(kind)
        defer { Self.cleanup(path) }
        func stored(_ seq: Int64, _ type: String, _ json: String) -> StoredEvent {
            StoredEvent(sessionID: alpha, seq: seq, type: type, turnID: "t1", json: json)
        }
        let events = [
            stored(1, "user", #"{"type":"user","content":"say \"streaming\":true"}"#),
            stored(2, "turn", #"{"type":"turn","status":"started"}"#),
            stored(3, "assistant", #"{"type":"assistant","content":"Hel","streaming":true,"message_id":"m"}"#),
            stored(4, "assistant", #"{"type":"assistant","content":"lo","streaming":true,"message_id":"m"}"#),
            stored(5, "tool_call", #"{"type":"tool_call","arguments":{"streaming":true}}"#),
            stored(6, "assistant", #"{"type":"assistant","content":"Hello \"streaming\":true","streaming":false,"message_id":"m"}"#),
            stored(7, "user", #"{"type":"user","content":"again"}"#),
        ]
        try await store.append(events)
        try await store.append([event(beta, 1, type: "user")])
        let conversation = try await store.conversation(in: alpha, through: 6)
        #expect(conversation == [events[0], events[5]])
        #expect(try await store.conversation(in: alpha, through: 7).map(\.seq) == [1, 6, 7])
        #expect(try await store.conversation(in: alpha, through: 0).isEmpty)
        #expect(events.map(\.isStreamingDelta) == [false, false, true, true, false, false, false])
    }

    @Test(arguments: Kind.allCases)
    func aBatchIsAllOrNothing(_ kind: Kind) async throws {
        let (store, path) = try Self.makeStore(kind)
        defer { Self.cleanup(path) }
        try await store.append([event(alpha, 1)])
        await #expect(throws: (any Error).self) {
            try await store.append([event(alpha, 2), event(beta, 1), event(alpha, 1)])
        }
        #expect(try await store.events(in: alpha, after: 0, through: nil, limit: nil).map(\.seq) == [1])
        #expect(try await store.events(in: beta, after: 0, through: nil, limit: nil).isEmpty)
        try await store.append([])
    }

    @Test(arguments: Kind.allCases)
    func snapshotsAndClientMessageIDs(_ kind: Kind) async throws {
        let (store, path) = try Self.makeStore(kind)
        defer { Self.cleanup(path) }
        #expect(try await store.snapshot(of: alpha) == SessionSnapshot())
        try await store.append([
            event(alpha, 1, type: "user", clientMessageID: "m-1"),
            event(alpha, 2, type: "turn", status: "started"),
            event(alpha, 3, type: "user", turn: "t2", clientMessageID: "m-2"),
            event(beta, 1, type: "user", clientMessageID: "m-3"),
        ])
        let snapshot = try await store.snapshot(of: alpha)
        #expect(snapshot.latestSeq == 3)
        #expect(snapshot.clientMessageIDs == ["m-1", "m-2"])
        #expect(try await store.userEvent(in: alpha, clientMessageID: "m-2")?.seq == 3)
        #expect(try await store.userEvent(in: alpha, clientMessageID: "m-3") == nil)
        #expect(try await store.userEvent(in: beta, clientMessageID: "m-3")?.seq == 1)
    }

    @Test(arguments: Kind.allCases)
    func unfinishedTurnsAreThoseStartedAndNotEnded(_ kind: Kind) async throws {
        let (store, path) = try Self.makeStore(kind)
        defer { Self.cleanup(path) }
        try await store.append([
            event(alpha, 1, type: "turn", turn: "a1", status: "started"),
            event(alpha, 2, type: "turn", turn: "a1", status: "completed"),
            event(alpha, 3, type: "turn", turn: "a2", status: "started"),
            event(beta, 1, type: "turn", turn: "b1", status: "started"),
        ])
        #expect(
            try await store.unfinishedTurns() == [
                UnfinishedTurn(sessionID: alpha, turnID: "a2"), UnfinishedTurn(sessionID: beta, turnID: "b1"),
            ]
        )
        try await store.append([event(beta, 2, type: "turn", turn: "b1", status: "failed")])
        #expect(try await store.unfinishedTurns() == [UnfinishedTurn(sessionID: alpha, turnID: "a2")])
        try await store.ping()
    }

    @Test(arguments: Kind.allCases)
    func theAccessAuditKeepsEachSessionsRecordsInOrder(_ kind: Kind) async throws {
        let (store, path) = try Self.makeStore(kind)
        defer { Self.cleanup(path) }
        let audit = try #require(store as? any AccessAudit)
        let first = AccessRecord(
            sessionID: alpha,
            turnID: "t1",
            toolCallID: "call_1",
            tool: "find_patients",
            patientIDs: [],
            resources: ["Patient/p-1", "Patient/p-2"],
            timeMicros: 1_000
        )
        let second = AccessRecord(
            sessionID: alpha,
            turnID: "t1",
            toolCallID: nil,
            tool: "search_clinical",
            patientIDs: ["p-1"],
            resources: ["Condition/c-1"],
            timeMicros: 2_000
        )
        let other = AccessRecord(
            sessionID: beta,
            turnID: nil,
            toolCallID: nil,
            tool: "read_resource",
            patientIDs: ["p-9"],
            resources: ["Observation/o-\"quoted\""],
            timeMicros: 3_000
        )
        try await audit.record(first)
        try await audit.record(other)
        try await audit.record(second)
        #expect(try await audit.records(in: alpha) == [first, second])
        #expect(try await audit.records(in: beta) == [other])
        #expect(try await audit.records(in: SessionID("session-gamma")!).isEmpty)
    }

    @Test func sqliteKeepsEverythingAcrossReopening() async throws {
        let (store, path) = try Self.makeStore(.sqlite)
        defer { Self.cleanup(path) }
        try await store.append((1...500).map { event(alpha, $0) } + [event(alpha, 501, type: "turn", turn: "x", status: "started")])
        let reopened = try SQLiteEventStore(path: try #require(path))
        #expect(try await reopened.events(in: alpha, after: 0, through: nil, limit: nil).count == 501)
        #expect(try await reopened.snapshot(of: alpha).latestSeq == 501)
        #expect(try await reopened.unfinishedTurns() == [UnfinishedTurn(sessionID: alpha, turnID: "x")])
    }

    @Test func sqliteReportsAnUnopenableFile() throws {
        #expect(throws: StoreError.self) {
            _ = try SQLiteEventStore(path: "/nonexistent-dir-\(UUID().uuidString)/bedside.sqlite")
        }
    }
}
