/// A validated session identifier: 8 to 128 characters of `[A-Za-z0-9_-]`, owned by a principal.
///
/// A session owns its event history, its running turn and its connections. The identifier is
/// chosen by the client (a UUID works), so it is validated before anything else touches it.
/// Sessions are namespaced by their owner: the same `rawValue` under two owners names two
/// different sessions, so no id can reach another principal's session. The owner is a
/// principal's key (`local` for the one principal of `--auth none`); events carry only
/// `rawValue`, the id the client chose.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    /// The identifier as sent by the client.
    public let rawValue: String
    /// The key of the principal that owns the session: `local` without authentication.
    public let owner: String

    /// The accepted length range, in characters.
    public static let lengthRange = 8...128

    /// The owner key of the local principal (`--auth none`).
    public static let localOwner = "local"

    /// Creates a session id, or returns nil when `rawValue` is not 8–128 characters of `[A-Za-z0-9_-]`.
    public init?(_ rawValue: some StringProtocol, owner: String = SessionID.localOwner) {
        guard Self.isValid(rawValue), !owner.isEmpty, !owner.utf8.contains(UInt8(ascii: ":")) else { return nil }
        self.rawValue = String(rawValue)
        self.owner = owner
    }

    /// Reads a ``storageKey`` back.
    public init?(storageKey: some StringProtocol) {
        let parts = storageKey.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2 {
            self.init(parts[1], owner: String(parts[0]))
        } else {
            self.init(storageKey)
        }
    }

    /// Whether `rawValue` is 8–128 characters of `[A-Za-z0-9_-]`.
    public static func isValid(_ rawValue: some StringProtocol) -> Bool {
        let utf8 = rawValue.utf8
        guard Self.lengthRange.contains(utf8.count) else { return false }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// The key a store files the session under: `rawValue` for the local owner (so a store
    /// written before owners existed reads the same), `owner:rawValue` for any other.
    public var storageKey: String {
        owner == Self.localOwner ? rawValue : "\(owner):\(rawValue)"
    }

    /// The same id under another owner.
    public func owned(by owner: String) -> SessionID? { SessionID(rawValue, owner: owner) }

    public var description: String { storageKey }
}
