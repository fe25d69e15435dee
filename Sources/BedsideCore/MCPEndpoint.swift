/// An HTTP endpoint served by a module that does not depend on the HTTP server: the seam through
/// which the server mounts Bedside's MCP endpoint at `/mcp`.
///
/// The server applies its own rules (the Host check, the Origin allow-list, body limits) before
/// handing a request over, and turns the response back into HTTP, streaming it when it is a
/// stream. Its session limits it hands over once, with ``apply(_:)``.
public protocol MCPEndpoint: Sendable {
    /// Answers one HTTP request.
    func handle(_ request: EndpointRequest) async -> EndpointResponse

    /// Ends every session and its streams, for a graceful shutdown.
    func shutdown() async

    /// Adopts the server's limits on sessions; the server calls it once, when it is built,
    /// before any request. An endpoint without sessions may ignore it (the default does).
    func apply(_ limits: MCPSessionLimits)
}

extension MCPEndpoint {
    public func apply(_ limits: MCPSessionLimits) {}
}

/// The server's limits on MCP sessions (`--max-mcp-sessions`, `--mcp-session-idle-seconds`),
/// and where to tell that one refused or ended a session.
public struct MCPSessionLimits: Sendable {
    /// What a limit did to a session.
    public enum Event: Sendable {
        /// An `initialize` was refused (HTTP 429) because `maxSessions` are open.
        case refused
        /// A session was ended because it went unused for `idleTimeout`.
        case expired
    }

    /// Sessions open at once; 0 is unlimited. Default 64.
    public var maxSessions: Int
    /// How long a session may go without a request before it is ended. Default 600 s.
    public var idleTimeout: Duration
    /// Called for each refused or expired session (the server counts them in `/metrics`).
    public var onLimit: @Sendable (Event) -> Void

    public init(maxSessions: Int = 64, idleTimeout: Duration = .seconds(600), onLimit: @escaping @Sendable (Event) -> Void = { _ in }) {
        self.maxSessions = maxSessions
        self.idleTimeout = idleTimeout
        self.onLimit = onLimit
    }
}

/// One HTTP request as the ``MCPEndpoint`` sees it.
public struct EndpointRequest: Sendable {
    /// `GET`, `POST` or `DELETE`.
    public var method: String
    public var path: String
    /// Header fields by name; a repeated field keeps its last value.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The key of the caller's principal (`local` without authentication): an MCP session
    /// belongs to the principal that opened it, and its audit records them.
    public var principal: String

    public init(
        method: String,
        path: String,
        headers: [String: String],
        body: [UInt8],
        principal: String = SessionID.localOwner
    ) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.principal = principal
    }
}

/// What an ``MCPEndpoint`` answered: a status, header fields, and a body that is either whole
/// or a stream of chunks (server-sent events).
public struct EndpointResponse: Sendable {
    /// The body of a response.
    public enum Body: Sendable {
        case bytes([UInt8])
        case stream(AsyncThrowingStream<[UInt8], any Error>)
    }

    public var status: Int
    public var headers: [String: String]
    public var body: Body

    public init(status: Int, headers: [String: String] = [:], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
