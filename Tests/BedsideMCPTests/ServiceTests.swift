import BedsideCore
import BedsideMCP
import BedsideTestSupport
import Foundation
import Logging
import MCP
import ServiceLifecycle
import Synchronization
import Testing

/// The MCP toolset and the `/mcp` session map as services of one `ServiceGroup`, as the
/// `bedside` executable runs them.
@Suite("MCP services")
struct ServiceTests {
    /// Stands in for the session hub, which starts after the toolset: on graceful shutdown it
    /// lets its running turn finish, and that turn still calls a tool.
    struct Turns: Service {
        let tools: MCPToolset
        let log: Log

        func run() async throws {
            try? await gracefulShutdown()
            let output = try await tools.call("mem__lookup", arguments: .object(["id": .string("p-9")]))
            log.append("the last turn's tool call: \(output.content)")
        }
    }

    @Test("graceful shutdown stops the toolset after the services started after it")
    func toolsetStopsAfterTheHub() async throws {
        let log = Log()
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = await InMemoryClientTests.makeServer()
        try await server.start(transport: serverSide)
        let transport = RecordingTransport(clientSide, log: log)
        let config = MCPServerConfiguration(
            name: "mem",
            transport: .stdio(command: "unused", arguments: [], environment: [:], workingDirectory: nil)
        )
        let tools = MCPToolset(servers: [config], transports: ["mem": { transport }], logger: Fixture.logger)
        let group = ServiceGroup(services: [tools, Turns(tools: tools, log: log)], logger: Fixture.logger)
        try await withThrowingTaskGroup(of: Void.self) { running in
            running.addTask { try await group.run() }
            #expect(await tools.waitUntilReady())
            await group.triggerGracefulShutdown()
            try await running.waitForAll()
        }
        #expect(log.all == ["the last turn's tool call: found p-9", "toolset disconnected"])
        #expect(try await tools.definitions().isEmpty)
        await server.stop()
    }

    /// A tool for the `/mcp` server to serve.
    struct Echo: Toolset {
        func definitions() async throws -> [ToolDefinition] {
            [ToolDefinition(name: "echo", description: "Echoes.", parameters: .object(["type": .string("object")]))]
        }

        func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput { ToolOutput(content: "echo") }
    }

    static let headers = ["Accept": "application/json, text/event-stream", "Content-Type": "application/json"]

    /// Opens an MCP session on `server`; returns its id.
    static func open(_ server: MCPToolServer) async throws -> String {
        let body =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#
        let response = await server.handle(EndpointRequest(method: "POST", path: "/mcp", headers: headers, body: Array(body.utf8)))
        #expect(response.status == 200)
        let id = try #require(response.headers.first { $0.key.lowercased() == "mcp-session-id" }?.value)
        if case .stream(let chunks) = response.body {
            // The answer comes as one event; the stream is let go after it.
            for try await _ in chunks { break }
        }
        return id
    }

    /// Sends `tools/list` in session `id`; returns the status.
    static func listTools(_ server: MCPToolServer, session id: String) async -> Int {
        var headers = Self.headers
        headers["Mcp-Session-Id"] = id
        let body = Array(#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.utf8)
        return await server.handle(EndpointRequest(method: "POST", path: "/mcp", headers: headers, body: body)).status
    }

    @Test("idle sessions end as they expire, with no request to the endpoint, on the server's clock")
    func periodicSweep() async throws {
        let clock = TestClock()
        let expired = Log()
        let server = MCPToolServer(
            tools: Echo(),
            version: "test",
            limits: MCPSessionLimits(idleTimeout: .seconds(60), onLimit: { if $0 == .expired { expired.append("expired") } }),
            clock: clock,
            logger: Fixture.logger
        )
        let group = ServiceGroup(services: [server], logger: Fixture.logger)
        try await withThrowingTaskGroup(of: Void.self) { running in
            running.addTask { try await group.run() }
            // With no session, the sweep sleeps a whole idle timeout.
            try await clock.waitForSleeper { $0 == .seconds(60) }
            let first = try await Self.open(server)
            clock.advance(by: .seconds(30))
            #expect(await Self.listTools(server, session: first) == 200)
            let second = try await Self.open(server)
            // At 60 s nothing has idled for 60 s: the sweep sleeps until both sessions expire.
            clock.advance(by: .seconds(30))
            try await clock.waitForSleeper { $0 == .seconds(30) }
            #expect(await server.sessionCount() == 2)
            #expect(expired.all.isEmpty)
            // At 90 s both have: they end with no request.
            clock.advance(by: .seconds(30))
            #expect(await eventually { await server.sessionCount() == 0 })
            #expect(expired.all == ["expired", "expired"])
            #expect(await Self.listTools(server, session: first) == 404)
            #expect(await Self.listTools(server, session: second) == 404)
            await group.triggerGracefulShutdown()
            try await running.waitForAll()
        }
    }

    @Test("graceful shutdown ends every open session, and the service returns")
    func shutdownEndsSessions() async throws {
        let server = MCPToolServer(tools: Echo(), version: "test", clock: TestClock(), logger: Fixture.logger)
        let group = ServiceGroup(services: [server], logger: Fixture.logger)
        try await withThrowingTaskGroup(of: Void.self) { running in
            running.addTask { try await group.run() }
            let id = try await Self.open(server)
            #expect(await server.sessionCount() == 1)
            await group.triggerGracefulShutdown()
            try await running.waitForAll()
            #expect(await server.sessionCount() == 0)
            #expect(await Self.listTools(server, session: id) == 404)
        }
    }
}
