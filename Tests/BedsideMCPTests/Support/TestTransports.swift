import Foundation
import Logging
import MCP
import Synchronization

/// Lines the parts of a test write, in the order they happen.
final class Log: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

/// A wait that ignores cancellation and ends only when the gate opens: like an MCP request,
/// which waits for its answer whatever happens to the task awaiting it.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let opened = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if opened { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A transport to a server that refuses every connection; counts the attempts.
actor RefusingTransport: MCP.Transport {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    nonisolated let logger = Logger(label: "bedside.mcp.tests.refusing")
    private let attempts: Log

    /// - Parameter attempts: gets one line per connection attempt.
    init(attempts: Log) { self.attempts = attempts }

    func connect() async throws {
        attempts.append("attempt")
        throw Refused()
    }

    func disconnect() async {}
    func send(_ data: Data) async throws { throw Refused() }
    func receive() -> AsyncThrowingStream<Data, any Error> { AsyncThrowingStream { $0.finish() } }
}

/// An in-process transport that writes `disconnected` to a log when the client lets it go.
actor RecordingTransport: MCP.Transport {
    nonisolated let logger = Logger(label: "bedside.mcp.tests.recording")
    private let inner: InMemoryTransport
    private let log: Log
    private var incoming: AsyncThrowingStream<Data, any Error>?

    init(_ inner: InMemoryTransport, log: Log) {
        self.inner = inner
        self.log = log
    }

    func connect() async throws {
        try await inner.connect()
        incoming = await inner.receive()
    }

    func disconnect() async {
        log.append("toolset disconnected")
        await inner.disconnect()
    }

    func send(_ data: Data) async throws { try await inner.send(data) }

    func receive() -> AsyncThrowingStream<Data, any Error> {
        incoming ?? AsyncThrowingStream { $0.finish() }
    }
}
