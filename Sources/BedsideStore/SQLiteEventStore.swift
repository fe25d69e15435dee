public import BedsideCore
import Foundation
import GRDB

/// The default ``EventStore``: one SQLite file in WAL mode, written in batches.
///
/// Each ``append(_:)`` is one transaction; with `synchronous = NORMAL` a commit costs no fsync,
/// so a batch of events survives a process crash without paying for a disk flush per event.
/// Readers run concurrently with the writer (WAL), so replay never waits for live appends.
public final class SQLiteEventStore: EventStore, AccessAudit, SessionDirectory {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // The log grows by every event of every session: a larger page cache and a mapped
            // file keep the key's B-tree pages in memory instead of reading them back per insert.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw StoreError(message: "Cannot open the event database at \(path): \(error)", underlying: error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            try db.execute(
                sql: """
                    CREATE TABLE event (
                        session_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        turn_id TEXT,
                        client_message_id TEXT,
                        turn_status TEXT,
                        json TEXT NOT NULL,
                        PRIMARY KEY (session_id, seq)
                    ) WITHOUT ROWID;
                    CREATE INDEX event_client_message
                        ON event (session_id, client_message_id) WHERE client_message_id IS NOT NULL;
                    CREATE TABLE open_turn (
                        session_id TEXT NOT NULL,
                        turn_id TEXT NOT NULL,
                        PRIMARY KEY (session_id, turn_id)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v2-access-audit") { db in
            try db.execute(
                sql: """
                    CREATE TABLE access_audit (
                        id INTEGER PRIMARY KEY,
                        session_id TEXT NOT NULL,
                        turn_id TEXT,
                        tool_call_id TEXT,
                        tool TEXT NOT NULL,
                        patient_ids TEXT NOT NULL,
                        resources TEXT NOT NULL,
                        time_us INTEGER NOT NULL
                    );
                    CREATE INDEX access_audit_session ON access_audit (session_id, id);
                    """
            )
        }
        migrator.registerMigration("v3-sessions") { db in
            try db.execute(sql: sessionTableSQL)
            try db.execute(sql: sessionBackfillSQL)
        }
        migrator.registerMigration("v4-events-in-append-order") { db in
            // The log was clustered by (session, seq): with many sessions writing at once, each
            // batch inserted its rows all over the table's B-tree, and a commit wrote (and the
            // page cache read back) a page for nearly every event. Rows now go to the end of the
            // table in the order they are written, and only the small (session, seq) index entry
            // is placed among the others.
            try db.execute(
                sql: """
                    CREATE TABLE event_in_append_order (
                        id INTEGER PRIMARY KEY,
                        session_id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        type TEXT NOT NULL,
                        turn_id TEXT,
                        client_message_id TEXT,
                        turn_status TEXT,
                        json TEXT NOT NULL
                    );
                    INSERT INTO event_in_append_order (session_id, seq, type, turn_id, client_message_id, turn_status, json)
                        SELECT session_id, seq, type, turn_id, client_message_id, turn_status, json FROM event;
                    DROP TABLE event;
                    ALTER TABLE event_in_append_order RENAME TO event;
                    CREATE UNIQUE INDEX event_session_seq ON event (session_id, seq);
                    CREATE INDEX event_client_message
                        ON event (session_id, client_message_id) WHERE client_message_id IS NOT NULL;
                    """
            )
        }
        return migrator
    }

    public func record(_ record: AccessRecord) async throws {
        let patients = try Self.jsonList(record.patientIDs)
        let resources = try Self.jsonList(record.resources)
        try await pool.write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO access_audit (session_id, turn_id, tool_call_id, tool, patient_ids, resources, time_us)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    record.sessionID.storageKey, record.turnID, record.toolCallID, record.tool, patients, resources,
                    record.timeMicros,
                ]
            )
        }
    }

    public func records(in session: SessionID) async throws -> [AccessRecord] {
        try await pool.read { db in
            let decoder = JSONDecoder()
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT turn_id, tool_call_id, tool, patient_ids, resources, time_us FROM access_audit
                    WHERE session_id = ? ORDER BY id
                    """,
                arguments: [session.storageKey]
            ).map { row in
                AccessRecord(
                    sessionID: session,
                    turnID: row[0],
                    toolCallID: row[1],
                    tool: row[2],
                    patientIDs: try decoder.decode([String].self, from: Data((row[3] as String).utf8)),
                    resources: try decoder.decode([String].self, from: Data((row[4] as String).utf8)),
                    timeMicros: row[5]
                )
            }
        }
    }

    private static func jsonList(_ items: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(items), as: UTF8.self)
    }

    public func append(_ events: [StoredEvent]) async throws {
        guard !events.isEmpty else { return }
        try await pool.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO event (session_id, seq, type, turn_id, client_message_id, turn_status, json)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """
            )
            var summaries = SummaryChanges()
            for event in events {
                summaries.add(event)
                try insert.execute(arguments: [
                    event.sessionID.storageKey, event.seq, event.type, event.turnID,
                    event.clientMessageID, event.turnStatus, event.json,
                ])
                guard let status = event.turnStatus, let turnID = event.turnID else { continue }
                if status == "started" {
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO open_turn (session_id, turn_id) VALUES (?, ?)")
                        .execute(arguments: [event.sessionID.storageKey, turnID])
                } else {
                    try db.cachedStatement(sql: "DELETE FROM open_turn WHERE session_id = ? AND turn_id = ?")
                        .execute(arguments: [event.sessionID.storageKey, turnID])
                }
            }
            try summaries.write(db, now: Self.nowMicros())
        }
    }

    public func events(in session: SessionID, after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] {
        try await pool.read { db in
            let rows = try Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT seq, type, turn_id, client_message_id, turn_status, json FROM event
                        WHERE session_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?
                        """
                ),
                arguments: [session.storageKey, after, through ?? Int64.max, limit ?? -1]
            )
            var events: [StoredEvent] = []
            while let row = try rows.next() {
                events.append(Self.event(session, row))
            }
            return events
        }
    }

    public func conversation(in session: SessionID, through: Int64) async throws -> [StoredEvent] {
        try await pool.read { db in
            // Deltas are left out inside SQLite, so that only the few rows a history needs
            // become Swift values.
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: Self.conversationSQL),
                arguments: [session.storageKey, through]
            )
            var events: [StoredEvent] = []
            while let row = try rows.next() {
                events.append(Self.event(session, row))
            }
            return events
        }
    }

    /// The conversation of a session up to a seq: ``ConversationRule`` as a `WHERE` clause.
    static let conversationSQL = """
        SELECT seq, type, turn_id, client_message_id, turn_status, json FROM event
        WHERE session_id = ? AND seq <= ? AND \(ConversationRule.sqlPredicate(type: "type", json: "json"))
        ORDER BY seq
        """

    public func userEvent(in session: SessionID, clientMessageID: String) async throws -> StoredEvent? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT seq, type, turn_id, client_message_id, turn_status, json FROM event
                    WHERE session_id = ? AND client_message_id = ? ORDER BY seq LIMIT 1
                    """,
                arguments: [session.storageKey, clientMessageID]
            ).map { Self.event(session, $0) }
        }
    }

    public func snapshot(of session: SessionID) async throws -> SessionSnapshot {
        try await pool.read { db in
            let latest = try Int64.fetchOne(
                db,
                sql: "SELECT MAX(seq) FROM event WHERE session_id = ?",
                arguments: [session.storageKey]
            )
            let ids = try String.fetchSet(
                db,
                sql: "SELECT client_message_id FROM event WHERE session_id = ? AND client_message_id IS NOT NULL",
                arguments: [session.storageKey]
            )
            return SessionSnapshot(latestSeq: latest ?? 0, clientMessageIDs: ids)
        }
    }

    public func unfinishedTurns() async throws -> [UnfinishedTurn] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT session_id, turn_id FROM open_turn ORDER BY session_id, turn_id")
                .compactMap { row in
                    SessionID(storageKey: row[0] as String).map { UnfinishedTurn(sessionID: $0, turnID: row[1]) }
                }
        }
    }

    public func ping() async throws {
        _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    private static func event(_ session: SessionID, _ row: Row) -> StoredEvent {
        StoredEvent(
            sessionID: session,
            seq: row[0],
            type: row[1],
            turnID: row[2],
            clientMessageID: row[3],
            turnStatus: row[4],
            json: row[5]
        )
    }
}

/// The store could not do what was asked; `message` says what and where.
public struct StoreError: Error, CustomStringConvertible {
    public var message: String
    public var underlying: (any Error)?

    public init(message: String, underlying: (any Error)? = nil) {
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
