public import AsyncHTTPClient
import BedsideCore
public import Foundation
import JWTKit
import Synchronization

/// Checks bearer JWTs and OpenID ID tokens against one issuer's JWKS.
///
/// Bedside picks the key itself and hands jwt-kit a key collection holding only that key, fixed
/// to the algorithm it fits: a token cannot choose another key by omitting or inventing a `kid`,
/// nor an algorithm the key was not published for. `none` and HMAC tokens are refused before
/// any key is looked at, so a public key can never serve as an HMAC secret.
public final class TokenVerifier: Sendable {
    public let configuration: TokenVerifierConfiguration
    private let clock: AuthClock
    private let keySet: KeySetCache

    public init(configuration: TokenVerifierConfiguration, httpClient: HTTPClient, clock: @escaping AuthClock = { Date() }) {
        self.configuration = configuration
        self.clock = clock
        let jwksURL = Mutex<String?>(configuration.jwksURL)
        let issuer = configuration.issuer
        keySet = KeySetCache(
            clock: clock,
            refetchInterval: configuration.refetchInterval,
            lifetime: configuration.keySetLifetime
        ) {
            let url: String
            if let known = jwksURL.withLock({ $0 }) {
                url = known
            } else {
                do {
                    url = try await OIDCDiscovery.fetch(issuer: issuer, httpClient: httpClient).jwksURI
                } catch {
                    throw TokenError(.jwksUnavailable, "Cannot find the JWKS of \(issuer): \(error)")
                }
                jwksURL.withLock { $0 = url }
            }
            return try await Self.fetchKeys(url, client: httpClient)
        }
    }

    /// Checks, in order: three base64url parts; header `alg` in the allow-list (never none, never
    /// HS*); the key: the JWK whose `kid` equals the header's (an unknown kid triggers one JWKS
    /// refetch, at most once per refetchInterval, then refuses); no `kid` is accepted only when
    /// the JWKS has exactly one usable key; the JWK's own `alg`, when present, must equal the
    /// header's; the JWK's `kty`/`crv` must fit the algorithm (RSA for RS256, EC P-256 for ES256,
    /// OKP Ed25519 for EdDSA); keys with `use` other than `sig` are skipped. Then the signature is
    /// verified by jwt-kit with a key collection holding only that key; then iss, aud, exp, nbf
    /// and iat (with leeway), sub present, and `nonce` when given.
    ///
    /// - Throws: ``TokenError``.
    public func verify(_ token: String, nonce: String? = nil) async throws -> VerifiedToken {
        let header = try Self.header(of: token)
        guard case .string(let algorithm)? = header["alg"] else { throw TokenError(.malformed, "The token's header has no alg.") }
        try checkAllowed(algorithm)
        if header["crit"] != nil { throw TokenError(.malformed, "The token names critical header extensions.") }
        let kid: String?
        switch header["kid"] {
        case nil, .null?: kid = nil
        case .string(let value)?: kid = value
        default: throw TokenError(.malformed, "The token's kid is not a string.")
        }
        let key = try await selectKey(kid: kid, algorithm: algorithm)
        let claims = try await verifySignature(token, key: key, algorithm: algorithm)
        return try checkClaims(claims, nonce: nonce)
    }

    // MARK: - Steps

    /// The header of a token of three base64url parts whose payload decodes.
    static func header(of token: String) throws -> [String: JSONValue] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
            let headerData = Secrets.decodeBase64URL(parts[0]),
            Secrets.decodeBase64URL(parts[1]) != nil,
            parts[2].utf8.allSatisfy(Secrets.isBase64URLByte)
        else {
            throw TokenError(.malformed, "The token is not three base64url parts.")
        }
        guard case .object(let header)? = try? JSONDecoder().decode(JSONValue.self, from: headerData) else {
            throw TokenError(.malformed, "The token's header is not a JSON object.")
        }
        return header
    }

    private func checkAllowed(_ algorithm: String) throws {
        let lowercased = algorithm.lowercased()
        guard lowercased != "none", !lowercased.hasPrefix("hs"),
            configuration.algorithms.contains(algorithm), TokenVerifierConfiguration.supportedAlgorithms.contains(algorithm)
        else {
            throw TokenError(.algorithmNotAllowed, "Tokens signed with \(algorithm) are not accepted.")
        }
    }

    private func selectKey(kid: String?, algorithm: String) async throws -> PublishedKey {
        var keys = try await keySet.current()
        let key: PublishedKey
        if let kid {
            if let found = Self.key(kid, algorithm, in: keys) {
                key = found
            } else {
                keys = try await keySet.refetched()
                guard let found = Self.key(kid, algorithm, in: keys) else {
                    throw TokenError(.unknownKey, "No key of \(configuration.issuer) has the kid \"\(kid)\".")
                }
                key = found
            }
        } else {
            let usable = keys.filter(\.isUsable)
            guard usable.count == 1 else {
                throw TokenError(.missingKeyID, "The token names no kid and \(configuration.issuer) has \(usable.count) keys.")
            }
            key = usable[0]
        }
        guard key.fits(algorithm) else { throw TokenError(.algorithmNotAllowed, key.misfit(algorithm)) }
        return key
    }

    /// The usable key with `kid`, preferring one that fits `algorithm` when several share it.
    private static func key(_ kid: String, _ algorithm: String, in keys: [PublishedKey]) -> PublishedKey? {
        let matching = keys.filter { $0.isUsable && $0.kid == kid }
        return matching.first { $0.fits(algorithm) } ?? matching.first
    }

    private func verifySignature(_ token: String, key: PublishedKey, algorithm: String) async throws -> [String: JSONValue] {
        let collection = try await key.keyCollection(for: algorithm)
        do {
            return try await collection.verify(token, as: ClaimsPayload.self).claims
        } catch let error as JWTError where error.errorType == .malformedToken {
            throw TokenError(.malformed, "The token's payload is not a JSON object.")
        } catch {
            throw TokenError(.badSignature, "The token's signature does not verify.")
        }
    }

    private func checkClaims(_ claims: [String: JSONValue], nonce: String?) throws -> VerifiedToken {
        guard claims["iss"]?.stringValue == configuration.issuer else {
            throw TokenError(.wrongIssuer, "The token is not from \(configuration.issuer).")
        }
        let audiences: [String]
        switch claims["aud"] {
        case .string(let audience)?: audiences = [audience]
        case .array(let values)?: audiences = values.compactMap(\.stringValue)
        default: audiences = []
        }
        guard audiences.contains(where: configuration.audiences.contains) else {
            throw TokenError(.wrongAudience, "The token is not meant for \(configuration.audiences.joined(separator: " or ")).")
        }
        let now = clock().timeIntervalSince1970
        let leeway = configuration.leeway
        guard let expiry = try Self.seconds(claims, "exp") else { throw TokenError(.malformed, "The token has no exp.") }
        if now >= expiry + leeway { throw TokenError(.expired, "The token expired.") }
        if let notBefore = try Self.seconds(claims, "nbf"), now + leeway < notBefore {
            throw TokenError(.notYetValid, "The token is not valid yet.")
        }
        if let issuedAt = try Self.seconds(claims, "iat"), now + leeway < issuedAt {
            throw TokenError(.notYetValid, "The token was issued in the future.")
        }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty else {
            throw TokenError(.noSubject, "The token has no sub.")
        }
        if let nonce, claims["nonce"]?.stringValue != nonce {
            throw TokenError(.wrongNonce, "The token's nonce is not this sign-in's.")
        }
        return VerifiedToken(
            issuer: configuration.issuer,
            subject: subject,
            audiences: audiences,
            expiresAt: Date(timeIntervalSince1970: expiry),
            claims: claims
        )
    }

    /// A NumericDate claim in seconds; nil when absent.
    private static func seconds(_ claims: [String: JSONValue], _ name: String) throws -> Double? {
        switch claims[name] {
        case nil: return nil
        case .integer(let value)?: return Double(value)
        case .number(let value)?: return value
        default: throw TokenError(.malformed, "The token's \(name) is not a number.")
        }
    }

    private static func fetchKeys(_ url: String, client: HTTPClient) async throws -> [PublishedKey] {
        let response: (status: Int, body: Data)
        do {
            response = try await AuthHTTP.get(url, client: client)
        } catch {
            throw TokenError(.jwksUnavailable, "Cannot fetch the JWKS at \(url): \(error)")
        }
        guard response.status == 200 else { throw TokenError(.jwksUnavailable, "\(response.status) from the JWKS at \(url).") }
        return try PublishedKey.keySet(from: response.body)
    }
}

/// Every claim of a payload, as JSON; Bedside checks them itself after the signature.
struct ClaimsPayload: JWTPayload {
    var claims: [String: JSONValue]

    init(from decoder: any Decoder) throws {
        claims = try decoder.singleValueContainer().decode([String: JSONValue].self)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(claims)
    }

    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
