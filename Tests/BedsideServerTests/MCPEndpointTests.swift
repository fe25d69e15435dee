import BedsideCore
import BedsideMCP
import BedsideServer
import BedsideStore
import Foundation
import Logging
import Synchronization
import Testing

/// Bedside's own MCP server at `/mcp`, used by Bedside's MCP client over Streamable HTTP and
/// by raw HTTP requests; and the agent using another Bedside's tools through MCP.
@Suite struct MCPEndpointTests {
    /// A read tool that audits what it reads and remembers the sessions it was called for.
    final class AuditingTools: Toolset {
        let audit: any AccessAudit
        let sessions = Mutex<[String]>([])

        init(audit: any AccessAudit) { self.audit = audit }

        func definitions() async throws -> [ToolDefinition] {
            [ToolDefinition(name: "count_conditions", description: "Counts conditions.", parameters: ["type": "object"])]
        }

        func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
            let context = try #require(ToolCallContext.current)
            sessions.withLock { $0.append(context.sessionID.rawValue) }
            let patient = arguments["patient"]?.stringValue ?? "?"
            try await audit.record(
                AccessRecord(
                    sessionID: context.sessionID,
                    turnID: context.turnID,
                    toolCallID: context.toolCallID,
                    tool: name,
                    patientIDs: [patient],
                    resources: ["Condition/\(patient)-c1"],
                    timeMicros: 1_764_064_322_123_456
                )
            )
            return ToolOutput(content: #"{"active_conditions":1,"patient":"\#(patient)"}"#)
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "bedside-mcp-test")
        logger.logLevel = ProcessInfo.processInfo.environment["BEDSIDE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        return logger
    }

    static func client(_ name: String, port: Int) throws -> MCPToolset {
        let servers = try MCPServerConfiguration.parse(#"{"mcpServers": {"\#(name)": {"url": "http://127.0.0.1:\#(port)/mcp"}}}"#)
        return MCPToolset(servers: servers, logger: logger)
    }

    static func connected<T: Sendable>(_ tools: MCPToolset, _ body: () async throws -> T) async throws -> T {
        let running = Task { await tools.run() }
        defer { running.cancel() }
        #expect(await tools.waitUntilReady())
        let result = try await body()
        running.cancel()
        await running.value
        return result
    }

    static let initialize = Data(
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#
            .utf8
    )

    @Test func toolsAreServedAuditedAndReportedInReady() async throws {
        let store = InMemoryEventStore()
        let tools = AuditingTools(audit: store)
        let endpoint = MCPToolServer(tools: tools, version: "test", logger: Self.logger)
        let client = MCPToolsetBox()
        let server = try await LiveServer.start(store: store, mcpEndpoint: endpoint, toolSources: client)
        let mcp = try Self.client("bedside", port: server.port)
        client.set(mcp)
        try await Self.connected(mcp) { () async throws in
            let definitions = try await mcp.definitions()
            #expect(definitions.map(\.name) == ["bedside__count_conditions"])
            let output = try await mcp.call("bedside__count_conditions", arguments: .object(["patient": .string("p-9")]))
            #expect(output == ToolOutput(content: #"{"active_conditions":1,"patient":"p-9"}"#))

            let session = try #require(tools.sessions.withLock { $0.first })
            #expect(session.hasPrefix("mcp-"))
            let (status, body) = try await server.get("/sessions/\(session)/audit")
            #expect(status == 200)
            guard case .array(let records)? = try JSONValue.parse(body)["records"] else {
                Issue.record("no records in \(body)")
                return
            }
            #expect(records.first?["tool"] == .string("count_conditions"))
            #expect(records.first?["patient_ids"] == .array([.string("p-9")]))

            let (readyStatus, readyBody) = try await server.get("/ready")
            #expect(readyStatus == 200)
            let ready = try JSONValue.parse(readyBody)
            guard case .array(let sources)? = ready["mcp"], let source = sources.first else {
                Issue.record("no mcp in \(readyBody)")
                return
            }
            #expect(source["name"] == .string("bedside"))
            #expect(source["transport"] == .string("http"))
            #expect(source["state"] == .string("ready"))
            #expect(source["tools"] == .integer(1))
            #expect(await endpoint.sessionCount() == 1)
        }
        // Disconnecting ends the MCP session with DELETE.
        #expect(await endpoint.sessionCount() == 0)
        try await server.stop()
    }

    @Test func foreignOriginsAndUnknownSessionsAreRefused() async throws {
        let endpoint = MCPToolServer(tools: AuditingTools(audit: InMemoryEventStore()), version: "test", logger: Self.logger)
        let server = try await LiveServer.start(mcpEndpoint: endpoint)
        let headers = ["Accept": "application/json, text/event-stream", "Content-Type": "application/json"]
        var foreign = headers
        foreign["Origin"] = "https://evil.example"
        let refused = try await server.post("/mcp", body: Self.initialize, headers: foreign)
        #expect(refused.status == 403)
        #expect(refused.body.contains("origin_not_allowed"))
        #expect(await endpoint.sessionCount() == 0)

        var own = headers
        own["Origin"] = "http://127.0.0.1:\(server.port)"
        let accepted = try await server.post("/mcp", body: Self.initialize, headers: own)
        #expect(accepted.status == 200)
        let sessionID = try #require(accepted.headers["mcp-session-id"])
        #expect(accepted.headers["content-type"]?.hasPrefix("text/event-stream") == true)

        let noSession = try await server.post("/mcp", body: Data(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.utf8), headers: headers)
        #expect(noSession.status == 400)
        var unknown = headers
        unknown["Mcp-Session-Id"] = "no-such-session"
        let stale = try await server.post("/mcp", body: Data(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.utf8), headers: unknown)
        #expect(stale.status == 404)

        let deleted = try await HTTPGet.perform(port: server.port, method: "DELETE", path: "/mcp", headers: ["Mcp-Session-Id": sessionID])
        #expect(deleted.status == 200)
        #expect(await endpoint.sessionCount() == 0)
        try await server.stop()
    }

    @Test func mcpToolCallsShowTheirServerInTurnEvents() async throws {
        let store = InMemoryEventStore()
        let remote = try await LiveServer.start(
            store: store,
            mcpEndpoint: MCPToolServer(tools: AuditingTools(audit: store), version: "test", logger: Self.logger)
        )
        let mcp = try Self.client("chart", port: remote.port)
        try await Self.connected(mcp) { () async throws in
            let model = ScriptedModel([
                [
                    .event(
                        .toolCallDelta(
                            ToolCallDelta(index: 0, id: "call-1", name: "chart__count_conditions", argumentsFragment: #"{"patient":"p-2"}"#)
                        )
                    ),
                    .event(.finish(.toolCalls)),
                ],
                ScriptedModel.answer("One.", usage: .zero),
            ])
            let server = try await LiveServer.start(runner: AgentTurnRunner(model: model, tools: CompositeToolset([NoTools(), mcp])))
            let session = newSessionID()
            let socket = try await server.open(session)
            try await socket.send(Frame.message(session, "Conditions of p-2?"))
            let events = try await socket.receiveTurn()
            #expect(events.last?.status == "completed")
            let call = try #require(events.first { $0.type == "tool_call" })
            #expect(call["tool_name"] == .string("chart__count_conditions"))
            #expect(call["server"] == .string("chart"))
            let result = try #require(events.first { $0.type == "tool_result" })
            #expect(result["server"] == .string("chart"))
            #expect(result["is_error"] == .bool(false))
            #expect(result["result"]?.stringValue?.contains("p-2") == true)
            try await server.stop()
        }
        try await remote.stop()
    }
}

/// A status provider set after the server starts (the client needs the server's port).
final class MCPToolsetBox: ToolSourceStatusProvider {
    private let toolset = Mutex<MCPToolset?>(nil)

    func set(_ value: MCPToolset) { toolset.withLock { $0 = value } }

    func toolSourceStatuses() async -> [ToolSourceStatus] {
        await toolset.withLock { $0 }?.toolSourceStatuses() ?? []
    }
}
