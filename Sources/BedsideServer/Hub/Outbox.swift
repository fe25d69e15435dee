import Synchronization

/// What a connection's writer is asked to do next.
enum OutboundFrame: Sendable {
    /// Send an event's JSON text; `seq` is nil for frames that belong to the connection only.
    case event(seq: Int64?, text: String)
    /// Send a session event as it is delivered live; `emittedAt` times its delivery lag.
    case live(seq: Int64, text: String, emittedAt: ContinuousClock.Instant)
    /// Send `connection` and replay the session's stored events after `lastSeq` (a `resume` frame).
    case replay(after: Int64)
}

/// Why and how a connection is to be closed.
struct CloseRequest: Sendable, Equatable {
    /// The WebSocket close code (1001 going away, 1008 policy, 1013 try again later).
    var code: UInt16
    var reason: String
    /// Write what is already queued before closing (shutdown, policy) or drop it (overflow).
    var drainFirst: Bool
}

/// A connection's bounded queue of outbound frames.
///
/// The emitting side never waits: ``push(_:)`` appends under a short lock and returns false when
/// the queue is full, at which point the outbox asks for the connection to be closed with 1013 and
/// drops everything queued (the client catches up on resume). The connection's writer task takes
/// frames in batches with ``next()``.
final class Outbox: Sendable {
    enum Item: Sendable {
        case frames([OutboundFrame])
        case close(CloseRequest)
    }

    private struct State {
        var queue: [OutboundFrame] = []
        var writerWaiting: CheckedContinuation<Item, Never>?
        var closeRequest: CloseRequest?
        var closeWaiting: CheckedContinuation<CloseRequest, Never>?
        var overflowed = false
    }

    let capacity: Int
    private let state: Mutex<State>

    init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State())
    }

    /// Queues a frame; false when the outbox is full or closing (the frame is not queued).
    @discardableResult
    func push(_ event: OutboundFrame) -> Bool {
        enum Action {
            case queued(Bool)
            case resumeWriter(CheckedContinuation<Item, Never>)
            case overflow(CloseRequest)
        }
        let action: Action = state.withLock { state in
            guard state.closeRequest == nil else { return .queued(false) }
            if let writer = state.writerWaiting {
                state.writerWaiting = nil
                return .resumeWriter(writer)
            }
            guard state.queue.count < capacity else {
                state.overflowed = true
                state.queue.removeAll()
                let request = CloseRequest(
                    code: 1013,
                    reason: "outbound queue overflow: reconnect and resume",
                    drainFirst: false
                )
                state.closeRequest = request
                return .overflow(request)
            }
            state.queue.append(event)
            return .queued(true)
        }
        switch action {
        case .queued(let queued):
            return queued
        case .resumeWriter(let writer):
            writer.resume(returning: .frames([event]))
            return true
        case .overflow(let request):
            notifyClose(request)
            return false
        }
    }

    /// Whether this outbox was closed because it overflowed.
    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// Asks for the connection to be closed. The first request wins.
    func requestClose(_ request: CloseRequest) {
        let writer: CheckedContinuation<Item, Never>? = state.withLock { state in
            guard state.closeRequest == nil else { return nil }
            state.closeRequest = request
            if !request.drainFirst { state.queue.removeAll() }
            guard state.queue.isEmpty, let writer = state.writerWaiting else { return nil }
            state.writerWaiting = nil
            return writer
        }
        writer?.resume(returning: .close(request))
        notifyClose(request)
    }

    /// The next batch of frames, or the close request once the queue is drained.
    func next() async -> Item {
        await withCheckedContinuation { continuation in
            let ready: Item? = state.withLock { state in
                if !state.queue.isEmpty {
                    defer { state.queue.removeAll(keepingCapacity: state.queue.count <= 64) }
                    return .frames(state.queue)
                }
                if let request = state.closeRequest { return .close(request) }
                state.writerWaiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits until a close that must not wait for the writer (overflow) is requested.
    func abortingClose() async -> CloseRequest {
        await withCheckedContinuation { continuation in
            let request: CloseRequest? = state.withLock { state in
                if let request = state.closeRequest, !request.drainFirst { return request }
                state.closeWaiting = continuation
                return nil
            }
            if let request { continuation.resume(returning: request) }
        }
    }

    private func notifyClose(_ request: CloseRequest) {
        guard !request.drainFirst else { return }
        let waiter: CheckedContinuation<CloseRequest, Never>? = state.withLock { state in
            defer { state.closeWaiting = nil }
            return state.closeWaiting
        }
        waiter?.resume(returning: request)
    }

    /// Refuses further frames and releases every suspended waiter; called when the connection ends.
    func finish() {
        let ended = CloseRequest(code: 1000, reason: "", drainFirst: false)
        let (writer, closeWaiter) = state.withLock { state in
            if state.closeRequest == nil { state.closeRequest = ended }
            state.queue.removeAll()
            defer {
                state.writerWaiting = nil
                state.closeWaiting = nil
            }
            return (state.writerWaiting, state.closeWaiting)
        }
        writer?.resume(returning: .close(ended))
        closeWaiter?.resume(returning: ended)
    }
}
