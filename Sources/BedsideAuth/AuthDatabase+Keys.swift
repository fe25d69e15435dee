public import Foundation
import GRDB

extension AuthDatabase {
    /// The prefix of every API key's secret.
    public static let keyPrefix = "bsk_"

    /// Makes a key: its secret is `bsk_` and 32 random bytes in base64url without padding; only
    /// the secret's SHA-256 is stored, so the secret returned here is the only copy.
    ///
    /// - Parameter name: 1–64 of `A-Z a-z 0-9 _ . -`, not the name of another unrevoked key.
    /// - Throws: ``AuthDatabaseError`` for a bad or taken name.
    public func createKey(name: String, role: Role, now: Date) throws -> (record: APIKeyRecord, secret: String) {
        guard Self.isValidKeyName(name) else {
            throw AuthDatabaseError("A key name is 1 to 64 letters, digits, '_', '.' or '-': \"\(name)\" is not.")
        }
        let secret = Self.keyPrefix + Secrets.token()
        let record = APIKeyRecord(id: Secrets.hexID(byteCount: 8), name: name, role: role, createdAt: Self.stored(now))
        try writer.write { db in
            let taken = try Bool.fetchOne(
                db,
                sql: "SELECT EXISTS (SELECT 1 FROM api_key WHERE name = ? AND revoked_us IS NULL)",
                arguments: [name]
            )
            if taken == true { throw AuthDatabaseError("A key named \"\(name)\" exists; revoke it first or choose another name.") }
            try db.execute(
                sql: "INSERT INTO api_key (id, name, role, secret_sha256, created_us) VALUES (?, ?, ?, ?, ?)",
                arguments: [record.id, name, role.rawValue, Secrets.sha256Hex(secret), Self.micros(now)]
            )
        }
        return (record, secret)
    }

    /// Every key, revoked ones too, oldest first.
    public func keys() throws -> [APIKeyRecord] {
        try writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.keyColumns) FROM api_key ORDER BY created_us, id").map(Self.keyRecord)
        }
    }

    /// Revokes the unrevoked key whose id, or else whose name, is `idOrName`: the key as revoked,
    /// or nil when no unrevoked key matched.
    public func revokeKey(_ idOrName: String, now: Date) throws -> APIKeyRecord? {
        try writer.write { db in
            let row =
                try Row.fetchOne(
                    db,
                    sql: "SELECT \(Self.keyColumns) FROM api_key WHERE id = ? AND revoked_us IS NULL",
                    arguments: [idOrName]
                )
                ?? Row.fetchOne(
                    db,
                    sql: "SELECT \(Self.keyColumns) FROM api_key WHERE name = ? AND revoked_us IS NULL",
                    arguments: [idOrName]
                )
            guard let row else { return nil }
            var record = try Self.keyRecord(row)
            try db.execute(sql: "UPDATE api_key SET revoked_us = ? WHERE id = ?", arguments: [Self.micros(now), record.id])
            record.revokedAt = Self.stored(now)
            return record
        }
    }

    /// The unrevoked key whose secret is `secret`, or nil. Its last use is set to `now` when it
    /// was not already set within the last minute.
    public func key(secret: String, now: Date) throws -> APIKeyRecord? {
        guard secret.hasPrefix(Self.keyPrefix), secret.utf8.count == Self.keyPrefix.utf8.count + 43 else { return nil }
        let digest = Secrets.sha256Hex(secret)
        let found = try writer.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT \(Self.keyColumns) FROM api_key WHERE secret_sha256 = ? AND revoked_us IS NULL",
                arguments: [digest]
            ).map(Self.keyRecord)
        }
        guard var record = found else { return nil }
        let nowMicros = Self.micros(now)
        if record.lastUsedAt.map({ nowMicros - Self.micros($0) >= Self.minute }) ?? true {
            try writer.write { db in
                try db.execute(
                    sql: "UPDATE api_key SET last_used_us = ? WHERE id = ? AND revoked_us IS NULL",
                    arguments: [nowMicros, record.id]
                )
            }
            record.lastUsedAt = Self.stored(now)
        }
        return record
    }

    /// The ids of keys revoked at or after `since`.
    public func revokedKeyIDs(since: Date) throws -> [String] {
        try writer.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT id FROM api_key WHERE revoked_us >= ? ORDER BY revoked_us, id",
                arguments: [Self.micros(since)]
            )
        }
    }

    /// Whether `name` may name a key: 1–64 of `A-Z a-z 0-9 _ . -`.
    public static func isValidKeyName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                Secrets.isBase64URLByte(byte) || byte == UInt8(ascii: ".")
            }
    }

    private static let keyColumns = "id, name, role, created_us, revoked_us, last_used_us"

    private static func keyRecord(_ row: Row) throws -> APIKeyRecord {
        let roleName: String = row[2]
        guard let role = Role(rawValue: roleName) else { throw AuthDatabaseError("A key has the unknown role \(roleName).") }
        return APIKeyRecord(
            id: row[0],
            name: row[1],
            role: role,
            createdAt: date(row[3]),
            revokedAt: (row[4] as Int64?).map(date),
            lastUsedAt: (row[5] as Int64?).map(date)
        )
    }
}
