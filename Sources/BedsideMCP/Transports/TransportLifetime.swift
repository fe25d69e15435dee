import Synchronization

/// Whether a transport's connection to its server is still alive, and why it ended.
///
/// The SDK's `Client` does not fail requests in flight when a transport's stream ends, so the
/// toolset races each call against ``ended()`` to turn a dead server into a prompt tool error.
final class TransportLifetime: Sendable {
    private struct State {
        var reason: String?
        var waiters: [Int: CheckedContinuation<String, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    /// Why the connection ended, or nil while it is alive.
    var endReason: String? { state.withLock { $0.reason } }

    /// Marks the connection ended; the first reason wins.
    func end(_ reason: String) {
        let waiters = state.withLock { state -> [CheckedContinuation<String, Never>] in
            guard state.reason == nil else { return [] }
            state.reason = reason
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: reason) }
    }

    /// Waits until the connection ends and returns why; returns an empty reason when the
    /// waiting task is cancelled first.
    func ended() async -> String {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let reason = state.withLock { state -> String? in
                    if let reason = state.reason { return reason }
                    if Task.isCancelled { return "" }
                    state.waiters[id] = continuation
                    return nil
                }
                if let reason { continuation.resume(returning: reason) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: "")
        }
    }
}

/// A transport whose connection can end under Bedside: the server process exits, the event
/// stream closes.
protocol LifetimeTransport: Sendable {
    var lifetime: TransportLifetime { get }
}

/// A transport failure, worded for the model and the logs.
struct TransportError: Error, CustomStringConvertible {
    var description: String
}
