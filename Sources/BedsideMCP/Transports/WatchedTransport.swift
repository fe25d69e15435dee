import Foundation
import Logging
import MCP

/// Any MCP transport (an in-process `InMemoryTransport`, say) with a ``TransportLifetime``
/// that ends when its receive stream does, so that the toolset notices a lost server.
actor WatchedTransport: Transport, LifetimeTransport {
    nonisolated let logger: Logger
    nonisolated let lifetime = TransportLifetime()
    private let inner: any Transport

    init(_ inner: any Transport) {
        self.inner = inner
        self.logger = Logger(label: "bedside.mcp.transport")
    }

    func connect() async throws {
        try await inner.connect()
    }

    func disconnect() async {
        lifetime.end("disconnected")
        await inner.disconnect()
    }

    func send(_ data: Data) async throws {
        if let reason = lifetime.endReason { throw TransportError(description: reason) }
        try await inner.send(data)
    }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        let lifetime = self.lifetime
        let inner = self.inner
        return AsyncThrowingStream { continuation in
            let task = Task {
                var reason = "the connection closed"
                do {
                    for try await message in await inner.receive() { continuation.yield(message) }
                } catch {
                    reason = "the connection failed: \(error)"
                }
                lifetime.end(reason)
                continuation.finish(throwing: TransportError(description: reason))
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
