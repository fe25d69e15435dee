import BedsideCore
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

/// A real WebSocket client driven step by step: `send`, then `receive` with a timeout.
///
/// `reading: false` makes a client that never reads until `startReading()` is called, so the
/// server sees a consumer that has stopped.
final class TestSocket: Sendable {
    private let inbox: Inbox
    private let outbound: WebSocketOutboundWriter
    var outboundWriter: WebSocketOutboundWriter { outbound }
    private let task: Task<WebSocketCloseFrame?, any Error>
    private let readGate: AsyncStream<Void>.Continuation

    private init(
        inbox: Inbox,
        outbound: WebSocketOutboundWriter,
        task: Task<WebSocketCloseFrame?, any Error>,
        readGate: AsyncStream<Void>.Continuation
    ) {
        self.inbox = inbox
        self.outbound = outbound
        self.task = task
        self.readGate = readGate
    }

    static func connect(
        _ url: String,
        origin: String? = nil,
        headers extra: [String: String] = [:],
        reading: Bool = true
    ) async throws -> TestSocket {
        let inbox = Inbox()
        let (writers, writerSink) = AsyncStream.makeStream(of: WebSocketOutboundWriter.self)
        let (gate, gateSink) = AsyncStream.makeStream(of: Void.self)
        if reading { gateSink.yield() }
        var headers = HTTPFields()
        if let origin { headers[.origin] = origin }
        for (name, value) in extra {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        let task = Task {
            defer {
                inbox.finish()
                writerSink.finish()
            }
            return try await WebSocketClient.connect(
                url: url,
                configuration: .init(maxFrameSize: 1 << 24, additionalHeaders: headers),
                logger: Logger(label: "test-socket")
            ) { inbound, outbound, _ in
                writerSink.yield(outbound)
                var gateIterator = gate.makeAsyncIterator()
                _ = await gateIterator.next()
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    if case .text(let text) = message { inbox.put(text) }
                }
            }
        }
        var writerIterator = writers.makeAsyncIterator()
        guard let outbound = await writerIterator.next() else {
            _ = try await task.value  // surfaces the upgrade failure
            throw TestFailure("connection ended before it opened")
        }
        return TestSocket(inbox: inbox, outbound: outbound, task: task, readGate: gateSink)
    }

    func startReading() { readGate.yield() }

    func send(_ text: String) async throws {
        try await outbound.write(.text(text))
    }

    func send(_ value: JSONValue) async throws {
        var writer = JSONWriter()
        writer.value(value)
        try await send(writer.text)
    }

    func sendBinary(_ bytes: [UInt8]) async throws {
        try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// Sends a message in several frames (a fragmented message).
    func sendFragmented(_ text: String, parts: Int) async throws {
        let bytes = Array(text.utf8)
        let size = (bytes.count + parts - 1) / parts
        var offset = 0
        var first = true
        while offset < bytes.count {
            let end = min(offset + size, bytes.count)
            let frame = WebSocketFrame(
                fin: end == bytes.count,
                opcode: first ? .text : .continuation,
                maskKey: .random(),
                data: ByteBuffer(bytes: bytes[offset..<end])
            )
            try await outbound.write(.custom(frame))
            first = false
            offset = end
        }
    }

    /// The next event, or a failure after `timeout`.
    func receive(timeout: Duration = .seconds(60)) async throws -> JSONValue {
        guard let text = try await receiveText(timeout: timeout) else {
            throw TestFailure("connection closed while waiting for an event")
        }
        return try JSONValue.parse(text)
    }

    /// The next raw text frame, nil when the connection has ended.
    func receiveText(timeout: Duration = .seconds(60)) async throws -> String? {
        switch await inbox.take(timeout: timeout) {
        case .message(let text): return text
        case .ended: return nil
        case .timedOut: throw TestFailure("no event within \(timeout)")
        }
    }

    /// The next `count` events.
    func receive(count: Int, timeout: Duration = .seconds(60)) async throws -> [JSONValue] {
        var events: [JSONValue] = []
        for _ in 0..<count { events.append(try await receive(timeout: timeout)) }
        return events
    }

    /// Receives events until one matches, returning all received (the match last).
    func receive(until predicate: (JSONValue) -> Bool, timeout: Duration = .seconds(60)) async throws -> [JSONValue] {
        var events: [JSONValue] = []
        while true {
            let event = try await receive(timeout: timeout)
            events.append(event)
            if predicate(event) { return events }
        }
    }

    /// Receives events until the current turn ends.
    func receiveTurn(timeout: Duration = .seconds(60)) async throws -> [JSONValue] {
        try await receive(until: { $0.type == "turn" && $0.status != "started" }, timeout: timeout)
    }

    /// Asserts that nothing arrives for `duration`.
    func expectSilence(for duration: Duration = .milliseconds(200)) async throws {
        do {
            let text = try await receiveText(timeout: duration)
            throw TestFailure("expected silence, got \(text ?? "close")")
        } catch let failure as TestFailure where failure.description.hasPrefix("no event") {
            return
        }
    }

    /// Closes normally and returns the close frame the server answered with.
    func close() async throws {
        try? await outbound.close(.normalClosure, reason: nil)
        _ = try? await task.value
    }

    /// Drops the connection without a close handshake.
    func drop() async {
        task.cancel()
        _ = try? await task.value
    }

    /// Waits for the server to close the connection; returns its close frame.
    func closed(timeout: Duration = .seconds(60)) async throws -> WebSocketCloseFrame? {
        // The client task cannot be cancelled from here without closing it ourselves, so race it
        // against a timer with unstructured tasks rather than a task group that would wait for it.
        let gate = OnceGate<WebSocketCloseFrame?>()
        return try await withCheckedThrowingContinuation { continuation in
            gate.arm(continuation)
            let task = self.task
            Task { gate.finish(await task.result) }
            Task {
                try? await Task.sleep(for: timeout)
                gate.finish(.failure(TestFailure("connection not closed within \(timeout)")))
            }
        }
    }
}

/// Resumes a continuation with the first of several racing results.
private final class OnceGate<Value: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<Value, any Error>?>(nil)

    func arm(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation.withLock { $0 = continuation }
    }

    func finish(_ result: Result<Value, any Error>) {
        continuation.withLock { $0.take() }?.resume(with: result)
    }
}

/// Received text frames, taken one at a time with a timeout that loses nothing.
private final class Inbox: Sendable {
    enum Outcome {
        case message(String)
        case ended, timedOut
    }

    private struct State {
        var messages: [String] = []
        var ended = false
        var waiter: (id: Int, continuation: CheckedContinuation<Outcome, Never>)?
        var nextID = 0
    }

    private let state = Mutex(State())

    func put(_ text: String) {
        let waiter = state.withLock { state -> CheckedContinuation<Outcome, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            state.messages.append(text)
            return nil
        }
        waiter?.resume(returning: .message(text))
    }

    func finish() {
        let waiter = state.withLock { state in
            state.ended = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: .ended)
    }

    func take(timeout: Duration) async -> Outcome {
        await withCheckedContinuation { continuation in
            let (ready, id): (Outcome?, Int) = state.withLock { state in
                if !state.messages.isEmpty { return (.message(state.messages.removeFirst()), 0) }
                if state.ended { return (.ended, 0) }
                state.nextID += 1
                state.waiter = (state.nextID, continuation)
                return (nil, state.nextID)
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = self.state.withLock { state -> CheckedContinuation<Outcome, Never>? in
                    guard let waiter = state.waiter, waiter.id == id else { return nil }
                    state.waiter = nil
                    return waiter.continuation
                }
                expired?.resume(returning: .timedOut)
            }
        }
    }
}

extension WebSocketMaskingKey {
    static func random() -> WebSocketMaskingKey {
        WebSocketMaskingKey((0..<4).map { _ in UInt8.random(in: 0...255) })!
    }
}

extension TestSocket {
    /// Sends a frame exactly as given (opcode, fin, payload).
    func sendRaw(_ frame: WebSocketFrame) async throws {
        try await outboundWriter.write(.custom(frame))
    }
}

extension TestSocket {
    /// Asks a question, cancels once the first delta arrives, and returns the rest of the turn and
    /// how long it took from sending `cancel` to the turn's end. Checks what every cancelled turn
    /// must show: the partial reply kept as the final frame, marked cancelled, the turn ended
    /// `cancelled_by_user`, and nothing after it.
    func cancelMidReply(in session: String) async throws -> (rest: [JSONValue], elapsed: Duration) {
        try await send(Frame.message(session, "Tell me everything"))
        _ = try await receive(until: { $0.type == "assistant" })
        let clock = ContinuousClock()
        let sent = clock.now
        try await send(Frame.cancel(session))
        let rest = try await receiveTurn()
        let elapsed = clock.now - sent
        let final = try #require(rest.last { $0.type == "assistant" })
        #expect(final["streaming"] == .bool(false))
        #expect(final["cancelled"] == .bool(true))
        #expect(rest.last?.status == "cancelled")
        #expect(rest.last?["reason"]?.stringValue == "cancelled_by_user")
        try await expectSilence()  // no delta after the turn ended
        return (rest, elapsed)
    }
}
