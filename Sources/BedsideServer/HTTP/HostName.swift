/// The host of a `Host` header, an origin or a configured name, normalized so that two spellings
/// of one host compare equal: an IP address (``IPAddress``), or a DNS name in lowercase without
/// its trailing dot.
///
/// What it deliberately does not do: resolve names, decode percent-encoding or IDNA (browsers
/// send punycode), or read `127.0.0.1.attacker.example` as anything but a name.
enum HostName: Hashable, Sendable, CustomStringConvertible {
    case address(IPAddress)
    case name(String)

    /// Reads a bare host: an IPv4 address, an IPv6 address with or without brackets, or a DNS
    /// name of letters, digits, `-` and `_` labels (at most 63 characters each, 253 in all).
    init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if text.hasPrefix("[") {
            guard text.hasSuffix("]"), let address = IPAddress(text.dropFirst().dropLast()), !address.isIPv4 else { return nil }
            self = .address(address)
            return
        }
        if let address = IPAddress(text) {
            self = .address(address)
            return
        }
        if text.hasSuffix(".") { text = text.dropLast() }
        let name = text.lowercased()
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...253).contains(name.utf8.count),
            labels.allSatisfy({ label in
                (1...63).contains(label.utf8.count)
                    && label.utf8.allSatisfy { byte in
                        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    }
            })
        else { return nil }
        self = .name(name)
    }

    /// `localhost`, or a loopback address.
    var isLoopback: Bool {
        switch self {
        case .address(let address): address.isLoopback
        case .name(let name): name == "localhost"
        }
    }

    /// As it appears in a `Host` header or URL: IPv6 in brackets.
    var description: String {
        switch self {
        case .address(let address): address.isIPv4 ? address.description : "[\(address)]"
        case .name(let name): name
        }
    }
}

/// A `Host` header value (or an origin's host and port): a ``HostName`` and an optional port.
struct Authority: Hashable, Sendable {
    var host: HostName
    var port: Int?

    /// Reads `host`, `host:port`, `[v6]` or `[v6]:port`; nil for anything else, such as
    /// user info, a path, an empty or out-of-range port, or an IPv6 address without brackets.
    init?(_ text: some StringProtocol) {
        let text = Substring(text)
        var hostPart = text
        var portPart: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[...close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.first == ":" else { return nil }
                portPart = rest.dropFirst()
            }
        } else if let colon = text.firstIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard let host = HostName(hostPart) else { return nil }
        self.host = host
        if let portPart {
            guard (1...5).contains(portPart.count), portPart.allSatisfy({ $0.isASCII && $0.isNumber }),
                let port = Int(portPart), port <= 65535
            else { return nil }
            self.port = port
        } else {
            self.port = nil
        }
    }

    init(host: HostName, port: Int?) {
        self.host = host
        self.port = port
    }
}
