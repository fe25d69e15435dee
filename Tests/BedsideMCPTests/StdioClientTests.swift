import BedsideAgent
import BedsideCore
import BedsideMCP
import Foundation
import Testing

@Suite("MCP client against a stdio server process", .serialized)
struct StdioClientTests {
    @Test("lists read tools, hides the write tool unless allow-listed, and calls them")
    func listAndCall() async throws {
        let log = Fixture.temporaryFile()
        let tools = MCPToolset(
            servers: [Fixture.server("plain", log: log), Fixture.server("allowed", log: log, allowTools: ["write_note"])],
            logger: Fixture.logger
        )
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            let names = Set(try await tools.definitions().map(\.name))
            #expect(names.contains("plain__read_note"))
            #expect(names.contains("plain__get_vitals"))
            #expect(!names.contains("plain__write_note"))
            #expect(names.contains("allowed__write_note"))
            #expect(try await tools.call("plain__read_note", arguments: .object(["id": .string("7")])) == ToolOutput(content: "note 7"))
            #expect(try await tools.call("allowed__write_note", arguments: .object(["text": .string("hi")])).content == "wrote hi")
            let statuses = await tools.toolSourceStatuses()
            #expect(statuses.map(\.hiddenToolCount) == [1, 0])
            #expect(statuses.allSatisfy { $0.state == .ready && $0.transport == "stdio" })
        }
    }

    @Test("re-lists the tools on tools/list_changed")
    func listChanged() async throws {
        let tools = MCPToolset(servers: [Fixture.server(log: Fixture.temporaryFile())], logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            #expect(try await !tools.definitions().map(\.name).contains("fixture__read_extra"))
            #expect(try await tools.call("fixture__reveal_extra", arguments: .object([:])).content == "revealed")
            #expect(await eventually { (try? await tools.definitions().map(\.name).contains("fixture__read_extra")) == true })
            #expect(try await tools.call("fixture__read_extra", arguments: .object([:])).content == "extra")
        }
    }

    @Test("a call past the server's timeout is a tool error, the server hears notifications/cancelled, and the next turn works")
    func timeout() async throws {
        let log = Fixture.temporaryFile()
        // Long enough that the quick call after the slow one answers in time on a loaded machine.
        let tools = MCPToolset(servers: [Fixture.server(log: log, timeout: .seconds(3))], logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            let model = ToolCallingModel([("fixture__slow_read", #"{"seconds": 30}"#), ("fixture__read_note", #"{"id": "2"}"#)])
            let first = await runTurn("wait", model: model, tools: tools)
            #expect(first.end.outcome == .completed)
            let result = try #require(first.results.first)
            #expect(result.output.isError)
            #expect(result.output.content.contains("The MCP server fixture did not answer slow_read within 3 s"))
            #expect(result.server == "fixture")
            #expect(first.callServers == ["fixture"])
            #expect(await eventually { Fixture.lines(of: log).contains { $0.hasPrefix("notifications/cancelled") } })
            #expect(await eventually { Fixture.lines(of: log).contains("slow_read cancelled") })
            let second = await runTurn("again", model: model, tools: tools)
            #expect(second.results.first?.output == ToolOutput(content: "note 2"))
        }
    }

    @Test("cancelling the turn sends notifications/cancelled for the call in flight, and the next turn works")
    func cancel() async throws {
        let log = Fixture.temporaryFile()
        let tools = MCPToolset(servers: [Fixture.server(log: log)], logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            let model = ToolCallingModel([("fixture__slow_read", #"{"seconds": 30}"#), ("fixture__read_note", #"{"id": "3"}"#)])
            let first = await runTurn("wait", model: model, tools: tools, cancelAfter: .seconds(1))
            guard case .cancelled = first.end.outcome else {
                Issue.record("the turn ended \(first.end.outcome)")
                return
            }
            #expect(await eventually { Fixture.lines(of: log).contains { $0.hasPrefix("notifications/cancelled") } })
            let second = await runTurn("again", model: model, tools: tools)
            #expect(second.results.first?.output == ToolOutput(content: "note 3"))
        }
    }

    @Test("a server that dies mid-call gives a tool error naming it, is restarted, and the next turn works")
    func death() async throws {
        let tools = MCPToolset(
            servers: [Fixture.server(log: Fixture.temporaryFile())],
            reconnectDelay: .milliseconds(100),
            logger: Fixture.logger
        )
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            let model = ToolCallingModel([("fixture__crash_read", "{}"), ("fixture__read_note", #"{"id": "4"}"#)])
            let first = await runTurn("crash", model: model, tools: tools)
            #expect(first.end.outcome == .completed)
            let result = try #require(first.results.first)
            #expect(result.output.isError)
            #expect(result.output.content.contains("The MCP server fixture stopped while running crash_read"))
            #expect(await tools.waitUntilReady())
            let second = await runTurn("again", model: model, tools: tools)
            #expect(second.results.first?.output == ToolOutput(content: "note 4"))
        }
    }

    @Test("a server that cannot start is reported as failing, and its tools answer with a clear error")
    func unreachable() async throws {
        let config = MCPServerConfiguration(
            name: "ghost",
            transport: .stdio(command: "/nonexistent/bedside-ghost", arguments: [], environment: [:], workingDirectory: nil)
        )
        let tools = MCPToolset(servers: [config], reconnectDelay: .milliseconds(50), logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await eventually { await tools.toolSourceStatuses().first?.lastError != nil })
            let status = try #require(await tools.toolSourceStatuses().first)
            #expect(status.state != .ready)
            #expect(status.toolCount == 0)
            #expect(try await tools.definitions().isEmpty)
            let output = try await tools.call("ghost__read_note", arguments: .object([:]))
            #expect(output.isError)
            #expect(output.content.contains("The MCP server ghost is not connected"))
        }
    }
}
