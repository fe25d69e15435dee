import BedsideCore
import Foundation

extension MCPServerConfiguration {
    /// Reads the servers from `source`: a path to a JSON file, or the JSON itself when it starts
    /// with `{` (as `BEDSIDE_MCP_SERVERS` usually holds it).
    ///
    /// Accepts `{"mcpServers": {...}}` (Claude Desktop, Cursor), `{"servers": {...}}` (VS Code)
    /// and, per server, `type` or `transport` set to `stdio`, `http`, `streamable-http`
    /// (`streamableHttp`) or `sse`. A server with a `url` and no type speaks Streamable HTTP,
    /// unless the URL path ends in `/sse`, which is the legacy transport's usual endpoint.
    ///
    /// - Throws: ``MCPConfigurationError`` naming the server and key at fault.
    public static func parse(_ source: String) throws(MCPConfigurationError) -> [MCPServerConfiguration] {
        let trimmed = source.trimmingCharacters(in: .whitespacesAndNewlines)
        let text: String
        if trimmed.hasPrefix("{") {
            text = trimmed
        } else {
            guard let data = FileManager.default.contents(atPath: trimmed) else {
                throw MCPConfigurationError(message: "Cannot read the MCP configuration file \(trimmed).")
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let root: JSONValue
        do {
            root = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw MCPConfigurationError(message: "The MCP configuration is not valid JSON.")
        }
        guard let object = root.objectValue else {
            throw MCPConfigurationError(message: "The MCP configuration must be a JSON object with an \"mcpServers\" object.")
        }
        guard let servers = (object["mcpServers"] ?? object["servers"])?.objectValue else {
            throw MCPConfigurationError(key: "mcpServers", message: "Expected an object of servers by name.")
        }
        return try servers.keys.sorted().map { name throws(MCPConfigurationError) in
            try parseServer(name: name, servers[name]!)
        }
    }

    static func parseServer(name: String, _ value: JSONValue) throws(MCPConfigurationError) -> MCPServerConfiguration {
        func fail(_ key: String?, _ message: String) -> MCPConfigurationError {
            MCPConfigurationError(server: name, key: key, message: message)
        }
        guard !name.isEmpty, name.count <= 40 else {
            throw fail(nil, "A server name must be 1 to 40 characters long.")
        }
        guard let entry = value.objectValue else { throw fail(nil, "Expected an object.") }

        func strings(_ key: String) throws(MCPConfigurationError) -> [String]? {
            guard let raw = entry[key], raw != .null else { return nil }
            guard case .array(let items) = raw else { throw fail(key, "Expected an array of strings.") }
            var result: [String] = []
            for item in items {
                guard let string = item.stringValue else { throw fail(key, "Expected an array of strings.") }
                result.append(string)
            }
            return result
        }
        func map(_ key: String) throws(MCPConfigurationError) -> [String: String] {
            guard let raw = entry[key], raw != .null else { return [:] }
            guard let object = raw.objectValue else { throw fail(key, "Expected an object of strings.") }
            var result: [String: String] = [:]
            for (field, item) in object {
                guard let string = item.stringValue else { throw fail(key, "The value of \(field) must be a string.") }
                result[field] = string
            }
            return result
        }
        func string(_ key: String) throws(MCPConfigurationError) -> String? {
            guard let raw = entry[key], raw != .null else { return nil }
            guard let string = raw.stringValue else { throw fail(key, "Expected a string.") }
            return string
        }

        let typeKey = try string("type")
        let transportKey = try string("transport")
        let type = (typeKey ?? transportKey)?.lowercased()
        let command = try string("command")
        let urlKey = try string("url")
        let serverURLKey = try string("serverUrl")
        let urlText = urlKey ?? serverURLKey
        let transport: Transport
        switch (type, command, urlText) {
        case (nil, let command?, nil), ("stdio", let command?, _):
            guard !command.isEmpty else { throw fail("command", "The command must not be empty.") }
            let arguments = try strings("args")
            let environment = try map("env")
            let workingDirectory = try string("cwd")
            transport = .stdio(
                command: command,
                arguments: arguments ?? [],
                environment: environment,
                workingDirectory: workingDirectory
            )
        case ("stdio", nil, _):
            throw fail("command", "A stdio server needs a \"command\".")
        case (_, _, let urlText?):
            guard let url = URL(string: urlText), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", url.host != nil
            else {
                throw fail("url", "Expected an http or https URL, not \(urlText).")
            }
            let headers = try map("headers")
            switch type {
            case "sse":
                transport = .legacySSE(url: url, headers: headers)
            case "http", "streamable-http", "streamablehttp", "streamable_http":
                transport = .streamableHTTP(url: url, headers: headers)
            case nil:
                let legacy = url.path.hasSuffix("/sse") || url.path.hasSuffix("/sse/")
                transport = legacy ? .legacySSE(url: url, headers: headers) : .streamableHTTP(url: url, headers: headers)
            case let other?:
                throw fail("type", "Unknown transport \(other): use stdio, http (streamable-http) or sse.")
            }
        case (let other?, _, nil) where other != "stdio":
            throw fail("url", "A \(other) server needs a \"url\".")
        default:
            throw fail(nil, "Give either a \"command\" (stdio) or a \"url\" (Streamable HTTP or SSE).")
        }

        var timeout = Duration.seconds(60)
        if let raw = entry["timeoutSeconds"], raw != .null {
            let seconds: Double? =
                switch raw {
                case .integer(let value): Double(value)
                case .number(let value): value
                default: nil
                }
            guard let seconds, seconds > 0, seconds <= 3600 else {
                throw fail("timeoutSeconds", "Expected a number of seconds from 0 to 3600.")
            }
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        var disabled = false
        if let raw = entry["disabled"], raw != .null {
            guard case .bool(let value) = raw else { throw fail("disabled", "Expected true or false.") }
            disabled = value
        }
        let allowTools = try strings("allowTools")
        return MCPServerConfiguration(
            name: name,
            transport: transport,
            allowTools: Set(allowTools ?? []),
            callTimeout: timeout,
            disabled: disabled
        )
    }
}
