import ArgumentParser
import BedsideServer
import Foundation

/// The perimeter's options: which `Host` names and proxies to trust, and the limits that keep
/// one client from hurting the others. Each falls back to its `BEDSIDE_` variable, then to the
/// default of ``ServerLimits``; for every count 0 means unlimited.
struct LimitOptions: ParsableArguments {
    @Option(
        help: """
            Comma-separated host names a request's Host may name besides the bound address, loopback names \
            (when bound to loopback) and the host of --public-url. [env: BEDSIDE_ALLOWED_HOSTS] (default: none)
            """
    )
    var allowedHosts: String?

    @Option(
        help: """
            Comma-separated proxy addresses or CIDR blocks whose X-Forwarded-For names the client. \
            [env: BEDSIDE_TRUSTED_PROXIES] (default: none)
            """
    )
    var trustedProxies: String?

    @Option(help: "Open WebSocket connections in all; 0 is unlimited. [env: BEDSIDE_MAX_CONNECTIONS] (default: 4096)")
    var maxConnections: Int?

    @Option(
        help: "Open WebSocket connections per client address; 0 is unlimited. [env: BEDSIDE_MAX_CONNECTIONS_PER_ADDRESS] (default: 256)"
    )
    var maxConnectionsPerAddress: Int?

    @Option(help: "Open WebSocket connections per session; 0 is unlimited. [env: BEDSIDE_MAX_CONNECTIONS_PER_SESSION] (default: 16)")
    var maxConnectionsPerSession: Int?

    @Option(help: "Frames per connection per second; 0 is unlimited. [env: BEDSIDE_MAX_MESSAGES_PER_SECOND] (default: 20)")
    var maxMessagesPerSecond: Int?

    @Option(help: "resume frames per connection per second; 0 is unlimited. [env: BEDSIDE_MAX_RESUMES_PER_SECOND] (default: 2)")
    var maxResumesPerSecond: Int?

    @Option(
        help:
            "Turns a principal (or client address) may start per minute; 0 is unlimited. [env: BEDSIDE_MAX_TURNS_PER_MINUTE] (default: 30)"
    )
    var maxTurnsPerMinute: Int?

    @Option(help: "Turns running at once; more wait, queued. 0 is unlimited. [env: BEDSIDE_MAX_CONCURRENT_TURNS] (default: 64)")
    var maxConcurrentTurns: Int?

    @Option(help: "Patient imports parsed at once; 0 is unlimited. [env: BEDSIDE_MAX_CONCURRENT_IMPORTS] (default: 2)")
    var maxConcurrentImports: Int?

    @Option(help: "Open /mcp sessions; 0 is unlimited. [env: BEDSIDE_MAX_MCP_SESSIONS] (default: 64)")
    var maxMCPSessions: Int?

    @Option(help: "Seconds an unused /mcp session lives. [env: BEDSIDE_MCP_SESSION_IDLE_SECONDS] (default: 600)")
    var mcpSessionIdleSeconds: Int?

    @Option(help: "Seconds a client may take to send a request's headers. [env: BEDSIDE_HEADER_TIMEOUT_SECONDS] (default: 10)")
    var headerTimeoutSeconds: Int?

    @Option(help: "Seconds an HTTP connection may stay idle between requests. [env: BEDSIDE_IDLE_TIMEOUT_SECONDS] (default: 60)")
    var idleTimeoutSeconds: Int?

    /// Applies these options to `server`; throws a usage error for a bad value.
    func apply(to server: inout ServerConfiguration, environment: [String: String]) throws {
        if let hosts = allowedHosts ?? environment["BEDSIDE_ALLOWED_HOSTS"] { server.allowedHosts = Self.list(hosts) }
        if let proxies = trustedProxies ?? environment["BEDSIDE_TRUSTED_PROXIES"] { server.trustedProxies = Self.list(proxies) }
        var limits = server.limits
        func count(_ flag: Int?, _ name: String, _ value: inout Int) throws {
            if let given = try EnvironmentValue.integer(flag, name, environment, minimum: 0) { value = given }
        }
        func seconds(_ flag: Int?, _ name: String, _ value: inout Duration) throws {
            if let given = try EnvironmentValue.integer(flag, name, environment, minimum: 1) { value = .seconds(given) }
        }
        try count(maxConnections, "BEDSIDE_MAX_CONNECTIONS", &limits.maxConnections)
        try count(maxConnectionsPerAddress, "BEDSIDE_MAX_CONNECTIONS_PER_ADDRESS", &limits.maxConnectionsPerAddress)
        try count(maxConnectionsPerSession, "BEDSIDE_MAX_CONNECTIONS_PER_SESSION", &limits.maxConnectionsPerSession)
        try count(maxMessagesPerSecond, "BEDSIDE_MAX_MESSAGES_PER_SECOND", &limits.maxMessagesPerSecond)
        try count(maxResumesPerSecond, "BEDSIDE_MAX_RESUMES_PER_SECOND", &limits.maxResumesPerSecond)
        try count(maxTurnsPerMinute, "BEDSIDE_MAX_TURNS_PER_MINUTE", &limits.maxTurnsPerMinute)
        try count(maxConcurrentTurns, "BEDSIDE_MAX_CONCURRENT_TURNS", &limits.maxConcurrentTurns)
        try count(maxConcurrentImports, "BEDSIDE_MAX_CONCURRENT_IMPORTS", &limits.maxConcurrentImports)
        try count(maxMCPSessions, "BEDSIDE_MAX_MCP_SESSIONS", &limits.maxMCPSessions)
        try seconds(mcpSessionIdleSeconds, "BEDSIDE_MCP_SESSION_IDLE_SECONDS", &limits.mcpSessionIdleTimeout)
        try seconds(headerTimeoutSeconds, "BEDSIDE_HEADER_TIMEOUT_SECONDS", &limits.headerTimeout)
        try seconds(idleTimeoutSeconds, "BEDSIDE_IDLE_TIMEOUT_SECONDS", &limits.idleTimeout)
        server.limits = limits
    }

    private static func list(_ raw: String) -> [String] {
        raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
