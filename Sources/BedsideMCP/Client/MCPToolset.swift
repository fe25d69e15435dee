public import AsyncHTTPClient
public import BedsideCore
public import Logging
public import MCP
import NIOCore
public import ServiceLifecycle
public import Tracing

/// The tools of every configured MCP server, offered to the agent as one ``Toolset``.
///
/// Each server's tools are named `server__tool` and filtered by the read-only rule (see
/// ``MCPServerConfiguration/allowTools``). A server that is down offers no tools; a call to a
/// tool whose server went down answers with an error output naming the server, never a crash.
///
/// As a `Service`, ``run()`` keeps every server connected, reconnecting with backoff, until
/// graceful shutdown (or cancellation); then it disconnects, ending stdio servers' processes.
/// In Bedside's `ServiceGroup` it starts before the session hub, so that it stops after the
/// hub has ended the running turns, whose last tool calls it still answers.
///
/// ```swift
/// let mcp = MCPToolset(servers: try MCPServerConfiguration.parse(config), logger: logger)
/// let tools = CompositeToolset([fhirTools, mcp])
/// try await server.run(before: [mcp])   // the one ServiceGroup
/// ```
public final class MCPToolset: Toolset, ToolSourceStatusProvider, Service {
    private let connections: [MCPServerConnection]
    private let httpClient: HTTPClient
    private let ownsHTTPClient: Bool

    /// - Parameters:
    ///   - httpClient: the client for HTTP servers; one is made (and shut down by ``run()``)
    ///     when nil.
    ///   - tracer: where the `tools/call` client spans go (and whose context a call's
    ///     `traceparent` carries); the bootstrapped tracer by default.
    ///   - reconnectDelay: the first delay before reconnecting, doubled up to `maxReconnectDelay`.
    ///   - clock: what the reconnect backoff and every timeout (connecting, listing tools, a
    ///     call's ``MCPServerConfiguration/callTimeout``) wait on; the continuous clock by default.
    ///   - transports: for servers named here, a transport made by the closure instead of the
    ///     configured one (an in-process server, in tests or embedding).
    public init(
        servers: [MCPServerConfiguration],
        httpClient: HTTPClient? = nil,
        tracer: any Tracer = InstrumentationSystem.tracer,
        reconnectDelay: Duration = .milliseconds(500),
        maxReconnectDelay: Duration = .seconds(30),
        clock: any Clock<Duration> = ContinuousClock(),
        transports: [String: @Sendable () -> any MCP.Transport] = [:],
        logger: Logger
    ) {
        // The reconnect loop below retries with its own backoff, so a server that refuses the
        // connection is reported at once rather than after the client's own retries.
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        clientConfiguration.timeout.connect = .seconds(10)
        let client = httpClient ?? HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        self.httpClient = client
        self.ownsHTTPClient = httpClient == nil
        let backoff = MCPServerConnection.Backoff(initial: reconnectDelay, maximum: maxReconnectDelay)
        let clock = ElapsedClock(clock)
        self.connections = servers.map {
            MCPServerConnection(
                configuration: $0,
                httpClient: client,
                backoff: backoff,
                clock: clock,
                tracer: tracer,
                transportFactory: transports[$0.name],
                logger: logger
            )
        }
    }

    /// Connects to every server and keeps the connections up until graceful shutdown or
    /// cancellation; then disconnects (ending stdio servers' processes) and returns once every
    /// connection has ended. It runs until then even when no server is enabled, as a service
    /// in a `ServiceGroup` must.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for connection in connections {
                group.addTask { await connection.run() }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        if ownsHTTPClient { try? await httpClient.shutdown() }
    }

    public func definitions() async throws -> [ToolDefinition] {
        var result: [ToolDefinition] = []
        for connection in connections {
            result += await connection.definitions
        }
        return result
    }

    public func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        for connection in connections where await connection.owns(offeredName: name) {
            return try await connection.call(name, arguments: arguments)
        }
        // A tool the model saw before its server went down.
        for connection in connections where name.hasPrefix(ToolExposure.sanitize(connection.configuration.name) + "__") {
            if await !connection.isReady { return try await connection.call(name, arguments: arguments) }
        }
        throw NoTools.ToolUnavailable(name: name)
    }

    public func toolSourceStatuses() async -> [ToolSourceStatus] {
        var result: [ToolSourceStatus] = []
        for connection in connections {
            result.append(await connection.status)
        }
        return result
    }

    /// Waits until every enabled server is ready or `limit` passes; for startup and tests.
    /// Returns whether all are ready.
    @discardableResult
    public func waitUntilReady(timeout limit: Duration = .seconds(120)) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while clock.now < deadline {
            let statuses = await toolSourceStatuses()
            if statuses.allSatisfy({ $0.state == .ready || $0.state == .disabled }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}
