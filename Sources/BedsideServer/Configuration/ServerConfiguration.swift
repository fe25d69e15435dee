import BedsideProtocol

/// Everything the server needs to know to listen and to enforce its limits.
///
/// Each property names its command-line flag and environment variable; the executable reads
/// flags first, then the environment, then these defaults.
public struct ServerConfiguration: Sendable {
    /// Interface to listen on. `--host`, `BEDSIDE_HOST`; default `127.0.0.1`.
    public var host: String
    /// TCP port; 0 picks a free one. `--port`, `BEDSIDE_PORT`; default 8000.
    public var port: Int
    /// Browser origins allowed to open `/ws` (and to import, rename, delete, sign out, use `/mcp`),
    /// besides the server's own origin. Each entry is an origin, optionally with `*` as its port
    /// (`http://localhost:*`), or `*` for every origin. `--allowed-origins`,
    /// `BEDSIDE_ALLOWED_ORIGINS` (comma-separated); default none: the server's own origin only.
    public var allowedOrigins: [String]
    /// Largest client message, in bytes, that is read; a larger one is answered with `frame_too_large`.
    /// `--max-message-bytes`, `BEDSIDE_MAX_MESSAGE_BYTES`; default 65536.
    public var maxMessageBytes: Int
    /// Largest `content` of a message, in characters after trimming.
    /// `--max-content-chars`, `BEDSIDE_MAX_CONTENT_CHARS`; default 32000.
    public var maxContentCharacters: Int
    /// Frames a connection may have queued before it is closed with 1013 (it then resumes).
    /// `--outbox-capacity`, `BEDSIDE_OUTBOX_CAPACITY`; default 4096.
    public var outboxCapacity: Int
    /// Invalid frames tolerated in a burst (one is forgiven per second) before the connection is
    /// closed with 1008. `--max-violations`, `BEDSIDE_MAX_VIOLATIONS`; default 10.
    public var maxViolations: Int
    /// Largest body of `POST /patient`, in bytes; a larger one is answered with 413.
    /// `--max-import-bytes`, `BEDSIDE_MAX_IMPORT_BYTES`; default 33554432 (32 MiB).
    public var maxImportBytes: Int
    /// How long a closing connection may take to accept its close frame. Default 5 s.
    public var closeTimeout: Duration
    /// How often the server pings each WebSocket to detect dead peers. Default 30 s.
    public var pingInterval: Duration
    /// Link to a trace in a tracing UI, with `{trace_id}` where the id goes (e.g.
    /// `http://localhost:16686/trace/{trace_id}` for Jaeger); the web UI gets it from
    /// `GET /config.json`. `--trace-url`, `BEDSIDE_TRACE_URL`; default none (ids shown, no link).
    public var traceURL: String?
    /// Host names (or addresses) a request's `Host` may name besides the bound address, loopback
    /// names when bound to loopback, and the host of `--public-url`: what a deployment on
    /// `0.0.0.0` or behind a proxy sets. `--allowed-hosts`, `BEDSIDE_ALLOWED_HOSTS`
    /// (comma-separated); default none.
    public var allowedHosts: [String]
    /// Peers (addresses, or CIDR blocks such as `10.0.0.0/8`) whose `X-Forwarded-For` names the
    /// client; from any other peer the header is ignored. `--trusted-proxies`,
    /// `BEDSIDE_TRUSTED_PROXIES` (comma-separated); default none.
    public var trustedProxies: [String]
    /// Connection, rate, concurrency and timeout limits (``ServerLimits``).
    public var limits: ServerLimits
    /// How long graceful shutdown (SIGTERM, SIGINT) lets running turns finish before it cancels
    /// them with reason `shutdown`; turns waiting for a slot are cancelled at once.
    /// `--shutdown-grace`, `BEDSIDE_SHUTDOWN_GRACE` (seconds); default 10.
    public var shutdownGrace: Duration = .seconds(10)
    /// Streaming `assistant` deltas of a session that arrive within this of the one before are
    /// merged into one delta, sent at most this long after the first of them: fewer, larger
    /// events for a fast model. `--coalesce-deltas-ms`, `BEDSIDE_COALESCE_DELTAS_MS`
    /// (milliseconds); default 0, off: every delta is sent as it comes.
    public var coalesceDeltas: Duration = .zero

    public init(
        host: String = "127.0.0.1",
        port: Int = 8000,
        allowedOrigins: [String] = ServerConfiguration.defaultAllowedOrigins,
        maxMessageBytes: Int = 64 * 1024,
        maxContentCharacters: Int = 32_000,
        outboxCapacity: Int = 4096,
        maxViolations: Int = 10,
        maxImportBytes: Int = ServerConfiguration.defaultMaxImportBytes,
        closeTimeout: Duration = .seconds(5),
        pingInterval: Duration = .seconds(30),
        traceURL: String? = nil,
        allowedHosts: [String] = [],
        trustedProxies: [String] = [],
        limits: ServerLimits = ServerLimits()
    ) {
        self.allowedHosts = allowedHosts
        self.trustedProxies = trustedProxies
        self.limits = limits
        self.host = host
        self.port = port
        self.allowedOrigins = allowedOrigins
        self.maxMessageBytes = maxMessageBytes
        self.maxContentCharacters = maxContentCharacters
        self.outboxCapacity = outboxCapacity
        self.maxViolations = maxViolations
        self.maxImportBytes = maxImportBytes
        self.closeTimeout = closeTimeout
        self.pingInterval = pingInterval
        self.traceURL = traceURL
    }

    /// The default import limit: 32 MiB, twenty times the largest Synthea patient Bedside ships.
    public static let defaultMaxImportBytes = 32 << 20

    /// No origin but the server's own: a page served from another local port (a development
    /// server) is listed explicitly, e.g. `http://localhost:5173`.
    public static let defaultAllowedOrigins: [String] = []

    /// What is wrong with `allowedHosts`, `trustedProxies` and `allowedOrigins`: one sentence
    /// per entry that is not a host name, address or CIDR block, or origin. Empty when all are
    /// valid; the server ignores invalid entries (and logs these at start).
    public var perimeterProblems: [String] {
        let hosts = HostPolicy(listenHost: host, allowed: allowedHosts)
        let proxies = ClientAddressResolver(trustedProxies: trustedProxies)
        let origins = OriginPolicy(allowed: allowedOrigins, hosts: hosts)
        return hosts.invalidEntries.map { "--allowed-hosts: '\($0)' is not a host name, an address or '*.domain'." }
            + proxies.invalidEntries.map { "--trusted-proxies: '\($0)' is not an IP address or a CIDR block." }
            + origins.invalidEntries.map { "--allowed-origins: '\($0)' is not an origin such as https://host[:port] or http://host:*." }
    }

    /// Frames above this size are not even read: the transport closes with 1009. Messages between
    /// ``maxMessageBytes`` and this size get a `frame_too_large` error and the connection stays.
    var transportMaxFrameBytes: Int { max(1 << 20, maxMessageBytes * 4) }

    var connectionLimits: ConnectionLimits {
        ConnectionLimits(
            maxMessageBytes: maxMessageBytes,
            frameLimits: .init(maxContentCharacters: maxContentCharacters),
            outboxCapacity: outboxCapacity,
            violationCapacity: maxViolations,
            closeTimeout: closeTimeout,
            maxMessagesPerSecond: limits.maxMessagesPerSecond,
            maxResumesPerSecond: limits.maxResumesPerSecond
        )
    }
}
