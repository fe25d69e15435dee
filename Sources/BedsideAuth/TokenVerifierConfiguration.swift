public import BedsideCore
public import Foundation

/// What a ``TokenVerifier`` accepts: one issuer, its audiences, its keys and the time rules.
public struct TokenVerifierConfiguration: Sendable {
    /// The exact `iss` expected.
    public var issuer: String
    /// `aud` must contain one of these.
    public var audiences: [String]
    /// The issuer's JWKS; nil reads `jwks_uri` from `<issuer>/.well-known/openid-configuration`.
    public var jwksURL: String?
    /// The header `alg` values accepted, of `RS256`, `ES256` and `EdDSA`. `none` and the HMAC
    /// algorithms (`HS*`) are never accepted, whatever this holds; other names are ignored.
    public var algorithms: Set<String>
    /// How far `exp`, `nbf` and `iat` may be off from the clock.
    public var leeway: TimeInterval
    /// A token with an unknown `kid` refetches the JWKS at most once per this interval.
    public var refetchInterval: TimeInterval
    /// How long a fetched JWKS is used before it is fetched again (keeping the old one while
    /// the issuer cannot be reached), so keys the issuer withdraws stop verifying.
    public var keySetLifetime: TimeInterval

    /// The algorithms Bedside can verify, and the default of ``algorithms``.
    public static let supportedAlgorithms: Set<String> = ["RS256", "ES256", "EdDSA"]

    public init(
        issuer: String,
        audiences: [String],
        jwksURL: String? = nil,
        algorithms: Set<String> = TokenVerifierConfiguration.supportedAlgorithms,
        leeway: TimeInterval = 60,
        refetchInterval: TimeInterval = 60,
        keySetLifetime: TimeInterval = 3600
    ) {
        self.issuer = issuer
        self.audiences = audiences
        self.jwksURL = jwksURL
        self.algorithms = algorithms
        self.leeway = leeway
        self.refetchInterval = refetchInterval
        self.keySetLifetime = keySetLifetime
    }
}

/// A token whose signature, issuer, audience and validity period were checked.
public struct VerifiedToken: Sendable {
    public var issuer: String
    public var subject: String
    public var audiences: [String]
    /// The token's `exp`.
    public var expiresAt: Date
    /// Every claim of the payload, as sent.
    public var claims: [String: JSONValue]

    public init(issuer: String, subject: String, audiences: [String], expiresAt: Date, claims: [String: JSONValue]) {
        self.issuer = issuer
        self.subject = subject
        self.audiences = audiences
        self.expiresAt = expiresAt
        self.claims = claims
    }
}
