public import BedsideCore

/// Bedside roles from a token's claims (`--roles-claim`, `--default-role`).
///
/// The claim's value is a string of roles separated by spaces or commas, or an array of
/// strings; the values equal (ignoring case) to a ``Role`` name are the roles, others are
/// ignored. When the claim is absent or holds no role, ``defaultRole`` applies.
public struct RoleMapping: Sendable {
    /// The claim holding roles; a dotted path (`realm_access.roles`) reaches into objects when
    /// no claim has the whole name.
    public var claim: String
    public var defaultRole: Role

    public init(claim: String = "roles", defaultRole: Role = .clinician) {
        self.claim = claim
        self.defaultRole = defaultRole
    }

    /// The roles the claims grant, or ``defaultRole`` alone.
    public func roles(from claims: [String: JSONValue]) -> Set<Role> {
        var names: [String] = []
        switch value(in: claims) {
        case .string(let text)?:
            names = text.split(whereSeparator: { $0 == " " || $0 == "," || $0.isWhitespace }).map(String.init)
        case .array(let values)?:
            names = values.compactMap(\.stringValue)
        default:
            break
        }
        let roles = Set(names.compactMap { Role(rawValue: $0.lowercased()) })
        return roles.isEmpty ? [defaultRole] : roles
    }

    /// Principal from verified claims: name from `name`, `preferred_username`, `email`, else `sub`.
    public func principal(from token: VerifiedToken) -> Principal {
        let name = ["name", "preferred_username", "email"].lazy
            .compactMap { token.claims[$0]?.stringValue }
            .first { !$0.isEmpty }
        return Principal(issuer: token.issuer, subject: token.subject, name: name ?? token.subject, roles: roles(from: token.claims))
    }

    /// The claim's value: the member of that exact name, else the dotted path through objects.
    private func value(in claims: [String: JSONValue]) -> JSONValue? {
        if let value = claims[claim] { return value }
        let path = claim.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard path.count > 1, var value = claims[path[0]] else { return nil }
        for member in path.dropFirst() {
            guard let next = value[member] else { return nil }
            value = next
        }
        return value
    }
}
