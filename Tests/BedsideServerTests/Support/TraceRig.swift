import AsyncHTTPClient
import BedsideAgent
import BedsideCore
import BedsideOpenAI
import BedsideServer
import BedsideTestSupport
import Foundation
import Logging
import OTel
import ServiceLifecycle
import Synchronization
import Tracing

/// A Bedside whose agent talks to a ``FakeOpenAIServer`` and exports its spans with swift-otel's
/// real OTLP/HTTP exporter to `tracesURL` (an ``OTLPReceiver``, or a port nobody answers).
///
/// The exporter pipeline is built per rig, never bootstrapped globally, so every test has its own.
struct TraceRig {
    let fake: FakeOpenAIServer
    let model: OpenAIModel
    let httpClient: HTTPClient
    let server: LiveServer
    let metrics: BedsideMetrics
    let exporter: ServiceGroup?
    let exporterTask: Task<Void, any Error>?

    /// - Parameters:
    ///   - tracesURL: where spans go; nil runs the turn with tracing off (no-op tracer).
    ///   - tools: the agent's tools, given the traced HTTP client the model uses and the tracer.
    static func start(
        _ replies: [Reply],
        tracesURL: String?,
        captureContent: Bool = false,
        scheduleDelay: Duration = .milliseconds(100),
        tools: (HTTPClient, any Tracer) -> any Toolset = { _, _ in ChartTools() }
    ) async throws -> TraceRig {
        let fake = try await FakeOpenAIServer(replies)
        var exporter: ServiceGroup?
        var exporterTask: Task<Void, any Error>?
        let tracer: any Tracer
        if let tracesURL {
            var configuration = OTel.Configuration.default
            configuration.serviceName = "bedside-test"
            configuration.logs.enabled = false
            configuration.metrics.enabled = false
            configuration.diagnosticLogger = .custom(Logger(label: "otel", factory: { _ in SwiftLogNoOpLogHandler() }))
            configuration.traces.otlpExporter.endpoint = tracesURL
            configuration.traces.otlpExporter.protocol = .httpProtobuf
            configuration.traces.otlpExporter.timeout = .seconds(2)
            configuration.traces.batchSpanProcessor.scheduleDelay = scheduleDelay
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            tracer = backend.factory
            keptTracers.withLock { $0.append(backend.factory) }
            let group = ServiceGroup(
                configuration: .init(services: [.init(service: backend.service)], logger: Logger(label: "otel-test"))
            )
            exporter = group
            exporterTask = Task { try await group.run() }
        } else {
            tracer = NoOpTracer()
        }
        // The model's HTTP client traces with the same tracer, as one created after bootstrap would.
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.tracing.tracer = tracer
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let model = OpenAIModel(
            configuration: OpenAIConfiguration(
                provider: .openAI(baseURL: fake.baseURL, apiKey: "sk-test"),
                model: "gpt-wire",
                timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), stalledStream: .seconds(5)),
                retry: .init(maxAttempts: 1, baseDelay: .milliseconds(20), maxDelay: .milliseconds(100))
            ),
            httpClient: httpClient
        )
        let metrics = BedsideMetrics()
        let runner = AgentTurnRunner(
            model: model,
            tools: tools(httpClient, tracer),
            tracing: AgentTracing(tracer: tracer, captureContent: captureContent)
        )
        let server = try await LiveServer.start(runner: runner, metrics: metrics)
        return TraceRig(
            fake: fake,
            model: model,
            httpClient: httpClient,
            server: server,
            metrics: metrics,
            exporter: exporter,
            exporterTask: exporterTask
        )
    }

    /// Sends one message in a new session; returns the session id and every event of its turn.
    func turn(_ content: String) async throws -> (session: String, events: [JSONValue]) {
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, content))
        let events = try await socket.receiveTurn()
        try await socket.close()
        return (session, events)
    }

    /// Stops the server, then the exporter (which flushes what it holds, as at shutdown).
    func stop() async throws {
        try await server.stop()
        try await httpClient.shutdown()
        if let exporter, let exporterTask {
            await exporter.triggerGracefulShutdown()
            _ = await exporterTask.result
        }
        await fake.stop()
    }

    /// A model reply asking for two tools at once, then the answer.
    static let twoToolReplies: [Reply] = [
        .stream([
            toolChunk(index: 0, id: "call_a", name: "latest_lab", arguments: "{\"patient\":"),
            toolChunk(index: 1, id: "call_b", name: "list_conditions", arguments: "{\"patient\""),
            toolChunk(index: 0, arguments: "\"pat-1\",\"code\":\"2339-0\"}"),
            toolChunk(index: 1, arguments: ":\"pat-1\"}"),
            finishChunk("tool_calls"), usageChunk(prompt: 310, completion: 24),
        ]),
        .stream([textChunk("Glucose 5.4; "), textChunk("hypertension."), finishChunk("stop"), usageChunk(prompt: 402, completion: 11)]),
    ]
}

/// The tracers of every rig, kept for the life of the test process. A tracer's OTLP exporter
/// shuts its HTTP client down synchronously when it is freed, which traps on an event loop, and
/// the traced HTTP client's connection pool may free the tracer there after the rig is done.
private let keptTracers = Mutex<[any Tracer]>([])
