/// The limits that keep one client from hurting the others: connections, frame and turn rates,
/// concurrent turns and imports, `/mcp` sessions and HTTP timeouts.
///
/// Every count here means "unlimited" when 0. Defaults are sized so that a person with a few tabs
/// never meets them and one misbehaving client meets them quickly. Each property names its flag
/// and environment variable; docs/protocol.md ("Limits") says how each is answered.
public struct ServerLimits: Sendable, Equatable {
    /// Open WebSocket connections in the whole server. `--max-connections`,
    /// `BEDSIDE_MAX_CONNECTIONS`; default 4096.
    public var maxConnections: Int
    /// Open WebSocket connections from one client address (the peer, or the `X-Forwarded-For`
    /// client of a trusted proxy). `--max-connections-per-address`,
    /// `BEDSIDE_MAX_CONNECTIONS_PER_ADDRESS`; default 256.
    public var maxConnectionsPerAddress: Int
    /// Open WebSocket connections to one session. `--max-connections-per-session`,
    /// `BEDSIDE_MAX_CONNECTIONS_PER_SESSION`; default 16.
    public var maxConnectionsPerSession: Int
    /// Frames one connection may send per second (a burst of this many, refilled at this rate).
    /// `--max-messages-per-second`, `BEDSIDE_MAX_MESSAGES_PER_SECOND`; default 20.
    public var maxMessagesPerSecond: Int
    /// `resume` frames one connection may send per second (a burst of this many).
    /// `--max-resumes-per-second`, `BEDSIDE_MAX_RESUMES_PER_SECOND`; default 2.
    public var maxResumesPerSecond: Int
    /// Turns one principal (or, signed out, one client address) may start per minute.
    /// `--max-turns-per-minute`, `BEDSIDE_MAX_TURNS_PER_MINUTE`; default 30.
    public var maxTurnsPerMinute: Int
    /// Turns running at once in the whole server; the next wait, `queued`, for a free slot.
    /// `--max-concurrent-turns`, `BEDSIDE_MAX_CONCURRENT_TURNS`; default 64.
    public var maxConcurrentTurns: Int
    /// `POST /patient` imports parsed at once; more are answered 429.
    /// `--max-concurrent-imports`, `BEDSIDE_MAX_CONCURRENT_IMPORTS`; default 2.
    public var maxConcurrentImports: Int
    /// Open `/mcp` sessions; an `initialize` beyond them is refused.
    /// `--max-mcp-sessions`, `BEDSIDE_MAX_MCP_SESSIONS`; default 64.
    public var maxMCPSessions: Int
    /// How long an `/mcp` session may go unused before it is ended.
    /// `--mcp-session-idle-seconds`, `BEDSIDE_MCP_SESSION_IDLE_SECONDS`; default 600 s.
    public var mcpSessionIdleTimeout: Duration
    /// How long a client may take to send a request's head (line and headers) once it has
    /// connected or finished its previous request; a slower one is closed (slowloris).
    /// `--header-timeout-seconds`, `BEDSIDE_HEADER_TIMEOUT_SECONDS`; default 10 s.
    public var headerTimeout: Duration
    /// How long an HTTP connection may stay idle between requests before it is closed.
    /// `--idle-timeout-seconds`, `BEDSIDE_IDLE_TIMEOUT_SECONDS`; default 60 s.
    public var idleTimeout: Duration

    public init(
        maxConnections: Int = 4096,
        maxConnectionsPerAddress: Int = 256,
        maxConnectionsPerSession: Int = 16,
        maxMessagesPerSecond: Int = 20,
        maxResumesPerSecond: Int = 2,
        maxTurnsPerMinute: Int = 30,
        maxConcurrentTurns: Int = 64,
        maxConcurrentImports: Int = 2,
        maxMCPSessions: Int = 64,
        mcpSessionIdleTimeout: Duration = .seconds(600),
        headerTimeout: Duration = .seconds(10),
        idleTimeout: Duration = .seconds(60)
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
        self.maxConnectionsPerSession = maxConnectionsPerSession
        self.maxMessagesPerSecond = maxMessagesPerSecond
        self.maxResumesPerSecond = maxResumesPerSecond
        self.maxTurnsPerMinute = maxTurnsPerMinute
        self.maxConcurrentTurns = maxConcurrentTurns
        self.maxConcurrentImports = maxConcurrentImports
        self.maxMCPSessions = maxMCPSessions
        self.mcpSessionIdleTimeout = mcpSessionIdleTimeout
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
    }

    /// No limit at all (every count 0), for load tests and benchmarks; timeouts keep their defaults.
    public static var unlimited: ServerLimits {
        ServerLimits(
            maxConnections: 0,
            maxConnectionsPerAddress: 0,
            maxConnectionsPerSession: 0,
            maxMessagesPerSecond: 0,
            maxResumesPerSecond: 0,
            maxTurnsPerMinute: 0,
            maxConcurrentTurns: 0,
            maxConcurrentImports: 0,
            maxMCPSessions: 0
        )
    }
}

/// A limit a request or frame met, as `/metrics` labels it
/// (`bedside_limit_refusals_total{limit="…"}`).
public enum LimitName: String, Sendable, CaseIterable {
    case connections
    case connectionsPerAddress = "connections_per_address"
    case connectionsPerSession = "connections_per_session"
    case messagesPerSecond = "messages_per_second"
    case resumesPerSecond = "resumes_per_second"
    case turnsPerMinute = "turns_per_minute"
    /// Counted when a turn has to wait (`queued`), not refused.
    case concurrentTurns = "concurrent_turns"
    case concurrentImports = "concurrent_imports"
    case mcpSessions = "mcp_sessions"
    /// An `/mcp` session ended because it went unused.
    case mcpSessionIdle = "mcp_session_idle"
    case headerTimeout = "header_timeout"
    case idleTimeout = "idle_timeout"
    /// Tool calls beyond the per-response cap, answered to the model as errors.
    case toolCallsPerResponse = "tool_calls_per_response"
    /// A request whose `Host` is not this server's.
    case host
}
