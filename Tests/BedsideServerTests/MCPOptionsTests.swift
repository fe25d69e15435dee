import ArgumentParser
import Foundation
import Testing

@testable import bedside

/// How the executable reads its MCP servers and whether it serves /mcp.
@Suite struct MCPOptionsTests {
    @Test func mcpServersComeFromTheFlagOrTheEnvironmentAndTheEndpointIsOnByDefault() throws {
        let inline = #"{"mcpServers": {"aidbox": {"type": "sse", "url": "https://box.example/mcp"}}}"#
        let fromEnvironment = try Options.parse([]).resolve(environment: ["BEDSIDE_MCP_SERVERS": inline])
        #expect(fromEnvironment.mcpServers.map(\.name) == ["aidbox"])
        #expect(fromEnvironment.mcpServers.first?.transport.kind == "sse")
        #expect(fromEnvironment.serveMCP)
        let fromFlag = try Options.parse(["--mcp-config", #"{"mcpServers": {"files": {"command": "run"}}}"#])
            .resolve(environment: ["BEDSIDE_MCP_SERVERS": inline])
        #expect(fromFlag.mcpServers.map(\.name) == ["files"])
        #expect(try Options.parse([]).resolve(environment: [:]).mcpServers.isEmpty)
    }

    @Test func theEndpointCanBeTurnedOff() throws {
        #expect(try !Options.parse(["--no-mcp-server"]).resolve(environment: [:]).serveMCP)
        #expect(try !Options.parse([]).resolve(environment: ["BEDSIDE_MCP_SERVER": "off"]).serveMCP)
        #expect(try Options.parse(["--mcp-server"]).resolve(environment: ["BEDSIDE_MCP_SERVER": "off"]).serveMCP)
        #expect(throws: ValidationError.self) { try Options.parse([]).resolve(environment: ["BEDSIDE_MCP_SERVER": "maybe"]) }
    }

    @Test func aBadServerEntryStopsBedsideNamingTheServerAndTheKey() throws {
        do {
            _ = try Options.parse([]).resolve(environment: ["BEDSIDE_MCP_SERVERS": #"{"mcpServers": {"aidbox": {"url": "ftp://x"}}}"#])
            Issue.record("a bad URL was accepted")
        } catch let error as ValidationError {
            #expect(error.message.contains("mcp_config_invalid"))
            #expect(error.message.contains("\"aidbox\""))
            #expect(error.message.contains("\"url\""))
        }
    }
}
