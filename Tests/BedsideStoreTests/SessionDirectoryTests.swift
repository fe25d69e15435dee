import BedsideCore
import BedsideStore
import Foundation
import GRDB
import Testing

/// The conversation list, rename, delete and the patient audit, against every store, and
/// sessions of the same id under two owners kept apart.
@Suite struct SessionDirectoryTests {
    typealias Kind = EventStoreTests.Kind

    private func store(_ kind: Kind) throws -> (any EventStore & SessionDirectory & AccessAudit, String?) {
        let (store, path) = try EventStoreTests.makeStore(kind)
        guard let directory = store as? any EventStore & SessionDirectory & AccessAudit else {
            throw StoreError(message: "\(kind) keeps no session directory")
        }
        return (directory, path)
    }

    private func user(_ session: SessionID, _ seq: Int64, _ content: String) -> StoredEvent {
        StoredEvent(
            sessionID: session,
            seq: seq,
            type: "user",
            turnID: "t\(seq)",
            json: #"{"type":"user","content":"\#(content)"}"#,
            userContent: content
        )
    }

    private func turn(_ session: SessionID, _ seq: Int64, _ status: String) -> StoredEvent {
        StoredEvent(sessionID: session, seq: seq, type: "turn", turnID: "t\(seq)", turnStatus: status, json: #"{"type":"turn"}"#)
    }

    @Test(arguments: Kind.allCases)
    func theSameIdUnderTwoOwnersIsTwoSessions(_ kind: Kind) async throws {
        let (store, path) = try store(kind)
        defer { EventStoreTests.cleanup(path) }
        let alice = try #require(SessionID("shared-id-1", owner: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
        let bob = try #require(SessionID("shared-id-1", owner: "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"))
        let local = try #require(SessionID("shared-id-1"))
        try await store.append([user(alice, 1, "alice asks"), turn(alice, 2, "started")])
        try await store.append([user(bob, 1, "bob asks")])
        #expect(try await store.events(in: alice, after: 0, through: nil, limit: nil).count == 2)
        #expect(try await store.events(in: bob, after: 0, through: nil, limit: nil).map(\.seq) == [1])
        #expect(try await store.events(in: local, after: 0, through: nil, limit: nil).isEmpty)
        #expect(try await store.snapshot(of: bob).latestSeq == 1)
        #expect(try await store.unfinishedTurns() == [UnfinishedTurn(sessionID: alice, turnID: "t2")])
        #expect(try await store.sessions(owner: alice.owner, after: nil, limit: 10).map(\.id) == [alice])
        #expect(try await store.sessions(owner: SessionID.localOwner, after: nil, limit: 10).isEmpty)
    }

    @Test(arguments: Kind.allCases)
    func summariesFollowMessagesTurnsAndRenames(_ kind: Kind) async throws {
        let (store, path) = try store(kind)
        defer { EventStoreTests.cleanup(path) }
        let first = try #require(SessionID("first-session"))
        let second = try #require(SessionID("second-session"))
        let long = String(repeating: "word ", count: 40) + "\nsecond line"
        try await store.append([user(first, 1, long), turn(first, 2, "started")])
        try await Task.sleep(for: .milliseconds(2))
        try await store.append([user(second, 1, "Second question"), turn(second, 2, "started"), turn(second, 3, "completed")])
        var summary = try #require(try await store.summary(of: first))
        #expect(summary.title?.count == SessionSummary.titleLength && summary.title?.hasSuffix("…") == true)
        #expect(summary.turnCount == 1 && summary.lastTurnStatus == "started")
        try await Task.sleep(for: .milliseconds(2))
        try await store.append([turn(first, 3, "failed"), user(first, 4, "again"), turn(first, 5, "started")])
        summary = try #require(try await store.summary(of: first))
        #expect(summary.turnCount == 2 && summary.lastTurnStatus == "started" && summary.title?.hasPrefix("word") == true)
        let page = try await store.sessions(owner: SessionID.localOwner, after: nil, limit: 1)
        #expect(page.map(\.id) == [first])
        let cursor = SessionCursor(lastActivityMicros: page[0].lastActivityMicros, rawID: page[0].id.rawValue)
        #expect(SessionCursor(text: cursor.text) == cursor)
        #expect(try await store.sessions(owner: SessionID.localOwner, after: cursor, limit: 5).map(\.id) == [second])
        #expect(try await store.rename(second, title: "Renamed")?.title == "Renamed")
        try await store.append([user(second, 4, "a later message")])
        #expect(try await store.summary(of: second)?.title == "Renamed")
        #expect(try await store.rename(try #require(SessionID("no-such-session")), title: "x") == nil)
        // Streaming deltas do not touch the summary.
        let before = try #require(try await store.summary(of: second))
        try await store.append([StoredEvent(sessionID: second, seq: 5, type: "assistant", json: #"{"streaming":true}"#)])
        #expect(try await store.summary(of: second) == before)
    }

    @Test(arguments: Kind.allCases)
    func deletingKeepsTheAuditAndTheIdStartsAfresh(_ kind: Kind) async throws {
        let (store, path) = try store(kind)
        defer { EventStoreTests.cleanup(path) }
        let session = try #require(SessionID("deleted-session", owner: "cccccccccccccccccccccccccccccccc"))
        try await store.append([user(session, 1, "hello"), turn(session, 2, "started")])
        let record = AccessRecord(
            sessionID: session,
            turnID: "t1",
            toolCallID: "c1",
            tool: "search_clinical",
            patientIDs: ["patient-7", "patient-8"],
            resources: ["Condition/x"],
            timeMicros: 42
        )
        try await store.record(record)
        try await store.record(
            AccessRecord(
                sessionID: try #require(SessionID("other-session")),
                turnID: nil,
                toolCallID: nil,
                tool: "patient_summary",
                patientIDs: ["patient-77"],
                resources: [],
                timeMicros: 43
            )
        )
        #expect(try await store.delete(session))
        #expect(try await !store.delete(session))
        #expect(try await store.events(in: session, after: 0, through: nil, limit: nil).isEmpty)
        #expect(try await store.summary(of: session) == nil)
        #expect(try await store.unfinishedTurns().isEmpty)
        #expect(try await store.records(in: session) == [record])
        #expect(try await store.records(patient: "patient-7") == [record])
        #expect(try await store.records(patient: "patient-7")[0].sessionID.owner == session.owner)
        #expect(try await store.records(patient: "patient").isEmpty, "a prefix of an id is not the id")
        try await store.append([user(session, 1, "new start")])
        #expect(try await store.summary(of: session)?.title == "new start")
    }

    @Test func aStoreWrittenBeforeTheListExistedGetsItsSummaries() async throws {
        let path = NSTemporaryDirectory() + "bedside-store-\(UUID().uuidString).sqlite"
        defer { EventStoreTests.cleanup(path) }
        // The v2 schema, as an older Bedside left it, with one session's events.
        let old = try SQLiteEventStore(path: path)
        let session = try #require(SessionID("old-session"))
        try await old.append([
            StoredEvent(
                sessionID: session,
                seq: 1,
                type: "user",
                turnID: "t",
                json: #"{"type":"user","timestamp":"2026-11-25T09:12:02.123456Z","content":"From before"}"#
            ),
            StoredEvent(
                sessionID: session,
                seq: 2,
                type: "turn",
                turnID: "t",
                turnStatus: "completed",
                json: #"{"type":"turn","timestamp":"2026-11-25T09:12:03.000000Z"}"#
            ),
        ])
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "DROP TABLE session; DELETE FROM grdb_migrations WHERE identifier = 'v3-sessions'")
        }
        try queue.close()
        let reopened = try SQLiteEventStore(path: path)
        let summary = try #require(try await reopened.summary(of: session))
        #expect(summary.title == "From before" && summary.turnCount == 0 && summary.lastTurnStatus == "completed")
        #expect(summary.createdMicros == 1_795_597_922_000_000 && summary.lastActivityMicros == 1_795_597_923_000_000)
    }
}
