import BedsideCore
import Logging
import Synchronization

/// An event that has a seq and is on its way to the store and then to its session's connections.
///
/// It holds its session weakly: the persister only addresses sessions, it does not keep them
/// (the hub does, while they have events in flight), so no cycle runs through it.
struct PendingEvent: Sendable {
    /// Where the event is delivered once committed; nil once nothing holds the session.
    weak var session: Session?
    var stored: StoredEvent
    /// When it was emitted, for the delivery lag metric.
    var emittedAt: ContinuousClock.Instant

    init(session: Session, stored: StoredEvent, emittedAt: ContinuousClock.Instant) {
        self.session = session
        self.stored = stored
        self.emittedAt = emittedAt
    }

    /// The session the event belongs to: what batches are grouped by.
    var sessionID: SessionID { stored.sessionID }
}

/// Writes events to the store in batches, then hands each batch to its sessions for fan-out.
///
/// Group commit: while one batch is being written, newly emitted events gather into the next, so
/// a busy server writes many events per transaction and an idle one writes each event at once.
/// Events are fanned out only after their batch is committed, which is what lets a resuming client
/// read everything up to the session's delivered seq from the store and get the rest live.
/// Ordering per session holds because events are queued under their session's lock in seq order
/// and batches are written and delivered in queue order.
///
/// Failing closed: an event whose write fails is never delivered. When a batch fails, each of
/// its sessions is written on its own, so a failure is confined to the sessions it touches; a
/// session whose write failed is *held*: its unwritten events, and every later one, wait in
/// order, are retried with backoff, and are delivered once they commit. No seq is given twice,
/// and a seq no client has seen is the only kind that can be lost (when the process stops before
/// the store is back). While any session is held the store counts as unable to write
/// (``isWritable``): the hub refuses new messages and `/ready` answers 503. The retry backoff
/// and the shutdown deadline are measured on an injected clock.
final class EventPersister: Sendable {
    /// How held sessions are retried: the first wait, doubled up to the last.
    struct Retry: Sendable {
        var first: Duration = .milliseconds(50)
        var longest: Duration = .seconds(1)
        /// How long shutdown keeps retrying held events before giving them up.
        var atShutdown: Duration = .seconds(5)
    }

    private struct State {
        var pending: [PendingEvent] = []
        var waiting: CheckedContinuation<Void, Never>?
        var finished = false
        /// Set by the retry timer, so that a wait it could not resume does not begin.
        var timerFired = false
    }

    /// A session whose events could not be written, with them in seq order.
    private struct Held {
        var session: SessionID
        var events: [PendingEvent]
    }

    private let store: any EventStore
    private let logger: Logger
    private let retry: Retry
    private let clock: ElapsedClock
    private let state = Mutex(State())
    private let writable = Atomic(true)
    private let unwritten = Atomic(0)
    /// Called once for each session when its events first fail to be written.
    private let onHeld: @Sendable (Session) -> Void
    /// Called after each failed write, for the metrics.
    private let onFailure: @Sendable () -> Void

    init(
        store: any EventStore,
        logger: Logger,
        retry: Retry = Retry(),
        clock: ElapsedClock = ElapsedClock(),
        onHeld: @escaping @Sendable (Session) -> Void = { _ in },
        onFailure: @escaping @Sendable () -> Void = {}
    ) {
        self.store = store
        self.logger = logger
        self.retry = retry
        self.clock = clock
        self.onHeld = onHeld
        self.onFailure = onFailure
    }

    /// False while some session's events cannot be written.
    var isWritable: Bool { writable.load(ordering: .acquiring) }

    /// Events emitted and not yet written because writes are failing.
    var unwrittenEvents: Int { unwritten.load(ordering: .relaxed) }

    /// Queues an event; never waits. Returns false once the persister has finished.
    @discardableResult
    func enqueue(_ event: PendingEvent) -> Bool {
        let result: (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
            guard !state.finished else { return (false, nil) }
            state.pending.append(event)
            defer { state.waiting = nil }
            return (true, state.waiting)
        }
        result.1?.resume()
        return result.0
    }

    /// Stops accepting events; ``run()`` returns once everything queued is written and
    /// delivered, or, while writes fail, after ``Retry/atShutdown``.
    func finish() {
        let waiting = state.withLock { state in
            state.finished = true
            defer { state.waiting = nil }
            return state.waiting
        }
        waiting?.resume()
    }

    /// Writes and delivers batches until ``finish()`` is called and the queue is empty.
    func run() async {
        var held: [Held] = []
        var backoff = retry.first
        var nextRetry = clock.elapsed()
        var givingUpAt: Duration?
        while true {
            let (batch, finished) = await nextBatch(wakingAt: held.isEmpty ? nil : nextRetry)
            if finished {
                if held.isEmpty, batch.isEmpty { return }
                if givingUpAt == nil { givingUpAt = clock.elapsed() + retry.atShutdown }
                if batch.isEmpty, clock.elapsed() < nextRetry {
                    try? await clock.sleep(until: min(nextRetry, givingUpAt ?? nextRetry))
                }
            }
            // A held session's new events wait behind its unwritten ones.
            var fresh: [PendingEvent] = []
            fresh.reserveCapacity(batch.count)
            for event in batch {
                if let index = held.firstIndex(where: { $0.session == event.sessionID }) {
                    held[index].events.append(event)
                    unwritten.add(1, ordering: .relaxed)
                } else {
                    fresh.append(event)
                }
            }
            if !held.isEmpty, clock.elapsed() >= nextRetry {
                var stillFailing: [Held] = []
                for entry in held {
                    if await write(entry.events) {
                        unwritten.subtract(entry.events.count, ordering: .relaxed)
                        deliver(entry.events[...])
                        logger.notice(
                            "Events are written again",
                            metadata: ["session.id": "\(entry.session)", "events": "\(entry.events.count)"]
                        )
                    } else {
                        stillFailing.append(entry)
                    }
                }
                backoff = stillFailing.count < held.count ? retry.first : min(backoff * 2, retry.longest)
                nextRetry = clock.elapsed() + backoff
                held = stillFailing
            }
            if !fresh.isEmpty {
                let failed = await writeAndDeliver(fresh)
                if held.isEmpty, !failed.isEmpty { nextRetry = clock.elapsed() + backoff }
                for entry in failed {
                    unwritten.add(entry.events.count, ordering: .relaxed)
                    held.append(entry)
                    if let session = entry.events.first?.session { onHeld(session) }
                }
            }
            writable.store(held.isEmpty, ordering: .releasing)
            if let givingUpAt, !held.isEmpty, clock.elapsed() >= givingUpAt {
                // No client was sent these events; the next process continues from the store's last seq.
                let lost = held.reduce(0) { $0 + $1.events.count }
                logger.error(
                    "Stopping with events the store could not write; no client was sent them",
                    metadata: ["events": "\(lost)", "sessions": "\(held.count)"]
                )
                return
            }
        }
    }

    /// Writes `batch` in one transaction; when that fails, each session's events on their own.
    /// Delivers what committed; returns the sessions whose write failed, with their events.
    private func writeAndDeliver(_ batch: [PendingEvent]) async -> [Held] {
        if await write(batch) {
            deliver(batch[...])
            return []
        }
        var groups: [Held] = []
        var index: [SessionID: Int] = [:]
        for event in batch {
            if let position = index[event.sessionID] {
                groups[position].events.append(event)
            } else {
                index[event.sessionID] = groups.count
                groups.append(Held(session: event.sessionID, events: [event]))
            }
        }
        var failed: [Held] = []
        for group in groups {
            if await write(group.events) {
                deliver(group.events[...])
            } else {
                failed.append(group)
            }
        }
        return failed
    }

    /// One transaction; false (logged) when it fails.
    private func write(_ events: [PendingEvent]) async -> Bool {
        do {
            try await store.append(events.map(\.stored))
            return true
        } catch {
            onFailure()
            logger.error(
                "Events could not be written; they wait and are not delivered",
                metadata: ["error": "\(error)", "events": "\(events.count)"]
            )
            return false
        }
    }

    /// The queued events, waiting for some (or until `wakingAt`); `finished` once ``finish()``
    /// was called.
    private func nextBatch(wakingAt: Duration?) async -> ([PendingEvent], finished: Bool) {
        state.withLock { $0.timerFired = false }
        let timer = wakingAt.map { instant in
            Task { [clock] in
                // Cancelled (below) once the batch is taken: it never outlives this call.
                guard (try? await clock.sleep(until: instant)) != nil else { return }
                let waiting = state.withLock { state in
                    state.timerFired = true
                    defer { state.waiting = nil }
                    return state.waiting
                }
                waiting?.resume()
            }
        }
        defer { timer?.cancel() }
        while true {
            let ready: ([PendingEvent], Bool)? = state.withLock { state in
                if !state.pending.isEmpty || state.finished {
                    defer { state.pending.removeAll(keepingCapacity: true) }
                    return (state.pending, state.finished)
                }
                return state.timerFired ? ([], false) : nil
            }
            if let ready { return ready }
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if !state.pending.isEmpty || state.finished || state.timerFired { return true }
                    state.waiting = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    private func deliver(_ batch: ArraySlice<PendingEvent>) {
        var start = batch.startIndex
        while start < batch.endIndex {
            let session = batch[start].sessionID
            var end = start + 1
            while end < batch.endIndex, batch[end].sessionID == session { end += 1 }
            batch[start].session?.deliver(batch[start..<end])
            start = end
        }
    }
}
