import BedsideCore
import BedsideServer
import BedsideStore
import Foundation
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A real Bedside server on 127.0.0.1 with a free port, run by the same `ServiceGroup` the
/// executable uses, for tests that talk to it over real sockets.
final class LiveServer: Sendable {
    let port: Int
    let store: any EventStore
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, store: any EventStore, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.store = store
        self.group = group
        self.task = task
    }

    static func start(
        store: any EventStore = InMemoryEventStore(),
        runner: any TurnRunner = ScriptedRunner(),
        patients: (any PatientRecords)? = nil,
        metrics: BedsideMetrics = BedsideMetrics(),
        mcpEndpoint: (any MCPEndpoint)? = nil,
        toolSources: (any ToolSourceStatusProvider)? = nil,
        authentication: Authentication = .none,
        tls: TLSConfiguration? = nil,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> LiveServer {
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0)
        configure(&configuration)
        var logger = Logger(label: "bedside-test")
        logger.logLevel = ProcessInfo.processInfo.environment["BEDSIDE_TEST_LOG"].flatMap { Logger.Level(rawValue: $0) } ?? .critical
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let server = buildApplication(
            configuration: configuration,
            dependencies: ServerDependencies(
                store: store,
                runner: runner,
                logger: logger,
                patients: patients,
                metrics: metrics,
                mcpEndpoint: mcpEndpoint,
                toolSources: toolSources,
                authentication: authentication,
                tls: tls
            )
        ) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        let group = ServiceGroup(
            configuration: .init(services: server.services.map { .init(service: $0) }, logger: logger)
        )
        let task = Task {
            defer { portContinuation.finish() }  // a server that fails to start must not leave the test waiting
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            try await task.value
            throw TestFailure("server did not start")
        }
        return LiveServer(port: port, store: store, group: group, task: task)
    }

    /// Graceful shutdown, as SIGTERM does; waits until every service has stopped.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func socketURL(_ session: String, lastSeq: Int64? = nil) -> String {
        var url = "ws://127.0.0.1:\(port)/ws?session_id=\(session)"
        if let lastSeq { url += "&last_seq=\(lastSeq)" }
        return url
    }

    /// Connects to `session` and consumes its `connection` event.
    func open(_ session: String, lastSeq: Int64? = nil, headers: [String: String] = [:]) async throws -> TestSocket {
        let socket = try await TestSocket.connect(socketURL(session, lastSeq: lastSeq), headers: headers)
        guard try await socket.receive().type == "connection" else { throw TestFailure("no connection event first") }
        return socket
    }

    /// A plain HTTP GET; returns the status and the body.
    func get(_ path: String, headers: [String: String] = [:]) async throws -> (Int, String) {
        try await HTTPGet.fetch(port: port, path: path, headers: headers)
    }

    /// An HTTP POST of `body`; returns the status, the header fields (lowercased names) and the body.
    func post(_ path: String, body: Data, headers: [String: String] = [:]) async throws -> HTTPResponseText {
        try await HTTPGet.perform(port: port, method: "POST", path: path, headers: headers, body: body)
    }

    /// A plain HTTP GET; returns the status, the header fields (names lowercased) and the body.
    func reply(_ path: String) async throws -> HTTPGet.Reply {
        try await HTTPGet.fetchReply(port: port, path: path, headers: [:])
    }

    /// The session's whole persisted history, through the HTTP endpoint.
    func history(_ session: String) async throws -> [JSONValue] {
        let (status, body) = try await get("/sessions/\(session)/events?after=0&limit=10000")
        guard status == 200 else { throw TestFailure("history: HTTP \(status) \(body)") }
        guard case .array(let events)? = try JSONValue.parse(body)["events"] else { throw TestFailure("no events") }
        return events
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    static func parse(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    var type: String? { self["type"]?.stringValue }
    var seq: Int64? { self["seq"]?.integerValue }
    var code: String? { self["code"]?.stringValue }
    var status: String? { self["status"]?.stringValue }
}

/// A unique, valid session id for one test.
func newSessionID(_ prefix: String = "test") -> String {
    "\(prefix)-\(UUID().uuidString.lowercased())"
}

/// A scratch directory removed at the end of a test.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "bedside-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}
