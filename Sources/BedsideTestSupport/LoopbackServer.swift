public import Hummingbird
import Logging

/// A Hummingbird server on 127.0.0.1 at a free port, running in a task until ``stop()``: how
/// every in-test server starts (the fake model, the OTLP receiver, FHIR and MCP stand-ins).
///
/// ```swift
/// let router = Router()
/// router.get("/fhir/Patient/:id") { _, _ in … }
/// let server = try await LoopbackServer.start(router: router, label: "fake-fhir")
/// defer { Task { await server.stop() } }
/// ```
public struct LoopbackServer: Sendable {
    /// The port the server listens on.
    public let port: Int
    private let task: Task<Void, any Error>

    /// The server refused to start: no port was reported.
    public struct NotStarted: Error {}

    /// Starts `router` and returns once the server listens. Its log stays quiet (level
    /// `critical`): a client that hangs up mid-stream is part of many tests.
    public static func start<Context: RequestContext>(router: Router<Context>, label: String) async throws -> LoopbackServer
    where Context.Source == ApplicationRequestContextSource {
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let task = Task {
            defer { portContinuation.finish() }
            try await app.runService()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else {
            task.cancel()
            throw NotStarted()
        }
        return LoopbackServer(port: port, task: task)
    }

    /// Stops the server and waits until it has stopped.
    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}
