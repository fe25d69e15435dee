public import BedsideAuth
import BedsideCore
import BedsideProtocol
public import Foundation
import Hummingbird
import Synchronization

/// Who may use the server and how they prove it: the auth modes, their verifiers and the auth
/// database, built by the executable (or a test) and handed to ``buildApplication(configuration:dependencies:onServerRunning:)``.
///
/// With ``none`` every request is the local principal (role `admin`). Otherwise each request
/// must bring a credential: Bedside's sign-in cookie (`oidc`), or `Authorization: Bearer` with
/// a JWT (`jwt`, or `oidc` whose issuer also signs access tokens) or an API key (`keys`).
public final class Authentication: Sendable {
    /// The modes of `--auth`.
    public enum Mode: String, Sendable, CaseIterable {
        case none, oidc, jwt, keys
    }

    public let modes: Set<Mode>
    let oidc: OIDCClient?
    let bearer: TokenVerifier?
    let database: AuthDatabase?
    let roleMapping: RoleMapping
    let metricsToken: String?
    /// The public base URL (`--public-url`), without a trailing `/`.
    let publicURL: String?
    /// The issuer `/.well-known/oauth-protected-resource` names.
    let issuer: String?
    /// Whether cookies are `Secure` (and named `__Host-…`): TLS is on or the public URL is https.
    let secureCookies: Bool
    let idleTimeout: TimeInterval
    let sessionLifetime: TimeInterval
    let clock: AuthClock
    /// When each principal was last written to the auth database (written at most every 5 minutes).
    private let remembered = Mutex([String: Date]())
    /// When each sign-in session's activity was last written (at most every 30 seconds).
    private let touched = Mutex([String: Date]())

    /// No authentication: every request is the local principal.
    public static let none = Authentication()

    private init() {
        modes = [.none]
        oidc = nil
        bearer = nil
        database = nil
        roleMapping = RoleMapping()
        metricsToken = nil
        publicURL = nil
        issuer = nil
        secureCookies = false
        idleTimeout = 1800
        sessionLifetime = 43_200
        clock = { Date() }
    }

    /// - Parameters:
    ///   - oidc: the OpenID client for browser sign-in (mode `oidc`).
    ///   - bearer: the verifier of bearer JWTs (mode `jwt`, or `oidc` with the issuer's tokens).
    ///   - database: API keys, sign-in sessions and principals (needed by `oidc` and `keys`).
    public init(
        modes: Set<Mode>,
        oidc: OIDCClient? = nil,
        bearer: TokenVerifier? = nil,
        database: AuthDatabase? = nil,
        roleMapping: RoleMapping = RoleMapping(),
        metricsToken: String? = nil,
        publicURL: String? = nil,
        issuer: String? = nil,
        secureCookies: Bool = false,
        idleTimeout: TimeInterval = 1800,
        sessionLifetime: TimeInterval = 43_200,
        clock: @escaping AuthClock = { Date() }
    ) {
        self.modes = modes.isEmpty ? [.none] : modes
        self.oidc = oidc
        self.bearer = bearer
        self.database = database
        self.roleMapping = roleMapping
        self.metricsToken = metricsToken
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.issuer = issuer
        self.secureCookies = secureCookies
        self.idleTimeout = idleTimeout
        self.sessionLifetime = sessionLifetime
        self.clock = clock
    }

    /// Whether requests need a credential at all.
    public var isEnabled: Bool { !modes.contains(.none) }

    /// The sign-in cookie's name: `__Host-` prefixed when cookies are secure.
    var cookieName: String { secureCookies ? "__Host-bedside_session" : "bedside_session" }

    // MARK: Authenticating a request

    /// The caller of `request`, or nil when it brings no valid credential.
    func caller(of request: Request) async -> Caller? {
        guard isEnabled else { return Caller(principal: .local, credential: .local) }
        if let authorization = request.headers[.authorization] {
            return await bearerCaller(authorization)
        }
        if let token = Self.cookie(named: cookieName, in: request), let database {
            let now = clock()
            guard let record = try? database.webSession(token: token, now: now, idleTimeout: idleTimeout) else {
                return nil
            }
            if now.timeIntervalSince(record.lastSeenAt) >= 60 {
                try? database.touchWebSession(id: record.id, now: now)
            }
            return Caller(principal: record.principal, credential: .webSession(id: record.id, expiresAt: record.expiresAt))
        }
        return nil
    }

    /// The caller behind an `Authorization` header value (`Bearer <API key or JWT>`).
    func bearerCaller(_ authorization: String) async -> Caller? {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        let now = clock()
        if token.hasPrefix("bsk_") {
            guard modes.contains(.keys), let record = try? database?.key(secret: token, now: now) else { return nil }
            remember(record.principal, now: now)
            return Caller(principal: record.principal, credential: .apiKey(id: record.id))
        }
        guard let bearer, let verified = try? await bearer.verify(token) else { return nil }
        let principal = roleMapping.principal(from: verified)
        remember(principal, now: now)
        // The token is taken until its exp plus the verifier's leeway: so are its sockets.
        let expiry = verified.expiresAt.addingTimeInterval(bearer.configuration.leeway)
        return Caller(principal: principal, credential: .bearer(expiresAt: expiry))
    }

    /// The caller of `request`; throws 401 `unauthenticated` when there is none.
    func requireCaller(_ request: Request) async throws(APIError) -> Caller {
        guard let caller = await caller(of: request) else { throw unauthenticated() }
        return caller
    }

    /// The caller of `request` when they hold one of `roles`; throws 401 or 403 otherwise.
    func require(_ request: Request, anyOf roles: [Role]) async throws(APIError) -> Caller {
        let caller = try await requireCaller(request)
        guard roles.contains(where: caller.principal.has) else {
            throw APIError(
                .forbidden,
                .forbidden,
                "This needs the role \(roles.map(\.rawValue).joined(separator: " or ")), which you do not have."
            )
        }
        return caller
    }

    /// 401 `unauthenticated` with the challenge a client can act on.
    func unauthenticated(resourceMetadata: Bool = false) -> APIError {
        var challenge = #"Bearer realm="bedside""#
        if resourceMetadata, let publicURL {
            challenge = #"Bearer resource_metadata="\#(publicURL)/.well-known/oauth-protected-resource""#
        }
        return APIError(
            .unauthorized,
            .unauthenticated,
            "Sign in, or send Authorization: Bearer with a token or API key.",
            headers: [.wwwAuthenticate: challenge]
        )
    }

    /// Records activity on a socket: a sign-in session in use does not idle out.
    func touch(_ credential: Credential) {
        guard case .webSession(let id, _) = credential, let database else { return }
        let now = clock()
        let due = touched.withLock { seen in
            if let last = seen[id], now.timeIntervalSince(last) < 30 { return false }
            seen[id] = now
            if seen.count > 10_000 { seen = seen.filter { now.timeIntervalSince($0.value) < 30 } }
            return true
        }
        if due { try? database.touchWebSession(id: id, now: now) }
    }

    /// Writes `principal` to the auth database, at most once every 5 minutes per principal.
    func remember(_ principal: Principal, now: Date) {
        guard let database else { return }
        let due = remembered.withLock { seen in
            if let last = seen[principal.key], now.timeIntervalSince(last) < 300 { return false }
            seen[principal.key] = now
            return true
        }
        if due { try? database.rememberPrincipal(principal, now: now) }
    }

    /// Whether `request` carries `--metrics-token` as its bearer token (compared in constant time).
    func allowsMetrics(_ request: Request) -> Bool {
        guard let metricsToken, let authorization = request.headers[.authorization] else { return false }
        let expected = Array("Bearer \(metricsToken)".utf8)
        let given = Array(authorization.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0
    }

    /// The value of cookie `name` in `request`'s `Cookie` headers.
    static func cookie(named name: String, in request: Request) -> String? {
        for field in request.headers[values: .cookie] {
            for pair in field.split(separator: ";") {
                let trimmed = pair.trimmingCharacters(in: .whitespaces)
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                return String(trimmed[trimmed.index(after: equals)...])
            }
        }
        return nil
    }
}

/// A request's principal and the credential it came with.
struct Caller: Sendable {
    var principal: Principal
    var credential: Credential
}

/// What proved a caller's identity; a socket lives no longer than its credential.
enum Credential: Sendable, Hashable {
    /// `--auth none`.
    case local
    /// Bedside's sign-in cookie: a session in the auth database.
    case webSession(id: String, expiresAt: Date)
    /// A bearer JWT, valid until its `exp`.
    case bearer(expiresAt: Date)
    /// An API key.
    case apiKey(id: String)

    /// How `/auth/me` names it.
    var method: String {
        switch self {
        case .local: "local"
        case .webSession: "cookie"
        case .bearer: "bearer"
        case .apiKey: "key"
        }
    }

    var expiresAt: Date? {
        switch self {
        case .webSession(_, let expiry), .bearer(let expiry): expiry
        case .local, .apiKey: nil
        }
    }
}
