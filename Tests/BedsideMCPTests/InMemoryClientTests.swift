import BedsideCore
import BedsideMCP
import Foundation
import MCP
import Testing

@Suite("MCP client against an in-process server")
struct InMemoryClientTests {
    /// An MCP server with a read tool and a write tool, answering in-process.
    static func makeServer() async -> Server {
        let server = Server(name: "memory", version: "1", capabilities: .init(tools: .init(listChanged: false)))
        let schema: Value = .object(["type": "object", "properties": .object(["id": .object(["type": "string"])])])
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: [
                Tool(name: "lookup", description: "Looks up an id.", inputSchema: schema, annotations: .init(readOnlyHint: true)),
                Tool(name: "erase", description: "Erases an id.", inputSchema: schema, annotations: .init(destructiveHint: true)),
            ])
        }
        await server.withMethodHandler(CallTool.self) { params in
            let id = params.arguments?["id"]?.stringValue ?? "?"
            switch params.name {
            case "lookup":
                return CallTool.Result(content: [.text(text: "found \(id)", annotations: nil, _meta: nil)])
            default:
                return CallTool.Result(content: [.text(text: "no such tool", annotations: nil, _meta: nil)], isError: true)
            }
        }
        return server
    }

    @Test("lists the read tool under the server's prefix, hides the write tool, and calls it")
    func listAndCall() async throws {
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = await Self.makeServer()
        try await server.start(transport: serverSide)
        let config = MCPServerConfiguration(
            name: "mem",
            transport: .stdio(command: "unused", arguments: [], environment: [:], workingDirectory: nil)
        )
        let tools = MCPToolset(servers: [config], transports: ["mem": { clientSide }], logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            let definitions = try await tools.definitions()
            #expect(definitions.map(\.name) == ["mem__lookup"])
            #expect(definitions.first?.server == "mem")
            #expect(definitions.first?.parameters["properties"]?["id"]?["type"] == .string("string"))
            let output = try await tools.call("mem__lookup", arguments: .object(["id": .string("p-1")]))
            #expect(output == ToolOutput(content: "found p-1"))
            let statuses = await tools.toolSourceStatuses()
            #expect(statuses == [ToolSourceStatus(name: "mem", transport: "stdio", state: .ready, toolCount: 1, hiddenToolCount: 1)])
            await #expect(throws: NoTools.ToolUnavailable.self) { try await tools.call("mem__erase", arguments: .object([:])) }
        }
        await server.stop()
    }

    @Test("built-in tools keep their names when a server offers the same one")
    func compositePriority() async throws {
        struct BuiltIn: Toolset {
            func definitions() async throws -> [ToolDefinition] {
                [ToolDefinition(name: "mem__lookup", description: "built-in", parameters: .object([:]))]
            }
            func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput { ToolOutput(content: "built-in") }
        }
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let server = await Self.makeServer()
        try await server.start(transport: serverSide)
        let config = MCPServerConfiguration(
            name: "mem",
            transport: .stdio(command: "unused", arguments: [], environment: [:], workingDirectory: nil)
        )
        let mcp = MCPToolset(servers: [config], transports: ["mem": { clientSide }], logger: Fixture.logger)
        let tools = CompositeToolset([BuiltIn(), mcp])
        try await withRunning(mcp) { () async throws in
            #expect(await mcp.waitUntilReady())
            let definitions = try await tools.definitions()
            #expect(definitions.map(\.description) == ["built-in"])
            #expect(try await tools.call("mem__lookup", arguments: .object([:])).content == "built-in")
        }
        await server.stop()
    }
}
