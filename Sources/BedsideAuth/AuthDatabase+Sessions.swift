public import Foundation
import GRDB

extension AuthDatabase {
    /// How long an ended session's row is kept past its absolute expiry before it is deleted.
    static let sessionRetention: TimeInterval = 86_400

    /// Starts a browser session for `principal` ending at `now + lifetime` at the latest: the
    /// record and the cookie's token (32 random bytes, base64url), of which only the SHA-256 is
    /// stored. Sessions that ended more than a day ago are deleted on the way.
    public func createWebSession(
        principal: Principal,
        idToken: String?,
        now: Date,
        lifetime: TimeInterval
    ) throws -> (record: WebSessionRecord, token: String) {
        let token = Secrets.token()
        let record = WebSessionRecord(
            id: Secrets.hexID(byteCount: 16),
            principal: principal,
            idToken: idToken,
            createdAt: Self.stored(now),
            lastSeenAt: Self.stored(now),
            expiresAt: Self.stored(now.addingTimeInterval(lifetime))
        )
        try writer.write { db in
            try db.execute(
                sql: "DELETE FROM web_session WHERE expires_us < ?",
                arguments: [Self.micros(now.addingTimeInterval(-Self.sessionRetention))]
            )
            try db.execute(
                sql: """
                    INSERT INTO web_session
                        (id, token_sha256, issuer, subject, name, roles, id_token, created_us, last_seen_us, expires_us)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.id, Secrets.sha256Hex(token), principal.issuer, principal.subject, principal.name,
                    principal.roles.sorted().map(\.rawValue).joined(separator: ","), idToken, Self.micros(record.createdAt),
                    Self.micros(record.lastSeenAt), Self.micros(record.expiresAt),
                ]
            )
        }
        return (record, token)
    }

    /// The live session whose cookie token is `token`: nil when unknown, revoked, past
    /// `expiresAt`, or idle longer than `idleTimeout` since `lastSeenAt`. It does not count as
    /// activity; call ``touchWebSession(id:now:)`` for that.
    public func webSession(token: String, now: Date, idleTimeout: TimeInterval) throws -> WebSessionRecord? {
        let digest = Secrets.sha256Hex(token)
        let found = try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.sessionColumns) FROM web_session WHERE token_sha256 = ?", arguments: [digest])
                .map(Self.sessionRecord)
        }
        guard let record = found, record.revokedAt == nil, now < record.expiresAt,
            now.timeIntervalSince(record.lastSeenAt) <= idleTimeout
        else { return nil }
        return record
    }

    /// Sets the session's `lastSeenAt` to `now` (never earlier than it was).
    public func touchWebSession(id: String, now: Date) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE web_session SET last_seen_us = max(last_seen_us, ?) WHERE id = ?",
                arguments: [Self.micros(now), id]
            )
        }
    }

    /// Ends the session (sign-out, or an admin's revocation); a revoked session stays revoked.
    public func revokeWebSession(id: String, now: Date) throws {
        try writer.write { db in
            try db.execute(
                sql: "UPDATE web_session SET revoked_us = ? WHERE id = ? AND revoked_us IS NULL",
                arguments: [Self.micros(now), id]
            )
        }
    }

    /// The session with `id` as stored, whatever its state, for checks by id.
    public func webSession(id: String) throws -> WebSessionRecord? {
        try writer.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.sessionColumns) FROM web_session WHERE id = ?", arguments: [id])
                .map(Self.sessionRecord)
        }
    }

    /// The ids of sessions revoked at or after `since`.
    public func revokedWebSessionIDs(since: Date) throws -> [String] {
        try writer.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT id FROM web_session WHERE revoked_us >= ? ORDER BY revoked_us, id",
                arguments: [Self.micros(since)]
            )
        }
    }

    private static let sessionColumns =
        "id, issuer, subject, name, roles, id_token, created_us, last_seen_us, expires_us, revoked_us"

    private static func sessionRecord(_ row: Row) throws -> WebSessionRecord {
        let roleNames: String = row[4]
        var roles: Set<Role> = []
        for name in roleNames.split(separator: ",") {
            guard let role = Role(rawValue: String(name)) else { throw AuthDatabaseError("A session has the unknown role \(name).") }
            roles.insert(role)
        }
        return WebSessionRecord(
            id: row[0],
            principal: Principal(issuer: row[1], subject: row[2], name: row[3], roles: roles),
            idToken: row[5],
            createdAt: date(row[6]),
            lastSeenAt: date(row[7]),
            expiresAt: date(row[8]),
            revokedAt: (row[9] as Int64?).map(date)
        )
    }
}
