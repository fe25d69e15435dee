public import BedsideCore
import BedsideProtocol
import BedsideWeb
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
public import NIOSSL
public import ServiceLifecycle
import UnixSignals

/// The parts Bedside runs on, chosen by the executable (or by a test).
public struct ServerDependencies: Sendable {
    /// Where session events are kept: SQLite in the product, in-memory or SQLite in tests.
    public var store: any EventStore
    /// What answers a message.
    public var runner: any TurnRunner
    public var logger: Logger
    /// Where tools record the patient data they read, served at `GET /sessions/{id}/audit`.
    /// Default: the store, when it keeps an audit.
    public var audit: (any AccessAudit)?
    /// Where `POST /patient` imports and `GET /patient/{id}` reads; when nil both answer 503
    /// `clinical_data_unavailable`. Default: nil.
    public var patients: (any PatientRecords)?
    /// Where the server's metrics are kept, served at `GET /metrics`. Default: a new registry.
    public var metrics: BedsideMetrics
    /// Where spans go, as `/ready` reports it (e.g. `otlp http/protobuf http://…/v1/traces`).
    /// Default: `off`.
    public var tracing: String
    /// Bedside's own MCP server, mounted at `/mcp`; when nil `/mcp` is not served. Default: nil.
    public var mcpEndpoint: (any MCPEndpoint)?
    /// The MCP servers the agent uses, whose state `/ready` reports under `mcp`. Default: nil.
    public var toolSources: (any ToolSourceStatusProvider)?
    /// Who may use the server (`--auth`). Default: ``Authentication/none``, the local principal.
    public var authentication: Authentication
    /// Serves HTTPS and `wss://` when set (`--tls-cert`, `--tls-key`), with HSTS. Default: nil.
    public var tls: TLSConfiguration?
    /// A warning `/ready` shows, e.g. that the server runs without authentication on a network
    /// interface (`--allow-unauthenticated`). Default: nil.
    public var warning: String?

    public init(
        store: any EventStore,
        runner: any TurnRunner,
        logger: Logger,
        audit: (any AccessAudit)? = nil,
        patients: (any PatientRecords)? = nil,
        metrics: BedsideMetrics = BedsideMetrics(),
        tracing: String = "off",
        mcpEndpoint: (any MCPEndpoint)? = nil,
        toolSources: (any ToolSourceStatusProvider)? = nil,
        authentication: Authentication = .none,
        tls: TLSConfiguration? = nil,
        warning: String? = nil
    ) {
        self.authentication = authentication
        self.tls = tls
        self.warning = warning
        self.metrics = metrics
        self.tracing = tracing
        self.store = store
        self.runner = runner
        self.logger = logger
        self.audit = audit ?? (store as? any AccessAudit)
        self.patients = patients
        self.mcpEndpoint = mcpEndpoint
        self.toolSources = toolSources
    }
}

/// A ready-to-run Bedside server: the HTTP/WebSocket application and the session hub.
///
/// ```swift
/// let server = buildApplication(configuration: .init(), dependencies: deps)
/// try await server.run()   // until SIGINT or SIGTERM
/// ```
public struct BedsideApplication: Sendable {
    /// The session hub every event goes through.
    public let hub: SessionHub
    /// The HTTP server (Hummingbird), as a service.
    public let application: any Service
    /// Closes sockets whose credential has ended; runs only when authentication is on.
    let watch: CredentialWatch?
    /// The header and idle timeouts every HTTP/1 connection is under.
    let httpTimeouts: HTTPTimeouts
    /// Every HTTP route the server registers, as `METHOD /path` with `{name}` parameters
    /// (`GET /sessions/{id}/events`), sorted: what `docs/openapi.yaml` must describe.
    public let routes: [String]

    /// The services in start order. The hub comes last so that graceful shutdown reaches it
    /// first: it ends running turns and closes connections with 1001 before the listener stops.
    public var services: [any Service] {
        [application] + (watch.map { [CredentialWatchService(watch: $0)] } ?? []) + [hub]
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully.
    ///
    /// - Parameter before: services started before the server and stopped after it (e.g. the
    ///   span exporter, so that it flushes the spans of the turns shutdown ends).
    public func run(before: [any Service] = []) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: (before + services).map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: hub.logger
            )
        )
        try await group.run()
    }
}

/// Builds the Bedside server: routes, the `/ws` endpoint and the session hub.
///
/// - Parameter onServerRunning: called with the bound port once the server listens.
public func buildApplication(
    configuration: ServerConfiguration,
    dependencies: ServerDependencies,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> BedsideApplication {
    let hub = SessionHub(
        store: dependencies.store,
        runner: dependencies.runner,
        outboxCapacity: configuration.outboxCapacity,
        metrics: dependencies.metrics,
        limits: configuration.limits,
        shutdownGrace: configuration.shutdownGrace,
        coalesceDeltas: configuration.coalesceDeltas,
        logger: dependencies.logger
    )
    let metrics = dependencies.metrics
    let hosts = HostPolicy(listenHost: configuration.host, allowed: configuration.allowedHosts)
    let origins = OriginPolicy(allowed: configuration.allowedOrigins, hosts: hosts)
    let connectionLimiter = ConnectionLimiter(limits: configuration.limits)
    warnAboutThePerimeter(configuration, hosts: hosts, logger: dependencies.logger)
    let authentication = dependencies.authentication
    let watch = authentication.isEnabled ? CredentialWatch(authentication: authentication, logger: dependencies.logger) : nil
    var upgradeCheck = UpgradeCheck(origins: origins, authentication: authentication)
    upgradeCheck.clients = ClientAddressResolver(trustedProxies: configuration.trustedProxies)
    upgradeCheck.connections = connectionLimiter
    var patients = PatientRoutes(records: dependencies.patients, origins: origins, maxImportBytes: configuration.maxImportBytes)
    patients.authentication = authentication
    patients.audit = dependencies.audit
    patients.maxConcurrentImports = configuration.limits.maxConcurrentImports
    patients.metrics = dependencies.metrics
    var webSocket = WebSocketEndpoint(
        hub: hub,
        hosts: hosts,
        check: upgradeCheck,
        limits: configuration.connectionLimits,
        pingInterval: configuration.pingInterval
    )
    webSocket.watch = watch
    webSocket.activity = { credential in authentication.touch(credential) }
    webSocket.connections = connectionLimiter
    let checkUpgrade = upgradeCheck
    let endpoint = webSocket

    let router = Router()
    // Middleware applies only to routes registered after it: the Host check comes first.
    router.add(middleware: HostCheckMiddleware(hosts: hosts, metrics: metrics))
    if dependencies.tls != nil {
        router.add(middleware: StrictTransportMiddleware())
    }
    addRoutes(
        to: router,
        hub: hub,
        authentication: authentication,
        patients: patients,
        upgradeCheck: checkUpgrade,
        tracing: dependencies.tracing,
        warning: dependencies.warning,
        toolSources: dependencies.toolSources
    )
    SessionRoutes(
        hub: hub,
        directory: dependencies.store as? any SessionDirectory,
        audit: dependencies.audit,
        access: SessionAccess(authentication: authentication),
        watch: watch,
        origins: origins
    ).add(to: router)
    AuthRoutes(authentication: authentication, watch: watch, origins: origins).add(to: router)
    if let endpoint = dependencies.mcpEndpoint {
        endpoint.apply(
            MCPSessionLimits(
                maxSessions: configuration.limits.maxMCPSessions,
                idleTimeout: configuration.limits.mcpSessionIdleTimeout,
                onLimit: { event in metrics.limitReached(event == .refused ? .mcpSessions : .mcpSessionIdle) }
            )
        )
        MCPRoutes(endpoint: endpoint, origins: origins, authentication: authentication, watch: watch).add(to: router)
    }
    addStaticRoutes(
        to: router,
        files: StaticFiles(directory: WebAssets.directory),
        configuration: configuration,
        authentication: authentication,
        version: hub.serverVersion
    )

    let timeouts = HTTPTimeouts(header: configuration.limits.headerTimeout, idle: configuration.limits.idleTimeout)
    let channel: @Sendable (@escaping HTTPChannelHandler.Responder) -> BedsideChildChannel = { responder in
        BedsideChildChannel(
            responder: responder,
            webSocket: endpoint,
            maxFrameSize: configuration.transportMaxFrameBytes,
            timeouts: timeouts,
            onTimeout: { limit in metrics.limitReached(limit) }
        )
    }
    let server: HTTPServerBuilder
    if let tls = dependencies.tls {
        server = HTTPServerBuilder { responder in try TLSChannel(channel(responder), tlsConfiguration: tls) }
    } else {
        server = HTTPServerBuilder { responder in channel(responder) }
    }
    var application = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Bedside"),
        onServerRunning: { channel in
            await onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: dependencies.logger
    )
    // Turns a previous process left running are closed before the first connection can arrive.
    application.beforeServerStarts { try await hub.closeInterruptedTurns() }
    let routes = router.routes.map(\.description) + ["GET \(WebSocketEndpoint.path)"]
    return BedsideApplication(
        hub: hub,
        application: application,
        watch: watch,
        httpTimeouts: timeouts,
        routes: Array(Set(routes)).sorted()
    )
}

/// Logs what the operator should fix: entries of the perimeter options that are ignored, and a
/// server on every interface that only loopback names can reach.
private func warnAboutThePerimeter(_ configuration: ServerConfiguration, hosts: HostPolicy, logger: Logger) {
    for problem in configuration.perimeterProblems {
        logger.warning("Ignoring an invalid entry", metadata: ["problem": "\(problem)"])
    }
    if hosts.onlyLoopbackOnEveryInterface {
        logger.warning(
            "Listening on every interface, but only localhost, 127.0.0.1 and [::1] are accepted as Host: set --allowed-hosts to the names clients use",
            metadata: ["host": "\(configuration.host)"]
        )
    }
}
