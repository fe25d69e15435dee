public import Foundation

/// An API key as stored: never its secret, which only its creator saw.
public struct APIKeyRecord: Sendable, Hashable {
    /// 16 hex digits; the subject of the key's principal.
    public var id: String
    public var name: String
    public var role: Role
    public var createdAt: Date
    public var revokedAt: Date?
    /// When the key last authenticated a request (kept to the minute).
    public var lastUsedAt: Date?

    public init(id: String, name: String, role: Role, createdAt: Date, revokedAt: Date? = nil, lastUsedAt: Date? = nil) {
        self.id = id
        self.name = name
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
    }

    /// The principal requests made with the key act as: issuer `bedside:keys`, subject the
    /// key's id, its name, and its one role.
    public var principal: Principal {
        Principal(issuer: Principal.keyIssuer, subject: id, name: name, roles: [role])
    }
}

/// A browser sign-in session as stored: the cookie's token itself is never stored, only its hash.
public struct WebSessionRecord: Sendable, Hashable {
    /// A random id, not the token: what logs, revocation and socket bookkeeping name.
    public var id: String
    /// Who signed in, with the roles they had then.
    public var principal: Principal
    /// The provider's ID token, for `id_token_hint` at logout.
    public var idToken: String?
    public var createdAt: Date
    public var lastSeenAt: Date
    /// The absolute end of the session, whatever its activity.
    public var expiresAt: Date
    public var revokedAt: Date?

    public init(
        id: String,
        principal: Principal,
        idToken: String?,
        createdAt: Date,
        lastSeenAt: Date,
        expiresAt: Date,
        revokedAt: Date? = nil
    ) {
        self.id = id
        self.principal = principal
        self.idToken = idToken
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

/// A principal Bedside has seen, for auditors and admins naming session owners.
public struct PrincipalRecord: Sendable, Hashable {
    public var key: String
    public var issuer: String
    public var subject: String
    public var name: String
    public var lastSeen: Date

    public init(key: String, issuer: String, subject: String, name: String, lastSeen: Date) {
        self.key = key
        self.issuer = issuer
        self.subject = subject
        self.name = name
        self.lastSeen = lastSeen
    }
}

/// A refused change to the auth database, or a database that cannot be opened.
public struct AuthDatabaseError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
