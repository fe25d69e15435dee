public import Foundation

/// One MCP server Bedside connects to, as configured in the `mcpServers` object that Claude
/// Desktop and Cursor use, plus Bedside's own optional keys.
///
/// ```json
/// {"mcpServers": {
///   "files": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/data"]},
///   "aidbox": {"url": "https://box.example/mcp", "headers": {"Authorization": "Basic …"},
///              "allowTools": ["create-fhir-resource"], "timeoutSeconds": 60}
/// }}
/// ```
public struct MCPServerConfiguration: Sendable, Hashable {
    /// How Bedside reaches the server.
    public enum Transport: Sendable, Hashable {
        /// A process Bedside starts, speaking JSON-RPC lines on stdin and stdout.
        case stdio(command: String, arguments: [String], environment: [String: String], workingDirectory: String?)
        /// Streamable HTTP: JSON-RPC POSTs answered with JSON or an event stream.
        case streamableHTTP(url: URL, headers: [String: String])
        /// The legacy HTTP+SSE transport: an event stream announces where to POST.
        case legacySSE(url: URL, headers: [String: String])

        /// `stdio`, `http` or `sse`, as `/ready` shows it.
        public var kind: String {
            switch self {
            case .stdio: "stdio"
            case .streamableHTTP: "http"
            case .legacySSE: "sse"
            }
        }
    }

    /// The server's name: the key in `mcpServers`, and the prefix of its tools' names.
    public var name: String
    public var transport: Transport
    /// Tools offered even though they are not read-only (`allowTools`); `"*"` allows all.
    public var allowTools: Set<String>
    /// How long one tool call may take (`timeoutSeconds`, default 60).
    public var callTimeout: Duration
    /// A configured server that is not started (`disabled`, default false).
    public var disabled: Bool

    public init(
        name: String,
        transport: Transport,
        allowTools: Set<String> = [],
        callTimeout: Duration = .seconds(60),
        disabled: Bool = false
    ) {
        self.name = name
        self.transport = transport
        self.allowTools = allowTools
        self.callTimeout = callTimeout
        self.disabled = disabled
    }
}

/// A configuration Bedside refuses, naming the server and the key at fault.
public struct MCPConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Always `mcp_config_invalid`, for scripts that match on it.
    public var code: String { "mcp_config_invalid" }
    /// The server at fault, when the fault is in one server's entry.
    public var server: String?
    /// The key at fault, e.g. `url` or `allowTools`.
    public var key: String?
    /// What is wrong and what to write instead.
    public var message: String

    public init(server: String? = nil, key: String? = nil, message: String) {
        self.server = server
        self.key = key
        self.message = message
    }

    public var description: String {
        var place = ""
        if let server { place += "server \"\(server)\"" }
        if let key { place += place.isEmpty ? "key \"\(key)\"" : ", key \"\(key)\"" }
        return "\(code): \(place.isEmpty ? "" : place + ": ")\(message)"
    }
}
