import BedsideCore
import BedsideProtocol
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `/ws`: what decides an upgrade and what every accepted connection shares.
///
/// An upgrade is refused (a bare 400, see docs/protocol.md) unless the `Host` is allowed, the
/// path is `/ws`, ``UpgradeCheck`` accepts the query, `Origin` and credential, and the server
/// is not shutting down. An accepted upgrade becomes a ``WebSocketConnection`` on the socket's
/// event loop.
struct WebSocketEndpoint: Sendable {
    /// Held weakly: connections are released on their event loop, and the hub's last
    /// reference must not end there (what it holds, the model's and exporters' HTTP clients,
    /// must not be shut down on an event loop).
    private(set) weak var hub: SessionHub?
    /// What connections replay from.
    let store: any EventStore
    let metrics: BedsideMetrics
    let serverVersion: String
    let hosts: HostPolicy
    let check: UpgradeCheck
    let limits: ConnectionLimits
    /// How often each connection is pinged; zero: never.
    var pingInterval: Duration
    /// Closes the connection (4401) when its credential ends; nil without authentication.
    var watch: CredentialWatch?
    /// Called when the client sends a message: activity that keeps a sign-in session from idling out.
    var activity: @Sendable (Credential) -> Void = { _ in }
    /// Admits connections within the total, per-address and per-session limits; nil: no limits.
    var connections: ConnectionLimiter?
    /// One task executor per event loop, for the turns that connections start.
    private let turnExecutors = EventLoopTaskExecutors()

    static let path = "/ws"

    init(hub: SessionHub, hosts: HostPolicy, check: UpgradeCheck, limits: ConnectionLimits, pingInterval: Duration) {
        self.hub = hub
        self.store = hub.store
        self.metrics = hub.metrics
        self.serverVersion = hub.serverVersion
        self.hosts = hosts
        self.check = check
        self.limits = limits
        self.pingInterval = pingInterval
    }

    /// The executor a turn started from a connection on `loop` prefers.
    func turnExecutor(for loop: any EventLoop) -> any TaskExecutor {
        turnExecutors.executor(for: loop)
    }

    /// Decides an upgrade request: the accepted connection's parameters, or nil to refuse it.
    ///
    /// - Parameter peer: the socket's peer address, for the per-address limits and proxies.
    func accept(_ head: HTTPRequest, peer: IPAddress?) async -> UpgradeCheck.Accepted? {
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        do {
            try hosts.check(request)
        } catch {
            metrics.limitReached(.host)
            return nil
        }
        guard request.uri.path == Self.path, let hub, !hub.isShuttingDown else { return nil }
        let accepted = await PeerAddress.$current.withValue(peer) { () async -> UpgradeCheck.Accepted? in
            try? await check.check(request)
        }
        guard let accepted, self.hub?.isShuttingDown == false else { return nil }
        return accepted
    }

    /// The JSON text of a connection-scoped `error` frame.
    func errorText(_ code: ErrorCode, _ message: String, session: SessionID) -> String {
        ServerEvent(sessionID: session, seq: nil, timestamp: .now(), payload: .error(code: code, message: message)).json
    }

    /// The handler that serves an accepted connection.
    func connection(_ accepted: UpgradeCheck.Accepted, logger: Logger) -> WebSocketConnection {
        WebSocketConnection(endpoint: self, accepted: accepted, logger: logger)
    }
}
