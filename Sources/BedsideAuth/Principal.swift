import BedsideCore
import Crypto

/// What a principal may do. `admin` may do everything.
public enum Role: String, CaseIterable, Sendable, Hashable, Comparable {
    /// Chats, in their own sessions only.
    case clinician
    /// Imports patients (`POST /patient`).
    case importer
    /// Reads every principal's sessions and audit; cannot chat in them.
    case auditor
    /// Everything.
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Who is calling: an issuer's subject, with a display name and Bedside roles.
///
/// Sessions are namespaced by ``key``: the same session id under two principals names two
/// sessions. The key of an OpenID or JWT principal is derived from (issuer, subject), so it is
/// stable across sign-ins; the local principal of `--auth none` has the key `local`.
public struct Principal: Sendable, Hashable {
    public var issuer: String
    public var subject: String
    public var name: String
    public var roles: Set<Role>

    public init(issuer: String, subject: String, name: String, roles: Set<Role>) {
        self.issuer = issuer
        self.subject = subject
        self.name = name
        self.roles = roles
    }

    /// The owner key of this principal's sessions.
    public var key: String { Self.key(issuer: issuer, subject: subject) }

    /// `local` for the local principal; otherwise 32 hex digits of SHA-256(issuer, LF, subject).
    public static func key(issuer: String, subject: String) -> String {
        if issuer == Principal.localIssuer && subject == "local" { return SessionID.localOwner }
        let digest = SHA256.hash(data: Array("\(issuer)\n\(subject)".utf8))
        return digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The issuer of principals Bedside vouches for itself (the local principal).
    public static let localIssuer = "bedside:local"
    /// The issuer of API-key principals; their subject is the key's id.
    public static let keyIssuer = "bedside:keys"

    /// The one principal of `--auth none`: it has the `admin` role.
    public static let local = Principal(issuer: localIssuer, subject: "local", name: "Local user", roles: [.admin])

    /// Whether this principal holds `role` (admin holds every role).
    public func has(_ role: Role) -> Bool { roles.contains(role) || roles.contains(.admin) }
}
