public import Foundation

/// A relying party's registration at an OpenID provider.
public struct OIDCClientConfiguration: Sendable {
    /// The provider's issuer URL; discovery is read from `<issuer>/.well-known/openid-configuration`.
    public var issuer: String
    public var clientID: String
    /// Sent with HTTP Basic authentication (`client_secret_basic`); nil for a public client.
    public var clientSecret: String?
    /// Where the provider sends the browser back with the code (`<public-url>/auth/callback`).
    public var redirectURI: String
    public var scopes: [String]
    /// How long a started sign-in may take before its state is forgotten.
    public var pendingLoginLifetime: TimeInterval
    /// The most sign-ins kept waiting at once; the oldest are dropped beyond it.
    public var maxPendingLogins: Int

    public init(
        issuer: String,
        clientID: String,
        clientSecret: String? = nil,
        redirectURI: String,
        scopes: [String] = ["openid", "profile", "email"],
        pendingLoginLifetime: TimeInterval = 600,
        maxPendingLogins: Int = 10_000
    ) {
        self.issuer = issuer
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.redirectURI = redirectURI
        self.scopes = scopes
        self.pendingLoginLifetime = pendingLoginLifetime
        self.maxPendingLogins = maxPendingLogins
    }
}

/// A finished sign-in: the verified ID token, as a string too (for `id_token_hint` at logout),
/// and where the browser goes next.
public struct OIDCLoginResult: Sendable {
    public var token: VerifiedToken
    public var idToken: String
    /// The relative path given to ``OIDCClient/startLogin(returnTo:)``.
    public var returnTo: String

    public init(token: VerifiedToken, idToken: String, returnTo: String) {
        self.token = token
        self.idToken = idToken
        self.returnTo = returnTo
    }
}

/// The sign-ins started and not yet finished, by `state`: at most a maximum count, each for a
/// limited time. Not thread-safe; ``OIDCClient`` keeps it under a lock.
struct PendingLogins {
    struct Login {
        var nonce: String
        var codeVerifier: String
        var returnTo: String
        var startedAt: Date
    }

    let lifetime: TimeInterval
    let capacity: Int
    private var logins: [String: Login] = [:]
    /// States in the order they started; consumed ones stay until they reach the front.
    private var order: [String] = []
    private var front = 0

    init(lifetime: TimeInterval, capacity: Int) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
    }

    var count: Int { logins.count }

    mutating func insert(_ state: String, _ login: Login) {
        prune(now: login.startedAt)
        logins[state] = login
        order.append(state)
        while logins.count > capacity { dropFront() }
    }

    /// Removes and returns the login of `state`, if it is known and not expired.
    mutating func take(_ state: String, now: Date) -> Login? {
        prune(now: now)
        guard let login = logins.removeValue(forKey: state) else { return nil }
        return now.timeIntervalSince(login.startedAt) < lifetime ? login : nil
    }

    private mutating func prune(now: Date) {
        while front < order.count {
            let state = order[front]
            if let login = logins[state], now.timeIntervalSince(login.startedAt) < lifetime { break }
            dropFront()
        }
        if front > 1024 && front * 2 > order.count {
            order.removeFirst(front)
            front = 0
        }
    }

    private mutating func dropFront() {
        guard front < order.count else { return }
        logins.removeValue(forKey: order[front])
        front += 1
    }
}
