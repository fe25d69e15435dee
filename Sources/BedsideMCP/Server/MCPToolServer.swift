public import BedsideCore
import Foundation
public import Logging
import MCP

/// Serves a ``Toolset`` (Bedside's built-in FHIR tools) to other agents over MCP Streamable
/// HTTP: one `StatefulHTTPServerTransport` and one `MCP.Server` per MCP session.
///
/// Every tool is served read-only (annotated `readOnlyHint`). Calls run with a
/// ``ToolCallContext`` whose session is `mcp-<MCP session id>` owned by the MCP client's
/// principal, so the access audit of an MCP session reads at `GET /sessions/mcp-<id>/audit` by
/// that principal and records who read; MCP session ids never collide with chat sessions,
/// which the browser names itself. A session is bound to the principal that opened it. A session ends with `DELETE /mcp` or after
/// `idleTimeout` without a request.
///
/// What it deliberately does not do: check the `Origin` header. The HTTP server applies the
/// same Origin allow-list to `/mcp` as to every other route before the request gets here.
public final class MCPToolServer: MCPEndpoint {
    private let sessions: SessionMap

    public init(tools: any Toolset, version: String, idleTimeout: Duration = .seconds(3600), logger: Logger) {
        self.sessions = SessionMap(tools: tools, version: version, idleTimeout: idleTimeout, logger: logger)
    }

    public func handle(_ request: EndpointRequest) async -> EndpointResponse {
        let response = await sessions.handle(
            HTTPRequest(
                method: request.method,
                headers: request.headers,
                body: request.body.isEmpty ? nil : Data(request.body),
                path: request.path
            ),
            principal: request.principal
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
}

/// The MCP sessions by id, each with its transport and server.
private actor SessionMap {
    private struct Entry {
        var transport: StatefulHTTPServerTransport
        var server: Server
        var lastUsed: ContinuousClock.Instant
        /// The key of the principal that opened the session: only they may use it.
        var principal: String
    }

    private struct FixedSessionID: SessionIDGenerator {
        let id: String
        func generateSessionID() -> String { id }
    }

    private let tools: any Toolset
    private let version: String
    private let idleTimeout: Duration
    private let logger: Logger
    private var entries: [String: Entry] = [:]

    init(tools: any Toolset, version: String, idleTimeout: Duration, logger: Logger) {
        self.tools = tools
        self.version = version
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    var count: Int { entries.count }

    func handle(_ request: HTTPRequest, principal: String) async -> HTTPResponse {
        await closeIdle()
        // Another principal's session id answers as an unknown one: nothing of it shows.
        if let id = request.header(HTTPHeaderName.sessionID), var entry = entries[id], entry.principal == principal {
            entry.lastUsed = .now
            entries[id] = entry
            let response = await entry.transport.handleRequest(request)
            if request.method.uppercased() == "DELETE", response.statusCode == 200 {
                entries[id] = nil
                await entry.server.stop()
            }
            return response
        }
        if request.method.uppercased() == "POST", let body = request.body, jsonRPCMethod(body) == "initialize" {
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
        entries[id] = Entry(transport: transport, server: server, lastUsed: .now, principal: principal)
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

    private func closeIdle() async {
        let cutoff = ContinuousClock.now - idleTimeout
        for (id, entry) in entries where entry.lastUsed < cutoff {
            entries[id] = nil
            await entry.server.stop()
            await entry.transport.disconnect()
            logger.info("MCP session closed after idling", metadata: ["mcp.session.id": "\(id)"])
        }
    }

    func closeAll() async {
        for (_, entry) in entries {
            await entry.server.stop()
            await entry.transport.disconnect()
        }
        entries = [:]
    }
}
