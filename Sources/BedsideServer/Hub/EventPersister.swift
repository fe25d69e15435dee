import BedsideCore
import Logging
import Synchronization

/// An event that has a seq and is on its way to the store and then to its session's connections.
struct PendingEvent: Sendable {
    var session: Session
    var stored: StoredEvent
    /// When it was emitted, for the delivery lag metric.
    var emittedAt: ContinuousClock.Instant
}

/// Writes events to the store in batches, then hands each batch to its sessions for fan-out.
///
/// Group commit: while one batch is being written, newly emitted events gather into the next, so
/// a busy server writes many events per transaction and an idle one writes each event at once.
/// Events are fanned out only after their batch is committed, which is what lets a resuming client
/// read everything up to the session's delivered seq from the store and get the rest live.
/// Ordering per session holds because events are queued under their session's lock in seq order
/// and batches are written and delivered in queue order.
final class EventPersister: Sendable {
    private struct State {
        var pending: [PendingEvent] = []
        var waiting: CheckedContinuation<[PendingEvent]?, Never>?
        var finished = false
    }

    private let store: any EventStore
    private let logger: Logger
    private let state = Mutex(State())

    init(store: any EventStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Queues an event; never waits. Returns false once the persister has finished.
    @discardableResult
    func enqueue(_ event: PendingEvent) -> Bool {
        let result: (Bool, CheckedContinuation<[PendingEvent]?, Never>?) = state.withLock { state in
            guard !state.finished else { return (false, nil) }
            if let waiting = state.waiting {
                state.waiting = nil
                return (true, waiting)
            }
            state.pending.append(event)
            return (true, nil)
        }
        result.1?.resume(returning: [event])
        return result.0
    }

    /// Stops accepting events; ``run()`` returns once everything queued is written and delivered.
    func finish() {
        let waiting = state.withLock { state in
            state.finished = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume(returning: nil)
    }

    /// Writes and delivers batches until ``finish()`` is called and the queue is empty.
    func run() async {
        while let batch = await nextBatch() {
            await write(batch)
            deliver(batch)
        }
    }

    private func nextBatch() async -> [PendingEvent]? {
        await withCheckedContinuation { continuation in
            let ready: [PendingEvent]?? = state.withLock { state in
                if !state.pending.isEmpty {
                    defer { state.pending.removeAll(keepingCapacity: true) }
                    return .some(state.pending)
                }
                if state.finished { return .some(nil) }
                state.waiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func write(_ batch: [PendingEvent]) async {
        let events = batch.map(\.stored)
        var attempt = 0
        while true {
            do {
                try await store.append(events)
                return
            } catch {
                attempt += 1
                guard attempt < 3 else {
                    // Live clients still get the events; the history has a hole that resume cannot fill.
                    logger.error(
                        "Events could not be persisted; delivering them live only",
                        metadata: ["error": "\(error)", "events": "\(events.count)"]
                    )
                    return
                }
                try? await Task.sleep(for: .milliseconds(20 * attempt))
            }
        }
    }

    private func deliver(_ batch: [PendingEvent]) {
        var start = 0
        while start < batch.count {
            let session = batch[start].session
            var end = start + 1
            while end < batch.count, batch[end].session === session { end += 1 }
            session.deliver(batch[start..<end])
            start = end
        }
    }
}
