public import Foundation
import GRDB

/// API keys, browser sign-in sessions and the principals seen: one SQLite file in WAL mode
/// (`--auth-database`).
///
/// The `bedside keys` command writes the same file while the server runs, so nothing here is
/// cached: every lookup reads the file, and a key revoked by another process is refused at once.
/// Secrets (API keys, session tokens) are stored only as their SHA-256; times as integer
/// microseconds since 1970.
public final class AuthDatabase: Sendable {
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            writer = pool
        } catch {
            throw AuthDatabaseError("Cannot open the auth database at \(path): \(error)")
        }
    }

    private init(writer: any DatabaseWriter) throws {
        try Self.migrator.migrate(writer)
        self.writer = writer
    }

    /// A database in memory, gone with the instance.
    public static func inMemory() throws -> AuthDatabase {
        try AuthDatabase(writer: DatabaseQueue())
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-auth") { db in
            try db.execute(
                sql: """
                    CREATE TABLE api_key (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        role TEXT NOT NULL,
                        secret_sha256 TEXT NOT NULL UNIQUE,
                        created_us INTEGER NOT NULL,
                        revoked_us INTEGER,
                        last_used_us INTEGER
                    );
                    CREATE UNIQUE INDEX api_key_live_name ON api_key (name) WHERE revoked_us IS NULL;
                    CREATE INDEX api_key_revoked ON api_key (revoked_us) WHERE revoked_us IS NOT NULL;
                    CREATE TABLE web_session (
                        id TEXT PRIMARY KEY NOT NULL,
                        token_sha256 TEXT NOT NULL UNIQUE,
                        issuer TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        name TEXT NOT NULL,
                        roles TEXT NOT NULL,
                        id_token TEXT,
                        created_us INTEGER NOT NULL,
                        last_seen_us INTEGER NOT NULL,
                        expires_us INTEGER NOT NULL,
                        revoked_us INTEGER
                    );
                    CREATE INDEX web_session_revoked ON web_session (revoked_us) WHERE revoked_us IS NOT NULL;
                    CREATE INDEX web_session_expires ON web_session (expires_us);
                    CREATE TABLE principal (
                        key TEXT PRIMARY KEY NOT NULL,
                        issuer TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        name TEXT NOT NULL,
                        last_seen_us INTEGER NOT NULL
                    );
                    """
            )
        }
        return migrator
    }

    // MARK: - Principals

    /// Records that `principal` was seen at `now` (with its current name). A principal seen
    /// again within a minute under the same name is not written again.
    public func rememberPrincipal(_ principal: Principal, now: Date) throws {
        try writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO principal (key, issuer, subject, name, last_seen_us) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (key) DO UPDATE SET name = excluded.name, last_seen_us = excluded.last_seen_us
                    WHERE name != excluded.name OR excluded.last_seen_us - last_seen_us >= ?
                    """,
                arguments: [principal.key, principal.issuer, principal.subject, principal.name, Self.micros(now), Self.minute]
            )
        }
    }

    /// Every principal seen, most recently seen first.
    public func principals() throws -> [PrincipalRecord] {
        try writer.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT key, issuer, subject, name, last_seen_us FROM principal ORDER BY last_seen_us DESC, key"
            ).map(Self.principalRecord)
        }
    }

    /// The principal with `key`, if it was ever seen.
    public func principal(key: String) throws -> PrincipalRecord? {
        try writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT key, issuer, subject, name, last_seen_us FROM principal WHERE key = ?",
                arguments: [key]
            ).map(Self.principalRecord)
        }
    }

    private static func principalRecord(_ row: Row) -> PrincipalRecord {
        PrincipalRecord(key: row[0], issuer: row[1], subject: row[2], name: row[3], lastSeen: date(row[4]))
    }

    // MARK: - Time

    /// One minute in microseconds.
    static let minute: Int64 = 60_000_000

    /// `date` in whole microseconds since 1970, as stored.
    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// `date` as it reads back from the database.
    static func stored(_ date: Date) -> Date { Self.date(micros(date)) }
}
