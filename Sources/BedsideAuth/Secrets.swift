import Crypto
import Foundation

/// Random secrets and their digests: API keys, sign-in session tokens, OpenID `state`, `nonce`
/// and PKCE verifiers all come from here.
enum Secrets {
    /// `count` bytes from the system's secure random source.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// 32 random bytes, base64url without padding (43 characters).
    static func token() -> String { base64URL(randomBytes(32)) }

    /// `byteCount` random bytes as lowercase hex.
    static func hexID(byteCount: Int) -> String { hex(randomBytes(byteCount)) }

    /// Lowercase hex of SHA-256 of the text's UTF-8 bytes.
    static func sha256Hex(_ text: String) -> String { hex(Array(SHA256.hash(data: Array(text.utf8)))) }

    /// Base64url of SHA-256 of the text's UTF-8 bytes: the PKCE S256 code challenge.
    static func sha256Base64URL(_ text: String) -> String { base64URL(Array(SHA256.hash(data: Array(text.utf8)))) }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }

    /// Base64url (RFC 4648 §5) without padding.
    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Decodes base64url with or without padding; nil when `text` holds anything else.
    static func decodeBase64URL(_ text: Substring) -> Data? {
        guard text.utf8.allSatisfy(isBase64URLByte) else { return nil }
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        if standard.count % 4 == 1 { return nil }
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    static func isBase64URLByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}

/// Query strings and form bodies (`application/x-www-form-urlencoded`).
enum FormEncoding {
    /// RFC 3986 unreserved characters: everything else is percent-encoded.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// `base` with `pairs` appended to its query (after `&` when it has one already).
    static func url(_ base: String, _ pairs: [(String, String)]) -> String {
        base + (base.contains("?") ? "&" : "?") + encode(pairs)
    }
}
