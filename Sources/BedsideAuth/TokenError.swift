public import Foundation

/// The clock the identity code reads, so tests can move time.
public typealias AuthClock = @Sendable () -> Date

/// Why a bearer JWT or ID token was refused.
public struct TokenError: Error, Sendable, CustomStringConvertible {
    /// The check that failed.
    public enum Reason: String, Sendable {
        /// Not three base64url parts, or a header or payload that is not a JSON object.
        case malformed
        /// The header's `alg` is not allowed (`none` and HMAC never are), or the key does not fit it.
        case algorithmNotAllowed
        /// No key of the issuer's JWKS has the token's `kid`, even after a refetch.
        case unknownKey
        /// The token names no `kid` and the JWKS has more than one usable key.
        case missingKeyID
        /// The signature does not verify with the selected key.
        case badSignature
        /// `exp` has passed (beyond the leeway).
        case expired
        /// `nbf` or `iat` lies in the future (beyond the leeway).
        case notYetValid
        /// `iss` is not the configured issuer.
        case wrongIssuer
        /// `aud` names none of the configured audiences.
        case wrongAudience
        /// `nonce` is not the one this sign-in sent.
        case wrongNonce
        /// No `sub` claim.
        case noSubject
        /// The issuer's JWKS (or its discovery document) could not be fetched or read.
        case jwksUnavailable
    }

    public var reason: Reason
    public var description: String

    public init(_ reason: Reason, _ description: String) {
        self.reason = reason
        self.description = description
    }
}
