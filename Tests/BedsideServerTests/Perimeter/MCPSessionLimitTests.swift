import BedsideCore
import BedsideMCP
import BedsideServer
import BedsideStore
import Foundation
import Testing

/// `/mcp` sessions over the real MCP wire: before, every `initialize` opened one more (47 in
/// the audit, without end); now there is a cap, answered 429 with a JSON-RPC error and
/// `Retry-After`, and an unused session ends (its id then answers 404).
@Suite struct MCPSessionLimitTests {
    static let headers = ["Accept": "application/json, text/event-stream", "Content-Type": "application/json"]
    static let listTools = Data(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.utf8)

    static func start(configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> (LiveServer, MCPToolServer) {
        let endpoint = MCPToolServer(
            tools: MCPEndpointTests.AuditingTools(audit: InMemoryEventStore()),
            version: "test",
            logger: MCPEndpointTests.logger
        )
        return (try await LiveServer.start(mcpEndpoint: endpoint, configure: configure), endpoint)
    }

    static func initialize(_ server: LiveServer) async throws -> HTTPResponseText {
        try await server.post("/mcp", body: MCPEndpointTests.initialize, headers: headers)
    }

    static func expectRefused(_ answer: HTTPResponseText, naming limit: Int) throws {
        #expect(answer.status == 429)
        let retry = try #require(answer.headers["retry-after"].flatMap { Int($0) })
        #expect(retry >= 1)
        let body = try JSONValue.parse(answer.body)
        #expect(body["jsonrpc"] == .string("2.0"))
        #expect(body["error"]?["code"] == .integer(-32000))
        #expect(body["error"]?["message"]?.stringValue?.contains("at most \(limit) (--max-mcp-sessions)") == true, "\(answer.body)")
    }

    @Test func theSixtyFifthSessionIsRefusedAtTheDefault() async throws {
        let (server, endpoint) = try await Self.start()
        var ids: [String] = []
        for _ in 0..<64 {
            let opened = try await Self.initialize(server)
            #expect(opened.status == 200)
            ids.append(try #require(opened.headers["mcp-session-id"]))
        }
        try Self.expectRefused(try await Self.initialize(server), naming: 64)
        #expect(await endpoint.sessionCount() == 64)
        #expect(try await ConnectionLimitTests.refusals(server, "mcp_sessions") == 1)
        // Ending a session makes room for the next.
        let deleted = try await HTTPGet.perform(port: server.port, method: "DELETE", path: "/mcp", headers: ["Mcp-Session-Id": ids[0]])
        #expect(deleted.status == 200)
        #expect(try await Self.initialize(server).status == 200)
        try await server.stop()
    }

    @Test func aConfiguredCap() async throws {
        let (server, endpoint) = try await Self.start { $0.limits.maxMCPSessions = 2 }
        let first = try #require(try await Self.initialize(server).headers["mcp-session-id"])
        _ = try #require(try await Self.initialize(server).headers["mcp-session-id"])
        try Self.expectRefused(try await Self.initialize(server), naming: 2)
        #expect(await endpoint.sessionCount() == 2)
        // The open sessions are unaffected.
        var using = Self.headers
        using["Mcp-Session-Id"] = first
        #expect(try await server.post("/mcp", body: Self.listTools, headers: using).status == 200)
        try await server.stop()
    }

    @Test func anUnusedSessionEndsAndItsIDAnswers404() async throws {
        let (server, endpoint) = try await Self.start { $0.limits.mcpSessionIdleTimeout = .milliseconds(300) }
        let first = try #require(try await Self.initialize(server).headers["mcp-session-id"])
        _ = try #require(try await Self.initialize(server).headers["mcp-session-id"])
        // Any request to the endpoint ends the sessions unused for longer than the timeout.
        let deadline = ContinuousClock.now + .seconds(20)
        while await endpoint.sessionCount() > 0 {
            guard ContinuousClock.now < deadline else { throw TestFailure("the sessions did not end") }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await server.post("/mcp", body: Self.listTools, headers: Self.headers).status == 400)
        }
        var stale = Self.headers
        stale["Mcp-Session-Id"] = first
        #expect(try await server.post("/mcp", body: Self.listTools, headers: stale).status == 404)
        #expect(try await ConnectionLimitTests.refusals(server, "mcp_session_idle") == 2)
        // The client initializes again.
        #expect(try await Self.initialize(server).status == 200)
        try await server.stop()
    }

    @Test func theDefaultIdleTimeoutIsTenMinutes() {
        #expect(ServerLimits().mcpSessionIdleTimeout == .seconds(600))
        #expect(MCPSessionLimits().idleTimeout == .seconds(600))
        #expect(MCPSessionLimits().maxSessions == ServerLimits().maxMCPSessions)
    }

    @Test func zeroIsUnlimited() async throws {
        let (server, endpoint) = try await Self.start { $0.limits.maxMCPSessions = 0 }
        for _ in 0..<70 { #expect(try await Self.initialize(server).status == 200) }
        #expect(await endpoint.sessionCount() == 70)
        try await server.stop()
    }
}
