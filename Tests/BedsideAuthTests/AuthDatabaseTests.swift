import BedsideAuth
import BedsideCore
import Foundation
import Testing

/// API keys, browser sessions and principals in a real SQLite file.
@Suite struct AuthDatabaseTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A fresh database file in a temporary directory, removed afterwards.
    func withDatabaseFile<T>(_ body: (String) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try body(directory.appendingPathComponent("auth.sqlite").path)
    }

    /// Every byte of the database's files, as text where it is text.
    func fileContents(_ path: String) -> String {
        ["", "-wal", "-shm"].compactMap { FileManager.default.contents(atPath: path + $0) }
            .map { String(decoding: $0, as: UTF8.self) }.joined()
    }

    @Test func keysAreCreatedListedAndRevoked() throws {
        try withDatabaseFile { path in
            let database = try AuthDatabase(path: path)
            let (ci, secret) = try database.createKey(name: "ci", role: .importer, now: t0)
            #expect(secret.hasPrefix("bsk_"))
            #expect(secret.count == 47)
            #expect(secret.dropFirst(4).allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(ci.name == "ci" && ci.role == .importer && ci.createdAt == t0 && ci.revokedAt == nil && ci.lastUsedAt == nil)
            #expect(ci.principal == Principal(issuer: "bedside:keys", subject: ci.id, name: "ci", roles: [.importer]))
            let (audit, _) = try database.createKey(name: "audit.bot-2", role: .auditor, now: t0 + 1)
            #expect(try database.keys() == [ci, audit])
            #expect(!fileContents(path).contains(String(secret.dropFirst(4))))

            #expect(throws: AuthDatabaseError.self) { try database.createKey(name: "ci", role: .admin, now: t0) }
            for bad in ["", "has space", "slash/", String(repeating: "x", count: 65), "é"] {
                #expect(throws: AuthDatabaseError.self) { try database.createKey(name: bad, role: .admin, now: t0) }
            }

            let revoked = try #require(try database.revokeKey("ci", now: t0 + 10))
            #expect(revoked.id == ci.id && revoked.revokedAt == t0 + 10)
            #expect(try database.revokeKey("ci", now: t0 + 11) == nil)
            #expect(try database.revokeKey(audit.id, now: t0 + 12)?.name == "audit.bot-2")
            #expect(try database.revokeKey("nothing", now: t0 + 12) == nil)
            #expect(try database.keys().map(\.revokedAt) == [t0 + 10, t0 + 12])
            // A revoked key's name may be used again.
            let (again, _) = try database.createKey(name: "ci", role: .admin, now: t0 + 20)
            #expect(again.id != ci.id)
        }
    }

    @Test func aKeyRevokedByAnotherInstanceIsRefusedAtOnce() throws {
        try withDatabaseFile { path in
            let server = try AuthDatabase(path: path)
            let command = try AuthDatabase(path: path)
            let (record, secret) = try command.createKey(name: "ci", role: .importer, now: t0)
            let found = try #require(try server.key(secret: secret, now: t0 + 5))
            #expect(found.id == record.id && found.lastUsedAt == t0 + 5)
            #expect(try server.key(secret: secret, now: t0 + 30)?.lastUsedAt == t0 + 5)
            #expect(try server.key(secret: secret, now: t0 + 65)?.lastUsedAt == t0 + 65)
            #expect(try command.keys().first?.lastUsedAt == t0 + 65)
            #expect(try server.key(secret: secret + "x", now: t0) == nil)
            #expect(try server.key(secret: "bsk_" + String(repeating: "A", count: 43), now: t0) == nil)
            #expect(try server.key(secret: "", now: t0) == nil)

            #expect(try server.revokedKeyIDs(since: t0) == [])
            _ = try command.revokeKey(record.id, now: t0 + 100)
            #expect(try server.key(secret: secret, now: t0 + 101) == nil)
            #expect(try server.revokedKeyIDs(since: t0 + 100) == [record.id])
            #expect(try server.revokedKeyIDs(since: t0 + 100.5) == [])
        }
    }

    @Test func webSessionsEndWhenIdleExpiredOrRevoked() throws {
        try withDatabaseFile { path in
            let database = try AuthDatabase(path: path)
            let alice = Principal(issuer: "https://id.example", subject: "alice", name: "Alice", roles: [.clinician, .auditor])
            let (record, token) = try database.createWebSession(principal: alice, idToken: "id.token.alice", now: t0, lifetime: 3600)
            #expect(token.count == 43)
            #expect(record.id != token && record.id.count == 32)
            #expect(record.principal == alice && record.idToken == "id.token.alice")
            #expect(record.createdAt == t0 && record.lastSeenAt == t0 && record.expiresAt == t0 + 3600 && record.revokedAt == nil)
            #expect(!fileContents(path).contains(token))
            #expect(try database.webSession(token: token, now: t0 + 10, idleTimeout: 1800) == record)
            #expect(try database.webSession(token: "not-a-token", now: t0, idleTimeout: 1800) == nil)

            // Idle: nothing for longer than the idle timeout, unless touched.
            #expect(try database.webSession(token: token, now: t0 + 1801, idleTimeout: 1800) == nil)
            try database.touchWebSession(id: record.id, now: t0 + 1700)
            #expect(try database.webSession(token: token, now: t0 + 1801, idleTimeout: 1800)?.lastSeenAt == t0 + 1700)
            try database.touchWebSession(id: record.id, now: t0 + 3000)
            #expect(try database.webSession(token: token, now: t0 + 3599, idleTimeout: 1800) != nil)
            // Absolute: the lifetime ends the session whatever its activity.
            try database.touchWebSession(id: record.id, now: t0 + 3599)
            #expect(try database.webSession(token: token, now: t0 + 3600, idleTimeout: 1800) == nil)
            #expect(try database.webSession(id: record.id)?.lastSeenAt == t0 + 3599)

            let (other, otherToken) = try database.createWebSession(principal: alice, idToken: nil, now: t0 + 10, lifetime: 3600)
            #expect(try database.revokedWebSessionIDs(since: t0) == [])
            try database.revokeWebSession(id: other.id, now: t0 + 20)
            try database.revokeWebSession(id: other.id, now: t0 + 30)
            #expect(try database.webSession(token: otherToken, now: t0 + 21, idleTimeout: 1800) == nil)
            #expect(try database.webSession(id: other.id)?.revokedAt == t0 + 20)
            #expect(try database.revokedWebSessionIDs(since: t0 + 20) == [other.id])
            #expect(try database.revokedWebSessionIDs(since: t0 + 21) == [])
            // Seen from another instance on the same file.
            let second = try AuthDatabase(path: path)
            #expect(try second.revokedWebSessionIDs(since: t0) == [other.id])
            #expect(try second.webSession(id: record.id)?.principal == alice)
        }
    }

    @Test func principalsAreRememberedWithTheirLatestName() throws {
        try withDatabaseFile { path in
            let database = try AuthDatabase(path: path)
            let alice = Principal(issuer: "https://id.example", subject: "alice", name: "Alice", roles: [.clinician])
            let bob = Principal(issuer: "https://id.example", subject: "bob", name: "Bob", roles: [.admin])
            try database.rememberPrincipal(alice, now: t0)
            try database.rememberPrincipal(bob, now: t0 + 10)
            try database.rememberPrincipal(alice, now: t0 + 20)  // within a minute: not written again
            #expect(try database.principals().map(\.name) == ["Bob", "Alice"])
            #expect(try database.principal(key: alice.key)?.lastSeen == t0)
            var renamed = alice
            renamed.name = "Alice Example"
            try database.rememberPrincipal(renamed, now: t0 + 30)
            let record = try #require(try database.principal(key: alice.key))
            #expect(
                record
                    == PrincipalRecord(
                        key: alice.key,
                        issuer: "https://id.example",
                        subject: "alice",
                        name: "Alice Example",
                        lastSeen: t0 + 30
                    )
            )
            try database.rememberPrincipal(bob, now: t0 + 100)
            #expect(try database.principals().map(\.name) == ["Bob", "Alice Example"])
            #expect(try database.principal(key: "0123456789abcdef0123456789abcdef") == nil)
        }
    }

    @Test func anInMemoryDatabaseWorksTheSame() throws {
        let database = try AuthDatabase.inMemory()
        let (record, secret) = try database.createKey(name: "local", role: .admin, now: t0)
        #expect(try database.key(secret: secret, now: t0)?.id == record.id)
        let (session, token) = try database.createWebSession(principal: .local, idToken: nil, now: t0, lifetime: 60)
        #expect(try database.webSession(token: token, now: t0 + 1, idleTimeout: 30)?.id == session.id)
        #expect(try database.webSession(token: token, now: t0 + 1, idleTimeout: 30)?.principal == .local)
    }
}
