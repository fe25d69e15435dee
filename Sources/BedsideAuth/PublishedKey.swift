import BedsideCore
import Foundation
import JWTKit

/// One key of an issuer's JWKS, as published: Bedside reads the members it needs itself, so a
/// key of a type jwt-kit does not model (an `oct` secret, an encryption key) is simply unusable
/// instead of spoiling the whole set.
struct PublishedKey: Sendable, Equatable {
    var kid: String?
    var kty: String
    var alg: String?
    var use: String?
    var keyOperations: [String]?
    var crv: String?
    var n: String?
    var e: String?
    var x: String?
    var y: String?

    /// The key in a JWK object; nil when `value` is not an object with a string `kty`.
    init?(_ value: JSONValue) {
        guard case .object(let members) = value, let kty = members["kty"]?.stringValue else { return nil }
        self.kty = kty
        kid = members["kid"]?.stringValue
        alg = members["alg"]?.stringValue
        use = members["use"]?.stringValue
        if case .array(let operations)? = members["key_ops"] { keyOperations = operations.compactMap(\.stringValue) }
        crv = members["crv"]?.stringValue
        n = members["n"]?.stringValue
        e = members["e"]?.stringValue
        x = members["x"]?.stringValue
        y = members["y"]?.stringValue
    }

    /// The keys of a JWKS document (`{"keys": [...]}`).
    static func keySet(from data: Data) throws -> [PublishedKey] {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: data),
            case .array(let keys)? = document["keys"]
        else {
            throw TokenError(.jwksUnavailable, "The JWKS is not a JSON object with a \"keys\" array.")
        }
        return keys.compactMap(PublishedKey.init)
    }

    /// A signature key of a type Bedside verifies with: `use` absent or `sig`, `key_ops` absent
    /// or including `verify`, and `kty` RSA, EC or OKP (never a symmetric `oct` key).
    var isUsable: Bool {
        (use == nil || use == "sig") && (keyOperations?.contains("verify") ?? true) && ["RSA", "EC", "OKP"].contains(kty)
    }

    /// Whether the key's type and curve are those of `algorithm`, and its own `alg`, when it
    /// names one, is `algorithm`.
    func fits(_ algorithm: String) -> Bool {
        if let alg, alg != algorithm { return false }
        switch algorithm {
        case "RS256": return kty == "RSA"
        case "ES256": return kty == "EC" && crv == "P-256"
        case "EdDSA": return kty == "OKP" && crv == "Ed25519"
        default: return false
        }
    }

    /// Why the key does not fit `algorithm`, for the error message.
    func misfit(_ algorithm: String) -> String {
        let name = kid.map { "The key \"\($0)\"" } ?? "The issuer's only key"
        if let alg, alg != algorithm { return "\(name) is for \(alg), not \(algorithm)." }
        return "\(name) (kty \(kty)\(crv.map { ", crv \($0)" } ?? "")) cannot verify \(algorithm)."
    }

    /// A jwt-kit key collection holding only this key, fixed to `algorithm` (which it fits).
    func keyCollection(for algorithm: String) async throws -> JWTKeyCollection {
        let keys = JWTKeyCollection()
        let name = kid.map { "The key \"\($0)\"" } ?? "The issuer's only key"
        do {
            switch (algorithm, n, e, x, y) {
            case ("RS256", let n?, let e?, _, _):
                await keys.add(rsa: try Insecure.RSA.PublicKey(modulus: n, exponent: e), digestAlgorithm: .sha256)
            case ("ES256", _, _, let x?, let y?):
                await keys.add(ecdsa: try ES256PublicKey(parameters: (x, y)))
            case ("EdDSA", _, _, let x?, _):
                await keys.add(eddsa: try EdDSA.PublicKey(x: x, curve: .ed25519))
            default:
                throw TokenError(.unknownKey, "\(name) lacks the members of a \(kty) key for \(algorithm).")
            }
        } catch let error as TokenError {
            throw error
        } catch {
            throw TokenError(.unknownKey, "\(name) in the JWKS cannot be read: \(error)")
        }
        return keys
    }
}
