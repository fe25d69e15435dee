public import BedsideCore
import Foundation
import GRDB

extension SQLiteEventStore {
    /// One row per session: what the conversation list shows, kept as events are appended.
    static let sessionTableSQL = """
        CREATE TABLE session (
            key TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            id TEXT NOT NULL,
            title TEXT,
            created_us INTEGER NOT NULL,
            last_activity_us INTEGER NOT NULL,
            turn_count INTEGER NOT NULL DEFAULT 0,
            last_turn_status TEXT
        ) WITHOUT ROWID;
        CREATE INDEX session_owner_activity ON session (owner, last_activity_us DESC, id DESC);
        """

    /// Summaries for sessions stored before the table existed, from their events' own timestamps.
    static let sessionBackfillSQL = """
        INSERT INTO session (key, owner, id, title, created_us, last_activity_us, turn_count, last_turn_status)
        SELECT e.session_id,
               CASE WHEN instr(e.session_id, ':') > 0 THEN substr(e.session_id, 1, instr(e.session_id, ':') - 1) ELSE 'local' END,
               CASE WHEN instr(e.session_id, ':') > 0 THEN substr(e.session_id, instr(e.session_id, ':') + 1) ELSE e.session_id END,
               (SELECT substr(json_extract(u.json, '$.content'), 1, 80) FROM event u
                 WHERE u.session_id = e.session_id AND u.type = 'user' ORDER BY u.seq LIMIT 1),
               COALESCE(CAST(strftime('%s', substr(json_extract(
                   (SELECT f.json FROM event f WHERE f.session_id = e.session_id ORDER BY f.seq LIMIT 1),
                   '$.timestamp'), 1, 19)) AS INTEGER) * 1000000, 0),
               COALESCE(CAST(strftime('%s', substr(json_extract(
                   (SELECT l.json FROM event l WHERE l.session_id = e.session_id ORDER BY l.seq DESC LIMIT 1),
                   '$.timestamp'), 1, 19)) AS INTEGER) * 1000000, 0),
               SUM(CASE WHEN e.turn_status = 'started' THEN 1 ELSE 0 END),
               (SELECT t.turn_status FROM event t
                 WHERE t.session_id = e.session_id AND t.turn_status IS NOT NULL ORDER BY t.seq DESC LIMIT 1)
        FROM event e GROUP BY e.session_id;
        """

    static func nowMicros() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000_000).rounded()) }

    public func sessions(owner: String, after cursor: SessionCursor?, limit: Int) async throws -> [SessionSummary] {
        try await pool.read { db in
            let rows: [Row]
            if let cursor {
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(Self.summaryColumns) FROM session WHERE owner = ?
                          AND (last_activity_us < ? OR (last_activity_us = ? AND id < ?))
                        ORDER BY last_activity_us DESC, id DESC LIMIT ?
                        """,
                    arguments: [owner, cursor.lastActivityMicros, cursor.lastActivityMicros, cursor.rawID, limit]
                )
            } else {
                rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT \(Self.summaryColumns) FROM session WHERE owner = ?
                        ORDER BY last_activity_us DESC, id DESC LIMIT ?
                        """,
                    arguments: [owner, limit]
                )
            }
            return rows.compactMap(Self.summary(from:))
        }
    }

    public func summary(of session: SessionID) async throws -> SessionSummary? {
        try await pool.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(Self.summaryColumns) FROM session WHERE key = ?",
                arguments: [session.storageKey]
            ).flatMap(Self.summary(from:))
        }
    }

    public func rename(_ session: SessionID, title: String) async throws -> SessionSummary? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE session SET title = ? WHERE key = ?", arguments: [title, session.storageKey])
            guard db.changesCount > 0 else { return nil }
            return try Row.fetchOne(
                db,
                sql: "SELECT \(Self.summaryColumns) FROM session WHERE key = ?",
                arguments: [session.storageKey]
            ).flatMap(Self.summary(from:))
        }
    }

    public func delete(_ session: SessionID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM session WHERE key = ?", arguments: [session.storageKey])
            let existed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM event WHERE session_id = ?", arguments: [session.storageKey])
            try db.execute(sql: "DELETE FROM open_turn WHERE session_id = ?", arguments: [session.storageKey])
            return existed
        }
    }

    public func records(patient patientID: String) async throws -> [AccessRecord] {
        let needle = String(decoding: try JSONEncoder().encode(patientID), as: UTF8.self)
        return try await pool.read { db in
            let decoder = JSONDecoder()
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT session_id, turn_id, tool_call_id, tool, patient_ids, resources, time_us FROM access_audit
                    WHERE instr(patient_ids, ?) > 0 ORDER BY id
                    """,
                arguments: [needle]
            ).compactMap { row -> AccessRecord? in
                guard let session = SessionID(storageKey: row[0] as String) else { return nil }
                let patients = try decoder.decode([String].self, from: Data((row[4] as String).utf8))
                guard patients.contains(patientID) else { return nil }
                return AccessRecord(
                    sessionID: session,
                    turnID: row[1],
                    toolCallID: row[2],
                    tool: row[3],
                    patientIDs: patients,
                    resources: try decoder.decode([String].self, from: Data((row[5] as String).utf8)),
                    timeMicros: row[6]
                )
            }
        }
    }

    private static let summaryColumns = "key, title, created_us, last_activity_us, turn_count, last_turn_status"

    private static func summary(from row: Row) -> SessionSummary? {
        guard let id = SessionID(storageKey: row[0] as String) else { return nil }
        return SessionSummary(
            id: id,
            title: row[1],
            createdMicros: row[2],
            lastActivityMicros: row[3],
            turnCount: row[4],
            lastTurnStatus: row[5]
        )
    }
}

/// How one appended batch changes the summaries of its sessions: one upsert per session, and
/// none for a batch of streaming deltas.
struct SummaryChanges {
    private struct Change {
        var session: SessionID
        var title: String?
        var startedTurns = 0
        var lastTurnStatus: String?
    }

    private var changes: [String: Change] = [:]
    private var order: [String] = []

    mutating func add(_ event: StoredEvent) {
        guard event.changesSessionSummary else { return }
        let key = event.sessionID.storageKey
        if changes[key] == nil {
            changes[key] = Change(session: event.sessionID)
            order.append(key)
        }
        if let content = event.userContent, changes[key]?.title == nil {
            changes[key]?.title = SessionSummary.title(fromMessage: content)
        }
        if let status = event.turnStatus {
            if status == "started" { changes[key]?.startedTurns += 1 }
            changes[key]?.lastTurnStatus = status
        }
    }

    func write(_ db: Database, now: Int64) throws {
        guard !order.isEmpty else { return }
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO session (key, owner, id, title, created_us, last_activity_us, turn_count, last_turn_status)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET
                    last_activity_us = excluded.last_activity_us,
                    turn_count = turn_count + excluded.turn_count,
                    last_turn_status = COALESCE(excluded.last_turn_status, last_turn_status),
                    title = COALESCE(title, excluded.title)
                """
        )
        for key in order {
            guard let change = changes[key] else { continue }
            try upsert.execute(arguments: [
                key, change.session.owner, change.session.rawValue, change.title, now, now, change.startedTurns,
                change.lastTurnStatus,
            ])
        }
    }
}
