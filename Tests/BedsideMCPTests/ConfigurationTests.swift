import BedsideMCP
import Foundation
import Testing

@Suite("MCP configuration")
struct ConfigurationTests {
    @Test("reads the Claude Desktop format: stdio, Streamable HTTP and legacy SSE servers")
    func claudeDesktopFormat() throws {
        let servers = try MCPServerConfiguration.parse(
            """
            {"mcpServers": {
              "files": {"command": "npx", "args": ["-y", "server-files", "/data"], "env": {"A": "1"}},
              "aidbox": {"url": "https://box.example/sse", "headers": {"Authorization": "Basic abc"}},
              "remote": {"url": "https://remote.example/mcp", "allowTools": ["write_note"], "timeoutSeconds": 2.5},
              "typed": {"type": "sse", "url": "https://typed.example/events"},
              "http": {"transport": "streamable-http", "url": "http://127.0.0.1:9/sse"},
              "off": {"command": "x", "disabled": true}
            }}
            """
        )
        #expect(servers.map(\.name) == ["aidbox", "files", "http", "off", "remote", "typed"])
        let byName = Dictionary(uniqueKeysWithValues: servers.map { ($0.name, $0) })
        #expect(
            byName["files"]?.transport
                == .stdio(command: "npx", arguments: ["-y", "server-files", "/data"], environment: ["A": "1"], workingDirectory: nil)
        )
        #expect(
            byName["aidbox"]?.transport == .legacySSE(url: URL(string: "https://box.example/sse")!, headers: ["Authorization": "Basic abc"])
        )
        #expect(byName["remote"]?.transport == .streamableHTTP(url: URL(string: "https://remote.example/mcp")!, headers: [:]))
        #expect(byName["remote"]?.allowTools == ["write_note"])
        #expect(byName["remote"]?.callTimeout == .milliseconds(2500))
        #expect(byName["typed"]?.transport.kind == "sse")
        #expect(byName["http"]?.transport.kind == "http")
        #expect(byName["off"]?.disabled == true)
    }

    @Test("reads a file path as well as inline JSON")
    func filePath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mcp-\(UUID().uuidString).json").path
        try Data(#"{"servers": {"a": {"command": "run-a"}}}"#.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try MCPServerConfiguration.parse(path).map(\.name) == ["a"])
    }

    @Test(
        "refuses bad entries with a coded error naming the server and the key",
        arguments: [
            (#"{"mcpServers": {"a": {"url": "ftp://x"}}}"#, "a", "url"),
            (#"{"mcpServers": {"a": {"command": "x", "args": "y"}}}"#, "a", "args"),
            (#"{"mcpServers": {"a": {"url": "http://x/mcp", "headers": {"h": 1}}}}"#, "a", "headers"),
            (#"{"mcpServers": {"a": {"url": "http://x/mcp", "type": "carrier-pigeon"}}}"#, "a", "type"),
            (#"{"mcpServers": {"a": {"command": "x", "timeoutSeconds": -1}}}"#, "a", "timeoutSeconds"),
            (#"{"mcpServers": {"a": {"command": "x", "allowTools": [1]}}}"#, "a", "allowTools"),
            (#"{"mcpServers": {"a": {"command": "x", "disabled": "no"}}}"#, "a", "disabled"),
            (#"{"mcpServers": {"a": {"type": "stdio"}}}"#, "a", "command"),
            (#"{"mcpServers": {"a": {"type": "sse"}}}"#, "a", "url"),
            (#"{"mcpServers": []}"#, nil, "mcpServers"),
        ] as [(String, String?, String?)]
    )
    func refusals(json: String, server: String?, key: String?) {
        do {
            _ = try MCPServerConfiguration.parse(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.code == "mcp_config_invalid")
            #expect(error.server == server)
            #expect(error.key == key)
            #expect(error.description.contains("mcp_config_invalid"))
        }
    }

    @Test("refuses what is not JSON, and a file that is missing")
    func unreadable() {
        #expect(throws: MCPConfigurationError.self) { try MCPServerConfiguration.parse("{nope") }
        #expect(throws: MCPConfigurationError.self) { try MCPServerConfiguration.parse("/no/such/file.json") }
    }
}
