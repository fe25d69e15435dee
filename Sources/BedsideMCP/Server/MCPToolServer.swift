public import BedsideCore
import Foundation
public import Logging
import MCP
public import ServiceLifecycle
import Synchronization

/// Serves a ``Toolset`` (Bedside's built-in FHIR tools) to other agents over MCP Streamable
/// HTTP: one `StatefulHTTPServerTransport` and one `MCP.Server` per MCP session.
///
/// Every tool is served read-only (annotated `readOnlyHint`). Calls run with a
/// ``ToolCallContext`` whose session is `mcp-<MCP session id>` owned by the MCP client's
/// principal, so the access audit of an MCP session reads at `GET /sessions/mcp-<id>/audit` by
/// that principal and records who read; MCP session ids never collide with chat sessions,
/// which the browser names itself. A session is bound to the principal that opened it.
///
/// At most ``MCPSessionLimits/maxSessions`` sessions are open at once: one more `initialize` is
/// answered HTTP 429 with a JSON-RPC error and `Retry-After`. A session ends with `DELETE /mcp`,
/// or once it has gone ``MCPSessionLimits/idleTimeout`` without a request; its id then answers
/// 404, so that the client initializes again. A session is never ended while one of its
/// requests is being answered.
///
/// As a `Service`, ``run()`` ends idle sessions as they expire, with no request needed, on the
/// injected clock; on graceful shutdown it ends every session and returns. Without it running,
/// idle sessions are still ended at the next request to the endpoint.
///
/// What it deliberately does not do: check the `Origin` header. The HTTP server applies the
/// same Origin allow-list to `/mcp` as to every other route before the request gets here.
public final class MCPToolServer: MCPEndpoint, Service {
    private let sessions: SessionMap
    private let limits: Mutex<MCPSessionLimits>
    private let clock: ElapsedClock

    /// - Parameter clock: what idle time is measured on and the sweep of idle sessions
    ///   sleeps on; the continuous clock by default.
    public init(
        tools: any Toolset,
        version: String,
        limits: MCPSessionLimits = MCPSessionLimits(),
        clock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) {
        let clock = ElapsedClock(clock)
        self.sessions = SessionMap(tools: tools, version: version, clock: clock, logger: logger)
        self.limits = Mutex(limits)
        self.clock = clock
    }

    public func apply(_ limits: MCPSessionLimits) {
        self.limits.withLock { $0 = limits }
    }

    public func handle(_ request: EndpointRequest) async -> EndpointResponse {
        let response = await sessions.handle(
            HTTPRequest(
                method: request.method,
                headers: request.headers,
                body: request.body.isEmpty ? nil : Data(request.body),
                path: request.path
            ),
            principal: request.principal,
            limits: limits.withLock { $0 }
        )
        var headers = response.headers
        if case .error = response { headers["Content-Type"] = "application/json" }
        switch response {
        case .stream(let stream, _):
            let chunks = AsyncThrowingStream<[UInt8], any Error> { continuation in
                let task = Task {
                    do {
                        for try await data in stream { continuation.yield([UInt8](data)) }
                        continuation.finish()
                    } catch {
                        continuation.finish(throwing: error)
                    }
                }
                continuation.onTermination = { _ in task.cancel() }
            }
            return EndpointResponse(status: response.statusCode, headers: headers, body: .stream(chunks))
        default:
            return EndpointResponse(status: response.statusCode, headers: headers, body: .bytes([UInt8](response.bodyData ?? Data())))
        }
    }

    /// How many MCP sessions are open.
    public func sessionCount() async -> Int {
        await sessions.count
    }

    /// Ends every session and its event streams, for shutdown.
    public func shutdown() async {
        await sessions.closeAll()
    }

    /// Ends each idle session once it has gone the idle timeout without a request, until
    /// graceful shutdown or cancellation; then ends every session.
    ///
    /// It sleeps until the earliest moment a session can expire: the oldest session's expiry,
    /// or a whole idle timeout from now when there is none (a session opened meanwhile expires
    /// no sooner). The limits are those given before the server starts.
    public func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { [self] in
                while true {
                    let wait = await sessions.closeIdle(limits.withLock { $0 })
                    do {
                        try await clock.sleep(for: wait)
                    } catch {
                        return
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await sessions.closeAll()
    }
}

/// The MCP sessions by id, each with its transport and server.
private actor SessionMap {
    private struct Entry {
        var transport: StatefulHTTPServerTransport
        var server: Server
        /// When the session last had a request, on the server's clock.
        var lastUsed: Duration
        /// Its requests being answered: a session is not idle while it has one.
        var inFlight = 0
        /// The key of the principal that opened the session: only they may use it.
        var principal: String
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    private let tools: any Toolset
    private let version: String
    private let logger: Logger
    private let clock: ElapsedClock
    private var entries: [String: Entry] = [:]
    /// Sessions being opened: they count against the limit before they are in `entries`.
    private var opening = 0

    init(tools: any Toolset, version: String, clock: ElapsedClock, logger: Logger) {
        self.tools = tools
        self.version = version
        self.clock = clock
        self.logger = logger
    }

    var count: Int { entries.count }

    func handle(_ request: HTTPRequest, principal: String, limits: MCPSessionLimits) async -> HTTPResponse {
        _ = await closeIdle(limits)
        // Another principal's session id answers as an unknown one: nothing of it shows.
        if let id = request.header(HTTPHeaderName.sessionID), let entry = entries[id], entry.principal == principal {
            entries[id]?.lastUsed = clock.elapsed()
            entries[id]?.inFlight += 1
            let response = await entry.transport.handleRequest(request)
            // A long request (a slow tool) counts as use until it is answered.
            entries[id]?.lastUsed = clock.elapsed()
            entries[id]?.inFlight -= 1
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                entries[id] = nil
                await entry.server.stop()
            }
            return response
        }
        if request.method.uppercased() == "POST", let body = request.body, jsonRPCMethod(body) == "initialize" {
            if limits.maxSessions > 0, entries.count + opening >= limits.maxSessions {
                limits.onLimit(.refused)
                return refusal(limits)
            }
            // The slot is held while the session starts (the actor takes other requests meanwhile).
            opening += 1
            defer { opening -= 1 }
            return await open(request, principal: principal)
        }
        if request.header(HTTPHeaderName.sessionID) != nil {
            return .error(statusCode: 404, .invalidRequest("Not Found: the MCP session is unknown or expired; initialize again."))
        }
        return .error(statusCode: 400, .invalidRequest("Bad Request: send initialize first, or the Mcp-Session-Id header."))
    }

    private func open(_ request: HTTPRequest, principal: String) async -> HTTPResponse {
        let id = UUID().uuidString.lowercased()
        let transport = StatefulHTTPServerTransport(
            sessionIDGenerator: FixedSessionID(id: id),
            // The Origin rule is the HTTP server's own allow-list, applied before this point.
            validationPipeline: StandardValidationPipeline(validators: [
                AcceptHeaderValidator(mode: .sseRequired),
                ContentTypeValidator(),
                ProtocolVersionValidator(),
                SessionValidator(),
            ]),
            logger: logger
        )
        let server = await makeServer(sessionID: id, principal: principal)
        do {
            try await server.start(transport: transport)
        } catch {
            await transport.disconnect()
            return .error(statusCode: 500, .internalError("Cannot open an MCP session: \(error)"))
        }
        entries[id] = Entry(transport: transport, server: server, lastUsed: clock.elapsed(), principal: principal)
        let response = await transport.handleRequest(request)
        if case .error = response {
            entries[id] = nil
            await server.stop()
            await transport.disconnect()
        } else {
            logger.info("MCP session opened", metadata: ["mcp.session.id": "\(id)"])
        }
        return response
    }

    private func makeServer(sessionID: String, principal: String) async -> Server {
        let server = Server(
            name: "bedside",
            version: version,
            title: "Bedside FHIR tools",
            instructions: "Read-only tools over the clinical data Bedside holds (FHIR R4).",
            capabilities: .init(tools: .init(listChanged: false))
        )
        let tools = self.tools
        let auditSession = SessionID("mcp-\(sessionID)", owner: principal)
        await server.withMethodHandler(ListTools.self) { _ in
            let definitions = try await tools.definitions()
            return ListTools.Result(
                tools: definitions.map { definition in
                    Tool(
                        name: definition.name,
                        description: definition.description,
                        inputSchema: definition.parameters.mcpValue,
                        annotations: .init(readOnlyHint: true, openWorldHint: false)
                    )
                }
            )
        }
        await server.withMethodHandler(CallTool.self) { params in
            let arguments = JSONValue.object((params.arguments ?? [:]).mapValues(JSONValue.init))
            let context = auditSession.map { ToolCallContext(sessionID: $0, turnID: nil, toolCallID: nil) }
            do {
                let output = try await ToolCallContext.$current.withValue(context) {
                    try await tools.call(params.name, arguments: arguments)
                }
                return CallTool.Result(content: [.text(text: output.content, annotations: nil, _meta: nil)], isError: output.isError)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return CallTool.Result(content: [.text(text: "\(error)", annotations: nil, _meta: nil)], isError: true)
            }
        }
        return server
    }

    /// The answer to an `initialize` while `maxSessions` are open: 429, with `Retry-After` the
    /// seconds until the least recently used session would expire.
    private func refusal(_ limits: MCPSessionLimits) -> HTTPResponse {
        let now = clock.elapsed()
        let oldest = entries.values.map(\.lastUsed).min() ?? now
        let wait = oldest + limits.idleTimeout - now
        let seconds = max(1, Int((wait / .seconds(1)).rounded(.up)))
        return .error(
            statusCode: 429,
            .serverError(
                code: -32000,
                message: "Too many MCP sessions: at most \(limits.maxSessions) (--max-mcp-sessions) are open. "
                    + "End one with DELETE /mcp, or retry later."
            ),
            extraHeaders: ["Retry-After": "\(seconds)"]
        )
    }

    /// Ends the sessions that have gone `idleTimeout` without a request and have none being
    /// answered; returns how long until the next one can expire.
    func closeIdle(_ limits: MCPSessionLimits) async -> Duration {
        let cutoff = clock.elapsed() - limits.idleTimeout
        for id in entries.keys {
            // Looked up afresh: a request may have used it while an earlier one was closing.
            guard let entry = entries[id], entry.lastUsed <= cutoff, entry.inFlight == 0 else { continue }
            entries[id] = nil
            limits.onLimit(.expired)
            logger.info("MCP session closed after idling", metadata: ["mcp.session.id": "\(id)"])
            await entry.server.stop()
            await entry.transport.disconnect()
        }
        // A session in use counts from now: it is seen again by then at the latest.
        let now = clock.elapsed()
        let next = entries.values.map { $0.inFlight > 0 ? now : $0.lastUsed }.min() ?? now
        return max(next + limits.idleTimeout - now, .milliseconds(1))
    }

    func closeAll() async {
        for (_, entry) in entries {
            await entry.server.stop()
            await entry.transport.disconnect()
        }
        entries = [:]
    }
}
