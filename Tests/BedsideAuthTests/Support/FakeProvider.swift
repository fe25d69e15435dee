import AsyncHTTPClient
import BedsideCore
import BedsideTestSupport
import Crypto
import Foundation
import Hummingbird
import Logging
import Synchronization

/// An OpenID provider on 127.0.0.1: a discovery document, a JWKS whose keys the test sets (and
/// whose fetches it counts), and a token endpoint that checks the client's authentication and
/// the PKCE verifier against the challenge of the authorization request, then returns an ID
/// token signed by ``signer``.
final class FakeProvider: Sendable {
    /// What an authorization request asked for, remembered under the code it was granted.
    struct Grant {
        var clientID: String
        var redirectURI: String
        var challenge: String
        var nonce: String
        var used = false
    }

    struct State {
        var issuer = ""
        var keys: [JSONValue] = []
        var jwksFetches = 0
        var discoveryFetches = 0
        var tokenRequests = 0
        var grants: [String: Grant] = [:]
        /// The issuer the discovery document claims; nil: the real one.
        var advertisedIssuer: String?
        var hasEndSession = true
    }

    let clientID: String
    let clientSecret: String?
    let signer: SigningKey
    let signerKID: String
    let clock: TestClock
    /// The provider's state, shared with the route handlers.
    final class Shared: Sendable {
        let mutex = Mutex(State())
        func withLock<R>(_ body: (inout State) -> R) -> R { mutex.withLock { body(&$0) } }
    }

    private let state: Shared
    private let server: LoopbackServer
    var port: Int { server.port }

    var issuer: String { "http://127.0.0.1:\(port)" }
    var jwksURL: String { "\(issuer)/jwks" }
    var jwksFetches: Int { state.withLock { $0.jwksFetches } }
    var discoveryFetches: Int { state.withLock { $0.discoveryFetches } }
    var tokenRequests: Int { state.withLock { $0.tokenRequests } }

    /// Publishes `keys` as the JWKS from now on.
    func publish(_ keys: [JSONValue]) { state.withLock { $0.keys = keys } }

    func update(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

    init(
        clientID: String = "bedside",
        clientSecret: String? = "s3cret",
        signer: SigningKey = TestKeys.ec,
        signerKID: String = "id-key",
        clock: TestClock
    ) async throws {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.signer = signer
        self.signerKID = signerKID
        self.clock = clock
        let state = Shared()
        self.state = state
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ -> Response in
            let document: JSONValue = state.withLock { state in
                state.discoveryFetches += 1
                var members: [String: JSONValue] = [
                    "issuer": .string(state.advertisedIssuer ?? state.issuer),
                    "authorization_endpoint": .string("\(state.issuer)/authorize?tenant=test"),
                    "token_endpoint": .string("\(state.issuer)/token"),
                    "jwks_uri": .string("\(state.issuer)/jwks"),
                    "userinfo_endpoint": .string("\(state.issuer)/userinfo"),
                ]
                if state.hasEndSession { members["end_session_endpoint"] = .string("\(state.issuer)/logout") }
                return .object(members)
            }
            return try Self.json(.ok, document)
        }
        router.get("/jwks") { _, _ -> Response in
            let keys = state.withLock { state in
                state.jwksFetches += 1
                return state.keys
            }
            return try Self.json(.ok, ["keys": .array(keys)])
        }
        router.post("/token") { request, _ -> Response in
            let form = Self.form(String(buffer: try await request.body.collect(upTo: 64 * 1024)))
            let authorization = request.headers[.authorization]
            let outcome: Result<Grant, FakeProvider.Refusal> = state.withLock { state in
                state.tokenRequests += 1
                return Self.redeem(form, authorization: authorization, clientID: clientID, clientSecret: clientSecret, in: &state)
            }
            switch outcome {
            case .failure(let refusal):
                return try Self.json(refusal.status, ["error": .string(refusal.code)])
            case .success(let grant):
                let now = clock.now.timeIntervalSince1970
                let issuer = state.withLock { $0.issuer }
                let idToken = try await signer.sign(
                    [
                        "iss": .string(issuer), "sub": "alice-subject", "aud": .string(grant.clientID),
                        "exp": .integer(Int64(now) + 300), "iat": .integer(Int64(now)), "nonce": .string(grant.nonce),
                        "name": "Alice Example", "roles": ["clinician", "auditor"],
                    ],
                    kid: signerKID
                )
                return try Self.json(.ok, ["access_token": "opaque", "token_type": "Bearer", "id_token": .string(idToken)])
            }
        }
        server = try await LoopbackServer.start(router: router, label: "fake-oidc-provider")
        let port = server.port
        state.withLock { $0.issuer = "http://127.0.0.1:\(port)" }
        publish([signer.jwk(kid: signerKID)])
    }

    struct NotStarted: Error {}

    struct Refusal: Error {
        var status: HTTPResponse.Status
        var code: String
    }

    func stop() async {
        await server.stop()
    }

    /// What the browser does between the authorization URL and the callback: the provider
    /// checks the request, remembers it under a new code and returns (code, state).
    /// `nonce` replaces the request's nonce in the ID token, to test a mismatch.
    func authorize(_ url: String, nonce: String? = nil) throws -> (code: String, state: String) {
        guard let query = URLComponents(string: url)?.queryItems else { throw Refusal(status: .badRequest, code: "invalid_request") }
        func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
        guard value("response_type") == "code", value("code_challenge_method") == "S256", value("client_id") == clientID,
            let redirectURI = value("redirect_uri"), let challenge = value("code_challenge"),
            let requestNonce = value("nonce"), let requestState = value("state")
        else { throw Refusal(status: .badRequest, code: "invalid_request") }
        let code = "code-\(UUID().uuidString)"
        let grant = Grant(clientID: clientID, redirectURI: redirectURI, challenge: challenge, nonce: nonce ?? requestNonce)
        state.withLock { $0.grants[code] = grant }
        return (code, requestState)
    }

    /// The token endpoint's checks: client authentication, a known unused code, the same
    /// redirect URI, and a verifier whose S256 is the challenge.
    private static func redeem(
        _ form: [String: String],
        authorization: String?,
        clientID: String,
        clientSecret: String?,
        in state: inout State
    ) -> Result<Grant, Refusal> {
        if let clientSecret {
            let expected = "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
            guard authorization == expected, form["client_secret"] == nil else {
                return .failure(Refusal(status: .unauthorized, code: "invalid_client"))
            }
        } else {
            guard authorization == nil, form["client_id"] == clientID else {
                return .failure(Refusal(status: .unauthorized, code: "invalid_client"))
            }
        }
        guard form["grant_type"] == "authorization_code", let code = form["code"], var grant = state.grants[code], !grant.used,
            form["redirect_uri"] == grant.redirectURI, let verifier = form["code_verifier"]
        else { return .failure(Refusal(status: .badRequest, code: "invalid_grant")) }
        let challenge = base64URL(Data(SHA256.hash(data: Data(verifier.utf8))))
        guard challenge == grant.challenge else { return .failure(Refusal(status: .badRequest, code: "invalid_grant")) }
        grant.used = true
        state.grants[code] = grant
        return .success(grant)
    }

    private static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    private static func json(_ status: HTTPResponse.Status, _ value: JSONValue) throws -> Response {
        let body = try JSONEncoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Runs `body` with a started provider and an HTTP client, stopping both afterwards.
func withProvider<T>(
    clientSecret: String? = "s3cret",
    clock: TestClock = TestClock(),
    _ body: (FakeProvider, HTTPClient) async throws -> T
) async throws -> T {
    let provider = try await FakeProvider(clientSecret: clientSecret, clock: clock)
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
        let result = try await body(provider, client)
        try await client.shutdown()
        await provider.stop()
        return result
    } catch {
        try? await client.shutdown()
        await provider.stop()
        throw error
    }
}
