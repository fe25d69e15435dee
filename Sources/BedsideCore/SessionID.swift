/// A validated session identifier: 8 to 128 characters of `[A-Za-z0-9_-]`.
///
/// A session owns its event history, its running turn and its connections. The identifier is
/// chosen by the client (a UUID works), so it is validated before anything else touches it.
public struct SessionID: Hashable, Sendable, CustomStringConvertible {
    /// The identifier as sent by the client.
    public let rawValue: String

    /// The accepted length range, in characters.
    public static let lengthRange = 8...128

    /// Creates a session id, or returns nil when `rawValue` is not 8–128 characters of `[A-Za-z0-9_-]`.
    public init?(_ rawValue: some StringProtocol) {
        let utf8 = rawValue.utf8
        guard Self.lengthRange.contains(utf8.count) else { return nil }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            default:
                return nil
            }
        }
        self.rawValue = String(rawValue)
    }

    public var description: String { rawValue }
}
