import BedsideCore
import Crypto
import CryptoExtras
import Foundation
import JWTKit
import Synchronization

/// A freshly generated key pair of one algorithm: it signs tokens (with jwt-kit) and publishes
/// its public half as a JWK.
struct SigningKey: Sendable {
    enum Material {
        case rsa(JWTKit.Insecure.RSA.PrivateKey)
        case ec(ES256PrivateKey)
        case ed(EdDSA.PrivateKey)
    }

    let algorithm: String
    let material: Material
    /// The public key's JWK members, without `kid`, `alg` or `use`.
    let publicMembers: [String: JSONValue]

    static func rsa() throws -> SigningKey {
        let key = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
        let (modulus, exponent) = try key.publicKey.getKeyPrimitives()
        return SigningKey(
            algorithm: "RS256",
            material: .rsa(key),
            publicMembers: ["kty": "RSA", "n": .string(base64URL(modulus)), "e": .string(base64URL(exponent))]
        )
    }

    static func ec() throws -> SigningKey {
        let key = ES256PrivateKey()
        let (x, y) = key.publicKey.parameters!
        return SigningKey(
            algorithm: "ES256",
            material: .ec(key),
            publicMembers: ["kty": "EC", "crv": "P-256", "x": .string(x), "y": .string(y)]
        )
    }

    static func ed() throws -> SigningKey {
        let key = try EdDSA.PrivateKey(curve: .ed25519)
        return SigningKey(
            algorithm: "EdDSA",
            material: .ed(key),
            publicMembers: ["kty": "OKP", "crv": "Ed25519", "x": .string(base64URL(key.publicKey.rawRepresentation))]
        )
    }

    /// The public JWK, with `kid`, `alg` (the key's own unless given; nil leaves it out) and `use`.
    func jwk(kid: String?, alg: String?? = .none, use: String? = "sig") -> JSONValue {
        var members = publicMembers
        if let kid { members["kid"] = .string(kid) }
        if let alg = alg ?? algorithm { members["alg"] = .string(alg) }
        if let use { members["use"] = .string(use) }
        return .object(members)
    }

    /// A token of `claims` signed by jwt-kit, naming `kid` in its header when given.
    func sign(_ claims: [String: JSONValue], kid: String?) async throws -> String {
        let keys = JWTKeyCollection()
        switch material {
        case .rsa(let key): await keys.add(rsa: key, digestAlgorithm: .sha256)
        case .ec(let key): await keys.add(ecdsa: key)
        case .ed(let key): await keys.add(eddsa: key)
        }
        return try await keys.sign(Claims(claims), kid: kid.map { JWKIdentifier(string: $0) })
    }

    /// The PEM of the public key (what an attacker would use as an HMAC secret).
    var publicKeyPEM: String {
        switch material {
        case .rsa(let key): key.publicKey.pemRepresentation
        case .ec(let key): key.publicKey.pemRepresentation
        case .ed(let key): key.publicKey.pemRepresentation
        }
    }
}

/// Keys generated once for the whole test run (RSA generation is slow).
enum TestKeys {
    static let rsa = try! SigningKey.rsa()
    static let ec = try! SigningKey.ec()
    static let ed = try! SigningKey.ed()
    static let otherEC = try! SigningKey.ec()
}

/// A payload of any claims, for signing.
struct Claims: JWTPayload {
    var values: [String: JSONValue]

    init(_ values: [String: JSONValue]) { self.values = values }

    init(from decoder: any Decoder) throws { values = try decoder.singleValueContainer().decode([String: JSONValue].self) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}

/// A token put together by hand: base64url header and payload, and the given signature bytes.
func handMadeToken(header: [String: JSONValue], claims: [String: JSONValue], signature: (Data) -> Data) throws -> String {
    let encoder = JSONEncoder()
    let input = base64URL(try encoder.encode(JSONValue.object(header))) + "." + base64URL(try encoder.encode(JSONValue.object(claims)))
    return input + "." + base64URL(signature(Data(input.utf8)))
}

func base64URL(_ data: Data) -> String {
    data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { time = Mutex(start) }

    var now: Date { time.withLock { $0 } }

    func advance(_ seconds: TimeInterval) { time.withLock { $0 += seconds } }

    var clock: @Sendable () -> Date { { self.now } }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}
