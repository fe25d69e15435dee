import BedsideCore
import BedsideStore
import Foundation
import GRDB
import Testing

/// A log written by a build before `v4-events-in-append-order` (events clustered by session and
/// seq, `WITHOUT ROWID`) opens with every event kept, in the new layout, still refusing a seq
/// given twice.
@Suite struct EventLogMigrationTests {
    @Test func anOldLogKeepsEveryEventInTheNewLayout() async throws {
        let path = NSTemporaryDirectory() + "bedside-store-\(UUID().uuidString).sqlite"
        defer { EventStoreTests.cleanup(path) }
        _ = try SQLiteEventStore(path: path)
        // Put the table back as the earlier builds made it, with events in it.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    DROP TABLE event;
                    CREATE TABLE event (
                        session_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, turn_id TEXT,
                        client_message_id TEXT, turn_status TEXT, json TEXT NOT NULL,
                        PRIMARY KEY (session_id, seq)
                    ) WITHOUT ROWID;
                    CREATE INDEX event_client_message
                        ON event (session_id, client_message_id) WHERE client_message_id IS NOT NULL;
                    INSERT INTO event VALUES ('session-b', 1, 'user', 't1', 'm1', NULL, '{"type":"user","seq":1}');
                    INSERT INTO event VALUES ('session-a', 2, 'turn', 't1', NULL, 'completed', '{"type":"turn","seq":2}');
                    INSERT INTO event VALUES ('session-a', 1, 'user', 't1', 'm2', NULL, '{"type":"user","seq":1}');
                    DELETE FROM grdb_migrations WHERE identifier = 'v4-events-in-append-order';
                    """
            )
        }
        try queue.close()

        let store = try SQLiteEventStore(path: path)
        let a = try #require(SessionID("session-a"))
        let b = try #require(SessionID("session-b"))
        #expect(try await store.events(in: a, after: 0, through: nil, limit: nil).map(\.seq) == [1, 2])
        #expect(try await store.events(in: a, after: 0, through: nil, limit: nil).map(\.turnStatus) == [nil, "completed"])
        #expect(try await store.events(in: b, after: 0, through: nil, limit: nil).map(\.json) == [#"{"type":"user","seq":1}"#])
        #expect(try await store.snapshot(of: a) == SessionSnapshot(latestSeq: 2, clientMessageIDs: ["m2"]))
        #expect(try await store.userEvent(in: b, clientMessageID: "m1")?.seq == 1)

        let reopened = try DatabaseQueue(path: path)
        let layout = try await reopened.read { db in
            try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'event'")
        }
        try reopened.close()
        #expect(layout?.contains("id INTEGER PRIMARY KEY") == true)
        #expect(layout?.contains("WITHOUT ROWID") == false)

        try await store.append([StoredEvent(sessionID: a, seq: 3, type: "user", turnID: "t2", json: #"{"type":"user"}"#)])
        await #expect(throws: (any Error).self) {
            try await store.append([StoredEvent(sessionID: a, seq: 3, type: "user", turnID: "t2", json: #"{"type":"user"}"#)])
        }
        #expect(try await store.events(in: a, after: 2, through: nil, limit: nil).count == 1)
    }
}
