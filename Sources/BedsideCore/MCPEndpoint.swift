/// An HTTP endpoint served by a module that does not depend on the HTTP server: the seam through
/// which the server mounts Bedside's MCP endpoint at `/mcp`.
///
/// The server applies its own rules (the Origin allow-list, body limits) before handing a
/// request over, and turns the response back into HTTP, streaming it when it is a stream.
public protocol MCPEndpoint: Sendable {
    /// Answers one HTTP request.
    func handle(_ request: EndpointRequest) async -> EndpointResponse

    /// Ends every session and its streams, for a graceful shutdown.
    func shutdown() async
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
