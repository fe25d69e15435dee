public import BedsideCore
import BedsideProtocol
import BedsideWeb
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
public import Logging
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

    public init(
        store: any EventStore,
        runner: any TurnRunner,
        logger: Logger,
        audit: (any AccessAudit)? = nil,
        patients: (any PatientRecords)? = nil,
        metrics: BedsideMetrics = BedsideMetrics(),
        tracing: String = "off",
        mcpEndpoint: (any MCPEndpoint)? = nil,
        toolSources: (any ToolSourceStatusProvider)? = nil
    ) {
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

    /// The services in start order. The hub comes last so that graceful shutdown reaches it
    /// first: it ends running turns and closes connections with 1001 before the listener stops.
    public var services: [any Service] { [application, hub] }

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
        logger: dependencies.logger
    )
    let origins = OriginPolicy(allowed: configuration.allowedOrigins, listenHost: configuration.host)
    let upgradeCheck = UpgradeCheck(origins: origins)
    let patients = PatientRoutes(records: dependencies.patients, origins: origins, maxImportBytes: configuration.maxImportBytes)
    let connections = ConnectionHandler(hub: hub, limits: configuration.connectionLimits)

    let router = Router()
    addRoutes(
        to: router,
        hub: hub,
        audit: dependencies.audit,
        patients: patients,
        upgradeCheck: upgradeCheck,
        tracing: dependencies.tracing,
        toolSources: dependencies.toolSources
    )
    if let endpoint = dependencies.mcpEndpoint {
        MCPRoutes(endpoint: endpoint, origins: origins).add(to: router)
    }
    addStaticRoutes(
        to: router,
        files: StaticFiles(directory: WebAssets.directory),
        configuration: configuration,
        version: hub.serverVersion
    )

    let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
    webSocketRouter.ws("/ws") { request, _ in
        guard (try? upgradeCheck.check(request)) != nil, !hub.isShuttingDown else { return .dontUpgrade }
        return .upgrade([:])
    } onUpgrade: { inbound, outbound, context in
        let accepted = try upgradeCheck.check(context.request)
        await connections.serve(
            session: accepted.sessionID,
            lastSeq: accepted.lastSeq,
            inbound: inbound,
            outbound: outbound,
            logger: context.logger
        )
    }

    let webSocketResponder = webSocketRouter.buildResponder()
    var application = Application(
        router: router,
        server: HTTPServerBuilder { responder in
            LeanChildChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder,
                    webSocketResponder: webSocketResponder,
                    configuration: .init(
                        http1: .init(),
                        ws: .init(
                            maxFrameSize: configuration.transportMaxFrameBytes,
                            autoPing: .enabled(timePeriod: configuration.pingInterval),
                            closeTimeout: configuration.closeTimeout,
                            validateUTF8: false
                        )
                    )
                )
            )
        },
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Bedside"),
        onServerRunning: { channel in
            await onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: dependencies.logger
    )
    // Turns a previous process left running are closed before the first connection can arrive.
    application.beforeServerStarts { try await hub.closeInterruptedTurns() }
    return BedsideApplication(hub: hub, application: application)
}
