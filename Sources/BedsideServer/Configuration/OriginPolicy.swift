/// Decides whether a browser origin may open a WebSocket: the server's own origin, and the
/// configured allow-list (an entry may use `*` for any port). Requests with no `Origin` header
/// (scripts, not browsers) are allowed.
///
/// "Own origin" means an Origin equal to the request's Host, and it is trusted only when that
/// Host names a loopback address or the configured listen host: otherwise a DNS-rebinding page
/// (whose Origin and Host both say `evil.example`) would count as same-origin.
struct OriginPolicy: Sendable {
    private let exact: Set<String>
    private let anyPort: [String]
    private let trustedHosts: Set<String>

    init(allowed: [String], listenHost: String = "127.0.0.1") {
        var hosts: Set<String> = ["localhost", "::1"]
        let listen = listenHost.lowercased()
        if listen != "0.0.0.0", listen != "::" { hosts.insert(listen) }
        self.trustedHosts = hosts
        var exact = Set<String>()
        var anyPort: [String] = []
        for entry in allowed {
            let origin = entry.trimmingSlash.lowercased()
            if origin == "*" {
                anyPort.append("")
            } else if origin.hasSuffix(":*") {
                anyPort.append(String(origin.dropLast(2)))
            } else {
                exact.insert(origin)
            }
        }
        self.exact = exact
        self.anyPort = anyPort
    }

    /// Whether `origin` may connect to a server reached as `authority` (its Host).
    ///
    /// Origins with a `ws:` or `wss:` scheme are allowed: browsers never send them (their pages
    /// have http or https origins), only WebSocket client libraries do, like scripts that send none.
    func allows(origin: String?, authority: String?) -> Bool {
        guard let origin else { return true }
        let normalized = origin.trimmingSlash.lowercased()
        if normalized.hasPrefix("ws://") || normalized.hasPrefix("wss://") { return true }
        if let authority = authority?.lowercased(), isTrusted(authority: authority),
            normalized == "http://\(authority)" || normalized == "https://\(authority)"
        {
            return true
        }
        if exact.contains(normalized) { return true }
        for base in anyPort {
            if base.isEmpty { return true }
            if normalized == base { return true }
            if normalized.hasPrefix(base + ":"), normalized.dropFirst(base.count + 1).allSatisfy(\.isNumber) {
                return true
            }
        }
        return false
    }

    private func isTrusted(authority: String) -> Bool {
        var host = Substring(authority)
        if host.hasPrefix("[") {
            host = host.dropFirst().prefix { $0 != "]" }
        } else if let colon = host.lastIndex(of: ":") {
            host = host[..<colon]
        }
        return trustedHosts.contains(String(host)) || host.hasPrefix("127.")
    }
}

extension String {
    fileprivate var trimmingSlash: String {
        hasSuffix("/") ? String(dropLast()) : self
    }
}
