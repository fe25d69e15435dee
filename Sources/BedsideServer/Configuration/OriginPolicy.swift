/// Decides whether a browser origin may open a WebSocket or make a state-changing request: the
/// server's own origin, and the configured allow-list (an entry may use `*` for any port).
/// Requests with no `Origin` header (scripts, not browsers) are allowed.
///
/// "Own origin" is `http://` or `https://` followed by the request's `Host`, and only when that
/// `Host` passes the ``HostPolicy``: a DNS-rebinding page, whose `Origin` and `Host` both name
/// the attacker's domain, is not same-origin here, and neither is a look-alike such as
/// `127.0.0.1.attacker.example`. Origins and entries are compared parsed (scheme, ``HostName``
/// and port, a missing port being the scheme's default), never as string prefixes.
struct OriginPolicy: Sendable {
    /// An `--allowed-origins` entry.
    private struct Entry: Sendable {
        var scheme: String
        var host: HostName
        /// Nil: any port (`:*`).
        var port: Int?
    }

    private let entries: [Entry]
    private let allowsEverything: Bool
    private let hosts: HostPolicy
    /// Entries that are not `*` or `scheme://host[:port|:*]`.
    let invalidEntries: [String]

    init(allowed: [String], hosts: HostPolicy) {
        self.hosts = hosts
        var entries: [Entry] = []
        var everything = false
        var invalid: [String] = []
        for raw in allowed {
            var text = Substring(raw.lowercased())
            if text.hasSuffix("/") { text = text.dropLast() }
            if text == "*" {
                everything = true
                continue
            }
            var anyPort = false
            if text.hasSuffix(":*") {
                anyPort = true
                text = text.dropLast(2)
            }
            guard let origin = Self.parse(text) else {
                invalid.append(raw)
                continue
            }
            entries.append(Entry(scheme: origin.scheme, host: origin.authority.host, port: anyPort ? nil : origin.port))
        }
        self.entries = entries
        self.allowsEverything = everything
        self.invalidEntries = invalid
    }

    /// Whether `origin` may connect to a server reached as `authority` (its Host).
    ///
    /// Origins with a `ws:` or `wss:` scheme are allowed: browsers never send them (their pages
    /// have http or https origins), only WebSocket client libraries do, like scripts that send none.
    func allows(origin: String?, authority: String?) -> Bool {
        guard let origin else { return true }
        var text = Substring(origin.lowercased())
        if text.hasSuffix("/") { text = text.dropLast() }
        if text.hasPrefix("ws://") || text.hasPrefix("wss://") { return true }
        if allowsEverything { return true }
        guard let parsed = Self.parse(text), parsed.scheme == "http" || parsed.scheme == "https" else { return false }
        if let own = hosts.allowedAuthority(authority), own.host == parsed.authority.host,
            (own.port ?? Self.defaultPort(parsed.scheme)) == parsed.port
        {
            return true
        }
        return entries.contains { entry in
            entry.scheme == parsed.scheme && entry.host == parsed.authority.host && (entry.port == nil || entry.port == parsed.port)
        }
    }

    /// `scheme://host[:port]` with the port made explicit; nil for anything else (a path,
    /// user info, `null`).
    private static func parse(_ text: Substring) -> (scheme: String, authority: Authority, port: Int)? {
        guard let separator = text.firstRange(of: "://") else { return nil }
        let scheme = String(text[..<separator.lowerBound])
        guard let authority = Authority(text[separator.upperBound...]) else { return nil }
        return (scheme, authority, authority.port ?? defaultPort(scheme))
    }

    private static func defaultPort(_ scheme: String) -> Int {
        switch scheme {
        case "https", "wss": 443
        default: 80
        }
    }
}
