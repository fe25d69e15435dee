import Synchronization

/// The server's concurrent-turn slots: a turn runs only while it holds one, and a turn that
/// finds none free waits for one in a single first-in, first-out queue across all sessions.
///
/// ``admit()`` decides at once, without waiting, so the session can emit `turn` `started` or
/// `queued` in order with the user's message. A queued turn then awaits ``wait(for:)``; a turn
/// that ends gives its slot back with ``release()``, which hands it to the oldest waiter.
/// Cancelling a waiting task takes it out of the queue.
///
/// What it deliberately does not do: emit events, or know about sessions; and it never calls
/// out while holding its lock, so it may be used under a session's lock.
final class TurnSlots: Sendable {
    /// A place in the queue.
    struct Ticket: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    enum Admission: Sendable, Equatable {
        /// A slot was free and is now the caller's.
        case granted
        /// No slot is free: the caller waits with `ticket`; `position` 1 is the next to start.
        case queued(Ticket, position: Int)
    }

    private enum Waiter {
        /// In the queue; the continuation once the task waits.
        case waiting(CheckedContinuation<Void, any Error>?)
        /// Handed a slot before its task got to wait.
        case granted
        /// Cancelled before its task got to wait.
        case cancelled
    }

    private struct State {
        var running = 0
        var queue: [UInt64] = []
        var waiters: [UInt64: Waiter] = [:]
        var nextID: UInt64 = 0
    }

    /// Slots in the whole server; 0 means unlimited.
    let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// Turns holding a slot, and turns waiting for one.
    var counts: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.queue.count) } }

    /// Takes a free slot, or queues the caller.
    func admit() -> Admission {
        state.withLock { state in
            if capacity == 0 || state.running < capacity {
                state.running += 1
                return .granted
            }
            let id = state.nextID
            state.nextID += 1
            state.queue.append(id)
            state.waiters[id] = .waiting(nil)
            return .queued(Ticket(id: id), position: state.queue.count)
        }
    }

    /// Waits until `ticket` is handed a slot, which is then the caller's to ``release()``.
    /// Throws `CancellationError`, holding no slot, when the task is cancelled while waiting.
    func wait(for ticket: Ticket) async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready: Result<Void, any Error>? = state.withLock { state in
                    switch state.waiters[ticket.id] {
                    case .waiting:
                        state.waiters[ticket.id] = .waiting(continuation)
                        return nil
                    case .granted:
                        state.waiters[ticket.id] = nil
                        return .success(())
                    case .cancelled, nil:
                        state.waiters[ticket.id] = nil
                        return .failure(CancellationError())
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            cancel(ticket)
        }
    }

    /// Takes a waiting ticket out of the queue; a ticket already handed its slot keeps it.
    private func cancel(_ ticket: Ticket) {
        let continuation: CheckedContinuation<Void, any Error>? = state.withLock { state in
            guard case .waiting(let continuation) = state.waiters[ticket.id] else { return nil }
            state.queue.removeAll { $0 == ticket.id }
            state.waiters[ticket.id] = continuation == nil ? .cancelled : nil
            return continuation
        }
        continuation?.resume(throwing: CancellationError())
    }

    /// Gives a slot back: to the oldest waiter, or to the free slots when none waits.
    func release() {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { state in
            while !state.queue.isEmpty {
                let id = state.queue.removeFirst()
                guard case .waiting(let continuation) = state.waiters[id] else { continue }
                state.waiters[id] = continuation == nil ? .granted : nil
                return continuation
            }
            state.running -= 1
            return nil
        }
        next?.resume()
    }
}
