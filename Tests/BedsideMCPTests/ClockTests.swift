import BedsideCore
import BedsideMCP
import BedsideTestSupport
import Foundation
import MCP
import Synchronization
import Testing

/// The toolset's reconnect backoff and call timeout wait on the clock it is given: on a
/// ``TestClock`` they pass only when the test moves the clock, and at once when it does.
@Suite("MCP timeouts and backoff on a test clock")
struct ClockTests {
    static let config = MCPServerConfiguration(
        name: "mem",
        transport: .stdio(command: "unused", arguments: [], environment: [:], workingDirectory: nil)
    )

    @Test("a refused server is retried after a backoff that doubles, then its tools are offered")
    func backoffDoubles() async throws {
        let clock = TestClock()
        let attempts = Log()
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = await InMemoryClientTests.makeServer()
        try await server.start(transport: serverSide)
        let next = Mutex<[any MCP.Transport]>([
            RefusingTransport(attempts: attempts), RefusingTransport(attempts: attempts), clientSide,
        ])
        let tools = MCPToolset(
            servers: [Self.config],
            reconnectDelay: .seconds(10),
            maxReconnectDelay: .seconds(300),
            clock: clock,
            transports: ["mem": { next.withLock { $0.count > 1 ? $0.removeFirst() : $0[0] } }],
            logger: Fixture.logger
        )
        try await withRunning(tools) { () async throws in
            // The 30 s connect timeout sleeps too; the backoff is the shorter sleep.
            let first = try await clock.waitForSleeper { $0 <= .seconds(10) }
            #expect(first >= .seconds(5) && first <= .seconds(10), "the first delay is 10 s with jitter: \(first)")
            #expect(attempts.all.count == 1)
            let status = try #require(await tools.toolSourceStatuses().first)
            #expect(status.state == .reconnecting)
            #expect(status.lastError?.contains("connection refused") == true)
            clock.advance(by: first)
            let second = try await clock.waitForSleeper { $0 <= .seconds(20) }
            #expect(second >= .seconds(10) && second <= .seconds(20), "the second delay is 20 s with jitter: \(second)")
            #expect(attempts.all.count == 2)
            #expect(await tools.toolSourceStatuses().first?.state == .failed)
            clock.advance(by: second)
            #expect(await tools.waitUntilReady())
            #expect(try await tools.definitions().map(\.name) == ["mem__lookup"])
            #expect(attempts.all.count == 2)
        }
        await server.stop()
    }

    @Test("a call past its timeout on the clock is a tool error, and the server hears the cancellation")
    func callTimeout() async throws {
        let clock = TestClock()
        let heard = Log()
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = Server(name: "memory", version: "1", capabilities: .init(tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: [
                Tool(name: "hang", description: "Never answers.", inputSchema: .object([:]), annotations: .init(readOnlyHint: true))
            ])
        }
        await server.withMethodHandler(CallTool.self) { _ in
            do {
                try await Task.sleep(for: .seconds(600))
            } catch {
                heard.append("hang cancelled")
                throw error
            }
            return CallTool.Result(content: [.text(text: "late", annotations: nil, _meta: nil)])
        }
        try await server.start(transport: serverSide)
        var config = Self.config
        config.callTimeout = .seconds(30)
        let tools = MCPToolset(servers: [config], clock: clock, transports: ["mem": { clientSide }], logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            let call = Task { try await tools.call("mem__hang", arguments: .object([:])) }
            try await clock.waitForSleeper { $0 == .seconds(30) }
            #expect(heard.all.isEmpty)
            clock.advance(by: .seconds(30))
            let output = try await call.value
            #expect(output.isError)
            #expect(output.content == "The MCP server mem did not answer hang within 30 s; the call was cancelled.")
            // The race is over: its timer is gone, and the server was told.
            #expect(clock.pendingSleeps.isEmpty)
            #expect(await eventually { heard.all == ["hang cancelled"] })
            #expect(await tools.toolSourceStatuses().first?.state == .ready)
        }
        await server.stop()
    }
}
