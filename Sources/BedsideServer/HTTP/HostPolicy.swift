import BedsideProtocol
import HTTPTypes
import Hummingbird

/// Decides which `Host` a request may name: the defence against DNS rebinding, where a page at
/// `http://attacker.example:PORT` has its name re-pointed at this server and then calls it as
/// its own origin.
///
/// Accepted are the bound address (`--host`), the loopback names `localhost`, `127.0.0.1` and
/// `[::1]` when the server is bound to loopback or to every interface, and the entries of
/// `--allowed-hosts` (which also gets the host of `--public-url`). An entry `*.example.org`
/// accepts every name under `example.org` (not `example.org` itself). Ports are not compared:
/// a rebinding page uses the server's own port anyway, and behind a proxy the port clients use
/// is not the one the server listens on. Every other `Host`, a missing one, one that is not a
/// valid host, and a second `Host` field are refused with 421 `host_not_allowed`.
struct HostPolicy: Sendable {
    private let exact: Set<HostName>
    /// `.example.org` for the entry `*.example.org`.
    private let suffixes: [String]
    /// Entries of `--allowed-hosts` that are not host names, addresses or `*.` wildcards.
    let invalidEntries: [String]
    /// Bound to `0.0.0.0` or `::` with no `--allowed-hosts`: only the loopback names pass, so
    /// clients on the network cannot reach the server by any name (the start-up log says so).
    let onlyLoopbackOnEveryInterface: Bool

    init(listenHost: String, allowed: [String]) {
        var exact = Set<HostName>()
        var suffixes: [String] = []
        var invalid: [String] = []
        let listen = HostName(listenHost)
        let everyInterface: Bool
        if case .address(let address) = listen, address.isUnspecified {
            everyInterface = true
        } else {
            everyInterface = false
            if let listen { exact.insert(listen) }
        }
        if everyInterface || listen?.isLoopback == true {
            for name in ["localhost", "127.0.0.1", "::1"] {
                if let host = HostName(name) { exact.insert(host) }
            }
        }
        for entry in allowed {
            let trimmed = entry.trimmingSpaces
            if trimmed.hasPrefix("*."), case .name(let base)? = HostName(trimmed.dropFirst(2)), base.contains(".") {
                suffixes.append("." + base)
            } else if let host = HostName(trimmed) ?? Authority(trimmed)?.host {
                exact.insert(host)
            } else {
                invalid.append(entry)
            }
        }
        self.exact = exact
        self.suffixes = suffixes
        self.invalidEntries = invalid
        self.onlyLoopbackOnEveryInterface = everyInterface && invalid.count == allowed.count
    }

    /// The parsed `Host` when it is one this server answers to; nil otherwise.
    func allowedAuthority(_ host: String?) -> Authority? {
        guard let host, let authority = Authority(host) else { return nil }
        return allows(authority.host) ? authority : nil
    }

    func allows(_ host: HostName) -> Bool {
        if exact.contains(host) { return true }
        guard case .name(let name) = host else { return false }
        return suffixes.contains { name.hasSuffix($0) }
    }

    /// Refuses a request whose `Host` is not allowed, with 421 `host_not_allowed`.
    func check(_ request: Request) throws(APIError) {
        let extra = HTTPField.Name("Host").map { request.headers[values: $0] } ?? []
        guard extra.isEmpty else {
            throw APIError(.misdirectedRequest, .hostNotAllowed, "A request may carry only one Host header.")
        }
        guard allowedAuthority(request.head.authority) == nil else { return }
        let named = request.head.authority.map { "The host \($0)" } ?? "A request without a Host header"
        throw APIError(
            .misdirectedRequest,
            .hostNotAllowed,
            "\(named) is not one this server answers to: add it with --allowed-hosts."
        )
    }
}

/// Refuses every request whose `Host` the ``HostPolicy`` does not accept, before any route or
/// other middleware runs; counted as `bedside_limit_refusals_total{limit="host"}`.
struct HostCheckMiddleware<Context: RequestContext>: RouterMiddleware {
    let hosts: HostPolicy
    let metrics: BedsideMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            try hosts.check(request)
        } catch {
            metrics.limitReached(.host)
            throw error
        }
        return try await next(request, context)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingSpaces: Substring {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
