public import BedsideCore
import Foundation
import Hummingbird
import JWTKit
import Synchronization

/// A token issuer on 127.0.0.1 for tests of bearer authentication: it serves an OpenID
/// discovery document and a JWKS (ES256) and signs JWTs with any claims, so a test can make a
/// token that expires in two seconds or names the wrong audience.
///
/// The browser sign-in tests meet a real OpenID provider instead; this issuer stands in only
/// for the party that hands a program its bearer token.
public final class TestIssuer: Sendable {
    private let server: LoopbackServer
    private let keys: JWTKeyCollection
    public let issuer: String
    public static let keyID = "test-key-1"

    private init(server: LoopbackServer, keys: JWTKeyCollection, issuer: String) {
        self.server = server
        self.keys = keys
        self.issuer = issuer
    }

    public static func start() async throws -> TestIssuer {
        let key = ES256PrivateKey()
        guard let parameters = key.publicKey.parameters else { throw LoopbackServer.NotStarted() }
        let keys = JWTKeyCollection()
        await keys.add(ecdsa: key, kid: JWKIdentifier(string: keyID))
        let base = Mutex("")
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ in
            let issuer = base.withLock { $0 }
            let body = """
                {"issuer":"\(issuer)","jwks_uri":"\(issuer)/jwks","authorization_endpoint":"\(issuer)/authorize",\
                "token_endpoint":"\(issuer)/token","response_types_supported":["code"],\
                "id_token_signing_alg_values_supported":["ES256"],"subject_types_supported":["public"]}
                """
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/jwks") { _, _ in
            let body = """
                {"keys":[{"kty":"EC","crv":"P-256","use":"sig","alg":"ES256","kid":"\(keyID)",\
                "x":"\(parameters.x)","y":"\(parameters.y)"}]}
                """
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let server = try await LoopbackServer.start(router: router, label: "test-issuer")
        let issuer = "http://127.0.0.1:\(server.port)"
        base.withLock { $0 = issuer }
        return TestIssuer(server: server, keys: keys, issuer: issuer)
    }

    /// A signed JWT from this issuer for `subject`, valid for `lifetime` seconds from now, with
    /// `claims` added (they may override the standard ones).
    public func token(
        subject: String,
        audience: String,
        lifetime: Double = 300,
        claims: [String: JSONValue] = [:]
    ) async throws -> String {
        let now = Date().timeIntervalSince1970
        var all: [String: JSONValue] = [
            "iss": .string(issuer),
            "sub": .string(subject),
            "aud": .string(audience),
            "iat": .integer(Int64(now)),
            "exp": .integer(Int64(now + lifetime)),
        ]
        all.merge(claims) { _, new in new }
        return try await keys.sign(ClaimSet(claims: all), kid: JWKIdentifier(string: Self.keyID))
    }

    public func stop() async {
        await server.stop()
    }
}

/// Any claims, signed as they are: the verification under test is Bedside's, not this one.
private struct ClaimSet: JWTPayload {
    var claims: [String: JSONValue]

    init(claims: [String: JSONValue]) { self.claims = claims }

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
