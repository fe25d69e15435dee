public import AsyncHTTPClient
import BedsideCore
public import Foundation
import Synchronization

/// The OpenID Connect authorization code flow with PKCE (S256), for the browser sign-in.
///
/// ``startLogin(returnTo:)`` remembers a state, nonce and code verifier in memory and returns
/// the provider's authorization URL; ``finishLogin(code:state:)`` consumes the state, exchanges
/// the code and verifies the ID token. The discovery document is fetched when first needed and
/// kept; a failed fetch is tried again on the next call.
public final class OIDCClient: Sendable {
    public let configuration: OIDCClientConfiguration
    private let httpClient: HTTPClient
    private let clock: AuthClock
    private let discovered = Mutex<(discovery: OIDCDiscovery, idTokens: TokenVerifier)?>(nil)
    private let pending: Mutex<PendingLogins>

    public init(configuration: OIDCClientConfiguration, httpClient: HTTPClient, clock: @escaping AuthClock = { Date() }) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.clock = clock
        pending = Mutex(PendingLogins(lifetime: configuration.pendingLoginLifetime, capacity: configuration.maxPendingLogins))
    }

    /// Fetches discovery lazily (cached; retried on failure). Makes state, nonce and a PKCE S256
    /// verifier (random bytes from the system's secure generator), keeps them in memory keyed by
    /// state, and returns the provider's authorization URL.
    ///
    /// `returnTo` must be a path on this site (`/…`, not `//…`); anything else becomes `/`.
    public func startLogin(returnTo: String) async throws -> String {
        let discovery = try await discover().discovery
        let state = Secrets.token()
        let nonce = Secrets.token()
        let verifier = Secrets.token()
        let login = PendingLogins.Login(nonce: nonce, codeVerifier: verifier, returnTo: Self.localPath(returnTo), startedAt: clock())
        pending.withLock { $0.insert(state, login) }
        return FormEncoding.url(
            discovery.authorizationEndpoint,
            [
                ("response_type", "code"),
                ("client_id", configuration.clientID),
                ("redirect_uri", configuration.redirectURI),
                ("scope", configuration.scopes.joined(separator: " ")),
                ("state", state),
                ("nonce", nonce),
                ("code_challenge", Secrets.sha256Base64URL(verifier)),
                ("code_challenge_method", "S256"),
            ]
        )
    }

    /// Exchanges the code at the token endpoint (`client_secret_basic` when a secret is set,
    /// else a public client with `client_id` in the body; `code_verifier` always), verifies the
    /// ID token (against discovery's `jwks_uri`, audience = client id, this sign-in's nonce), and
    /// consumes the state: a state works once; an unknown or expired state throws.
    ///
    /// - Throws: ``OIDCError``; a refused ID token's ``TokenError`` is in its description.
    public func finishLogin(code: String, state: String) async throws -> OIDCLoginResult {
        guard let login = pending.withLock({ $0.take(state, now: clock()) }) else {
            throw OIDCError("The sign-in state is unknown, already used or expired: start the sign-in again.")
        }
        let (discovery, idTokens) = try await discover()
        var form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", configuration.redirectURI),
            ("code_verifier", login.codeVerifier),
        ]
        var headers: [(String, String)] = []
        if let secret = configuration.clientSecret {
            let credentials = "\(FormEncoding.escape(configuration.clientID)):\(FormEncoding.escape(secret))"
            headers.append(("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString()))
        } else {
            form.append(("client_id", configuration.clientID))
        }
        let idToken = try await exchange(form, headers: headers, at: discovery.tokenEndpoint)
        let token: VerifiedToken
        do {
            token = try await idTokens.verify(idToken, nonce: login.nonce)
        } catch let error as TokenError {
            throw OIDCError("The provider's ID token was refused (\(error.reason.rawValue)): \(error.description)")
        }
        if let presenter = token.claims["azp"]?.stringValue, presenter != configuration.clientID {
            throw OIDCError("The provider's ID token was issued to \(presenter), not \(configuration.clientID).")
        }
        return OIDCLoginResult(token: token, idToken: idToken, returnTo: login.returnTo)
    }

    /// The RP-initiated logout URL (`end_session_endpoint` with `id_token_hint`, `client_id`,
    /// `post_logout_redirect_uri`) or nil when the provider has none or cannot be reached.
    public func logoutURL(idToken: String?, postLogoutRedirectURI: String) async -> String? {
        guard let endpoint = try? await discover().discovery.endSessionEndpoint else { return nil }
        var pairs: [(String, String)] = []
        if let idToken { pairs.append(("id_token_hint", idToken)) }
        pairs.append(("client_id", configuration.clientID))
        pairs.append(("post_logout_redirect_uri", postLogoutRedirectURI))
        // Some providers (Glewlwyd among them) send the browser back only when a state comes along.
        pairs.append(("state", Secrets.hexID(byteCount: 16)))
        return FormEncoding.url(endpoint, pairs)
    }

    /// The issuer's JWKS-backed verifier (for bearer JWTs from the same issuer).
    public func tokenVerifier(audiences: [String]) async throws -> TokenVerifier {
        let discovery = try await discover().discovery
        return TokenVerifier(
            configuration: TokenVerifierConfiguration(issuer: configuration.issuer, audiences: audiences, jwksURL: discovery.jwksURI),
            httpClient: httpClient,
            clock: clock
        )
    }

    /// How many sign-ins are waiting for their callback.
    var pendingLoginCount: Int { pending.withLock { $0.count } }

    // MARK: - Steps

    private func discover() async throws -> (discovery: OIDCDiscovery, idTokens: TokenVerifier) {
        if let known = discovered.withLock({ $0 }) { return known }
        let discovery = try await OIDCDiscovery.fetch(issuer: configuration.issuer, httpClient: httpClient)
        let idTokens = TokenVerifier(
            configuration: TokenVerifierConfiguration(
                issuer: configuration.issuer,
                audiences: [configuration.clientID],
                jwksURL: discovery.jwksURI
            ),
            httpClient: httpClient,
            clock: clock
        )
        return discovered.withLock { stored in
            if let stored { return stored }
            stored = (discovery, idTokens)
            return (discovery, idTokens)
        }
    }

    /// POSTs the code to the token endpoint and returns the `id_token` of its answer.
    private func exchange(_ form: [(String, String)], headers: [(String, String)], at endpoint: String) async throws -> String {
        let response: (status: Int, body: Data)
        do {
            response = try await AuthHTTP.postForm(endpoint, form, headers: headers, client: httpClient)
        } catch {
            throw OIDCError("Cannot reach the token endpoint \(endpoint): \(error)")
        }
        let answer = try? JSONDecoder().decode(JSONValue.self, from: response.body)
        guard response.status == 200 else {
            let detail = answer?["error"]?.stringValue.map { ": \($0)" } ?? ""
            throw OIDCError("\(response.status) from the token endpoint\(detail).")
        }
        guard let idToken = answer?["id_token"]?.stringValue else {
            throw OIDCError("The token endpoint's answer has no id_token.")
        }
        return idToken
    }

    /// `path` when it is a path on this site; `/` otherwise (no open redirect through sign-in).
    static func localPath(_ path: String) -> String {
        guard path.hasPrefix("/"), !path.hasPrefix("//"), !path.hasPrefix("/\\"),
            !path.contains(where: { $0.isNewline || $0 == "\0" })
        else { return "/" }
        return path
    }
}
