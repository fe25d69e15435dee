import ArgumentParser
import BedsideAgent
import BedsideCore
import BedsideFHIR
import BedsideMCP
import BedsideOpenAI
import BedsideServer
import BedsideStore
import Foundation
import Logging
import OTel
import ServiceLifecycle

/// `bedside`: the Bedside server. Reads flags, then the environment, then defaults, and runs
/// until SIGINT or SIGTERM.
@main
struct Bedside: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bedside",
        abstract: "Chat with an AI agent over clinical FHIR data, with every step shown live.",
        discussion: "Every option can also be set by the environment variable shown; a flag wins over the environment.",
        version: BedsideVersion.current,
        subcommands: [ImportCommand.self, KeysCommand.self]
    )

    @OptionGroup var options: Options

    func run() async throws {
        let settings = try options.resolve(environment: ProcessEnvironment.current)
        // Logs stay on stdout; inside a span they carry its trace_id and span_id.
        LoggingSystem.bootstrap(
            { label, provider in
                var handler = StreamLogHandler.standardOutput(label: label, metadataProvider: provider)
                handler.logLevel = settings.logLevel
                return handler
            },
            metadataProvider: OTel.makeLoggingMetadataProvider()
        )
        let logger = Logger(label: "bedside")
        let metrics = BedsideMetrics()
        // Before any HTTP client is created: each picks its tracer when it is configured.
        let tracingService = try settings.tracing.bootstrap(metrics: metrics)
        if settings.tracing.configuration == nil {
            print("Traces: off (set OTEL_EXPORTER_OTLP_ENDPOINT to export them)")
        } else {
            print("Traces: \(settings.tracing.destination)\(settings.tracing.captureContent ? ", with content" : "")")
        }
        let authentication = try settings.auth.makeAuthentication()
        let tls = try settings.auth.makeTLS()
        let store = try SQLiteEventStore(path: settings.databasePath)
        let clinicalData = try await openClinicalData(settings.clinical, logger: logger)
        // A question naming a seeded (synthetic, never an imported) patient, to start with.
        let example = settings.fhirServer == nil ? try? await SyntheticPopulation.exampleQuestion(in: clinicalData) : nil
        let agent = AgentSetup(
            settings: settings,
            fhirStore: clinicalData,
            audit: store,
            tracing: AgentTracing(captureContent: settings.tracing.captureContent),
            logger: logger
        )
        let mcpServer = settings.serveMCP ? MCPToolServer(tools: agent.fhirTools, version: BedsideVersion.current, logger: logger) : nil
        let patients: any PatientRecords =
            agent.remoteFHIR.map { RemotePatientRecords(source: $0, maxImportBytes: settings.clinical.maxImportBytes) }
            ?? FHIRPatientRecords(store: clinicalData, maxImportBytes: settings.clinical.maxImportBytes)
        let server = buildApplication(
            configuration: settings.server,
            dependencies: ServerDependencies(
                store: store,
                runner: agent.runner,
                logger: logger,
                patients: patients,
                metrics: metrics,
                tracing: settings.tracing.destination,
                mcpEndpoint: mcpServer,
                toolSources: agent.mcp,
                authentication: authentication,
                tls: tls,
                warning: settings.auth.warning
            )
        ) { port in
            let host = settings.server.host.contains(":") ? "[\(settings.server.host)]" : settings.server.host
            print("Bedside is running at \(tls == nil ? "http" : "https")://\(host):\(port)/ (Ctrl-C to stop)")
            print(
                "Sign-in: \(settings.auth.isEnabled ? settings.auth.modes.map(\.rawValue).sorted().joined(separator: ", ") : "none (the local user)")"
            )
            if let warning = settings.auth.warning { print("Warning: \(warning)") }
            if let example { print("Try asking: \(example)") }
            fflush(nil)  // the URL must show up at once even when stdout is a pipe
        }
        do {
            try await server.run(before: Self.servicesBeforeTheServer(tracing: tracingService, mcp: agent.mcp, mcpServer: mcpServer))
        } catch {
            await agent.shutdown()
            throw error
        }
        await agent.shutdown()
    }

    /// The services that start before the HTTP server and the hub, in start order; graceful
    /// shutdown stops the hub first (it ends the running turns), then the server, then these
    /// in reverse.
    ///
    /// The span exporter starts first and stops last, so the spans of the turns that shutdown
    /// ends are flushed. The MCP toolset connects (and reconnects) to its servers, whose tools
    /// join when ready; it stops after the hub, so the last tool calls of the turns being ended
    /// are still answered. The `/mcp` session map sweeps idle sessions; it stops after the HTTP
    /// server has stopped taking requests, then ends the sessions left.
    static func servicesBeforeTheServer(tracing: (any Service)?, mcp: MCPToolset?, mcpServer: MCPToolServer?) -> [any Service] {
        var services: [any Service] = []
        if let tracing { services.append(tracing) }
        if let mcp { services.append(mcp) }
        if let mcpServer { services.append(mcpServer) }
        return services
    }
}
