import BedsideCore
import Synchronization

/// The per-user channel behind `GET /sessions/updates`: tells each of a principal's open lists
/// that one of their sessions was created, renamed, became active or was deleted.
///
/// It carries only which session changed; the stream reads the summary from the store. It never
/// carries a session's events, which go only to that session's sockets.
final class UserChannel: Sendable {
    enum Update: Sendable, Equatable {
        case changed(SessionID)
        case deleted(SessionID)
    }

    private struct State {
        var subscribers: [String: [UInt64: AsyncStream<Update>.Continuation]] = [:]
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// A stream of `owner`'s updates, until ``unsubscribe(owner:id:)``.
    func subscribe(owner: String) -> (id: UInt64, updates: AsyncStream<Update>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Update.self, bufferingPolicy: .bufferingNewest(256))
        let id = state.withLock { state in
            state.nextID += 1
            state.subscribers[owner, default: [:]][state.nextID] = continuation
            return state.nextID
        }
        return (id, stream)
    }

    func unsubscribe(owner: String, id: UInt64) {
        let continuation = state.withLock { state -> AsyncStream<Update>.Continuation? in
            let removed = state.subscribers[owner]?.removeValue(forKey: id)
            if state.subscribers[owner]?.isEmpty == true { state.subscribers[owner] = nil }
            return removed
        }
        continuation?.finish()
    }

    /// Tells every open list of the session's owner.
    func publish(_ update: Update) {
        let owner: String
        switch update {
        case .changed(let id), .deleted(let id): owner = id.owner
        }
        let continuations = state.withLock { $0.subscribers[owner].map { Array($0.values) } ?? [] }
        for continuation in continuations { continuation.yield(update) }
    }

    /// Whether anyone listens to `owner`: a delivery with no listener costs one lookup.
    func hasSubscribers(_ owner: String) -> Bool {
        state.withLock { $0.subscribers[owner] != nil }
    }

    /// Ends every stream (shutdown).
    func finishAll() {
        let all = state.withLock { state -> [AsyncStream<Update>.Continuation] in
            defer { state.subscribers = [:] }
            return state.subscribers.values.flatMap(\.values)
        }
        for continuation in all { continuation.finish() }
    }
}
