import NIOCore
import Synchronization

/// What a connection is asked to send next.
enum OutboundFrame: Sendable {
    /// Send an event's JSON text; `seq` is nil for frames that belong to the connection only.
    case event(seq: Int64?, text: String)
    /// Send a session event as it is delivered live. `bytes` is the event's JSON, encoded once
    /// and shared by every connection of the session; `emittedAt` times its delivery lag.
    case live(seq: Int64, bytes: ByteBuffer, emittedAt: ContinuousClock.Instant)
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

/// A connection's bounded queue of outbound frames, between the session that fills it from any
/// thread and the connection that empties it on its event loop.
///
/// The emitting side never waits: ``push(_:)`` appends under a short lock and returns false when
/// the queue is full, at which point the outbox drops everything queued and asks for the
/// connection to be closed with 1013 (the client catches up on resume). The first frame queued
/// while the consumer is not already due calls `wake` once, outside the lock; the consumer then
/// empties the queue with ``take()`` (on its own event loop, for a socket) whenever it can write.
/// So a batch of events costs a connection one wake-up, and a socket that cannot take more keeps
/// its frames here, counted against the capacity, rather than in an unbounded write buffer.
final class Outbox: Sendable {
    /// What ``take()`` hands the consumer.
    struct Batch: Sendable {
        /// Frames in order; a `.replay` is always the last of its batch, so that the frames
        /// after it wait in the outbox until the replay is done.
        var frames: [OutboundFrame]
        /// The close to perform once `frames` are written: set when the queue is empty and a
        /// close was requested.
        var close: CloseRequest?
    }

    private struct State {
        var queue: [OutboundFrame] = []
        var closeRequest: CloseRequest?
        /// The consumer was woken and has not emptied the queue since: no new wake is due.
        var due = false
        var overflowed = false
        var finished = false
        var wake: (@Sendable () -> Void)?
    }

    let capacity: Int
    /// Where a turn started by this connection's message prefers to run: the connection's
    /// event loop (nil: the global executor).
    let turnExecutor: (any TaskExecutor)?
    private let state: Mutex<State>

    /// - Parameter wake: called (outside any lock) when frames or a close wait and the consumer
    ///   was not already told; it must not call back into the outbox synchronously.
    init(capacity: Int, turnExecutor: (any TaskExecutor)? = nil, wake: @escaping @Sendable () -> Void) {
        self.capacity = capacity
        self.turnExecutor = turnExecutor
        self.state = Mutex(State(wake: wake))
    }

    /// Queues a frame; false when the outbox is full or closing (the frame is not queued).
    @discardableResult
    func push(_ frame: OutboundFrame) -> Bool {
        let (queued, wake): (Bool, (@Sendable () -> Void)?) = state.withLock { state in
            guard state.closeRequest == nil else { return (false, nil) }
            guard state.queue.count < capacity else {
                state.overflowed = true
                state.queue.removeAll()
                state.closeRequest = CloseRequest(
                    code: 1013,
                    reason: "outbound queue overflow: reconnect and resume",
                    drainFirst: false
                )
                return (false, Self.becomeDue(&state))
            }
            state.queue.append(frame)
            return (true, Self.becomeDue(&state))
        }
        wake?()
        return queued
    }

    /// Whether this outbox was closed because it overflowed.
    var overflowed: Bool { state.withLock { $0.overflowed } }

    /// A close requested without draining (an overflow), which the consumer performs at once,
    /// whether or not its socket can take more.
    var abortingClose: CloseRequest? {
        state.withLock { state in state.closeRequest.flatMap { $0.drainFirst ? nil : $0 } }
    }

    /// Asks for the connection to be closed. The first request wins.
    func requestClose(_ request: CloseRequest) {
        let wake: (@Sendable () -> Void)? = state.withLock { state in
            guard state.closeRequest == nil else { return nil }
            state.closeRequest = request
            if !request.drainFirst { state.queue.removeAll() }
            return Self.becomeDue(&state)
        }
        wake?()
    }

    /// The frames queued, up to and including the first `.replay`, and the close request once
    /// nothing is left before it. The consumer is due again only when the queue is empty.
    func take() -> Batch {
        state.withLock { state in
            var batch = Batch(frames: [])
            if let replay = state.queue.firstIndex(where: { if case .replay = $0 { true } else { false } }) {
                batch.frames = Array(state.queue[...replay])
                state.queue.removeSubrange(...replay)
            } else {
                swap(&batch.frames, &state.queue)
                state.queue.reserveCapacity(min(batch.frames.count, 64))
            }
            if state.queue.isEmpty {
                batch.close = state.closeRequest
                state.due = false
            }
            return batch
        }
    }

    /// Refuses further frames and forgets the consumer; called when the connection has ended.
    func finish() {
        state.withLock { state in
            if state.closeRequest == nil { state.closeRequest = CloseRequest(code: 1000, reason: "", drainFirst: false) }
            state.queue.removeAll()
            state.finished = true
            state.wake = nil
        }
    }

    /// The consumer's wake-up when it is not already due (and the outbox is not finished).
    private static func becomeDue(_ state: inout State) -> (@Sendable () -> Void)? {
        guard !state.due, !state.finished else { return nil }
        state.due = true
        return state.wake
    }
}
