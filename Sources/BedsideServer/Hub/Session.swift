import BedsideCore
import BedsideProtocol
import Logging
import NIOCore
import Synchronization

/// One active session: the shell that performs what its ``SessionMachine`` decides.
///
/// The machine (seq, conversation, connections, admission, the turn) sits behind one lock that
/// only this session's work takes, so sessions never contend with each other. Under that lock
/// the shell feeds the machine an input and performs at once what must keep the session's order:
/// queueing events for the store, asking the turn limits, starting the turn's task. Everything
/// else (replies, deliveries, metrics, cancelling) happens after the lock is released.
///
/// One event's way: ``emit(_:turnID:traceID:spanID:timestamp:)`` gives it its seq and encoding
/// and queues it with the ``EventPersister``, without waiting; once its batch is committed the
/// persister calls ``deliver(_:)``, which puts it in every connection's ``Outbox``.
///
/// What it deliberately does not do: hold its hub. It is given what it needs
/// (``SessionDependencies``).
final class Session: Sendable {
    typealias Machine = SessionMachine<Outbox>

    /// What the lock guards: the machine, and the one thing it cannot hold, the turn's task.
    struct Locked {
        var machine: Machine
        var turnTask: Task<Void, Never>?
    }

    /// What was decided under the lock and is performed after it.
    struct Deferred {
        var actions: [Machine.Action] = []
        var cancel: Task<Void, Never>?
    }

    let id: SessionID
    let dependencies: SessionDependencies
    let state: Mutex<Locked>

    init(id: SessionID, snapshot: SessionSnapshot, dependencies: SessionDependencies) {
        self.id = id
        self.dependencies = dependencies
        let machine = Machine(
            id: id,
            snapshot: snapshot,
            maxTurnsPerMinute: dependencies.limiter.limits.maxTurnsPerMinute,
            coalesceDeltas: dependencies.coalesceDeltas
        )
        self.state = Mutex(Locked(machine: machine))
    }

    /// The machine's time now: the hub's clock and the wall clock.
    var now: Machine.Time { Machine.Time(elapsed: dependencies.clock.elapsed(), timestamp: .now()) }

    // MARK: Feeding the machine

    /// Feeds `input` to the machine under the lock and performs what must happen in order
    /// there; returns the rest, for ``perform(_:replyingTo:)`` once the lock is released.
    func advance(_ input: Machine.Input, turnExecutor: (any TaskExecutor)? = nil) -> Deferred {
        let time = now
        return state.withLock { locked in
            var deferred = Deferred()
            var inputs = [input]
            while !inputs.isEmpty {
                let next = inputs.removeFirst()
                for action in locked.machine.handle(next, at: time) {
                    switch action {
                    case .persist(let stored):
                        persist(stored)
                    case .checkTurnRate(let rateKey):
                        inputs.append(.turnRate(dependencies.limiter.admitTurn(rateKey: rateKey)))
                    case .takeTurnSlot:
                        inputs.append(.turnSlot(dependencies.limiter.slots.admit()))
                    case .startTurn(let start):
                        locked.turnTask = Task(executorPreference: turnExecutor) { await self.runTurn(start) }
                    case .queueTurn(let start, let ticket):
                        locked.turnTask = Task(executorPreference: turnExecutor) {
                            await self.runQueuedTurn(start, ticket: ticket)
                        }
                    case .cancelTurnTask:
                        deferred.cancel = locked.turnTask
                    default:
                        deferred.actions.append(action)
                    }
                }
            }
            if locked.machine.turn == nil { locked.turnTask = nil }
            return deferred
        }
    }

    /// Performs what ``advance(_:)`` left for after the lock.
    func perform(_ deferred: Deferred, replyingTo connection: Outbox? = nil) {
        deferred.cancel?.cancel()
        for action in deferred.actions {
            switch action {
            case .reply(let reply):
                if let connection { answer(connection, reply) }
            case .releaseTurnSlot:
                dependencies.limiter.slots.release()
            case .turnEnded(let status, let duration):
                dependencies.metrics.turnEnded(status: status.rawValue, duration: duration)
            case .limitReached(let limit):
                dependencies.metrics.limitReached(limit)
            case .publishSummaryChange:
                if dependencies.userChannel.hasSubscribers(id.owner) { dependencies.userChannel.publish(.changed(id)) }
            case .idle:
                dependencies.becameIdle(self)
            case .scheduleDeltaFlush(let after, let generation):
                scheduleDeltaFlush(after: after, generation: generation)
            case .ignored(let why):
                dependencies.logger.debug("Session input ignored", metadata: ["session.id": "\(id)", "why": "\(why)"])
            case .persist, .checkTurnRate, .takeTurnSlot, .startTurn, .queueTurn, .runTurn, .cancelTurnTask, .deliver,
                .attached, .refusedConnection, .evicted:
                // Performed under the lock, or read by the caller.
                break
            }
        }
    }

    /// Feeds `input` and performs all it asks for.
    @discardableResult
    func handle(_ input: Machine.Input, replyingTo connection: Outbox? = nil) -> [Machine.Action] {
        let deferred = advance(input, turnExecutor: connection?.turnExecutor)
        perform(deferred, replyingTo: connection)
        return deferred.actions
    }

    /// Queues a stored event for the store; called under the lock, so in seq order.
    private func persist(_ stored: StoredEvent) {
        dependencies.metrics.eventEmitted(type: stored.type)
        if !dependencies.enqueue(PendingEvent(session: self, stored: stored, emittedAt: .now)) {
            dependencies.logger.warning(
                "Event emitted after shutdown was dropped",
                metadata: ["session.id": "\(id)", "event.type": "\(stored.type)"]
            )
        }
    }

    private func answer(_ connection: Outbox, _ reply: Machine.Reply) {
        switch reply {
        case .duplicate(let clientMessageID):
            // Already accepted: answer this connection with the event it was given (same seq),
            // as a direct reply that bypasses the connection's seq filter; clients dedupe by
            // seq. If the event is still on its way to the store, it reaches the connection live.
            let (store, id) = (dependencies.store, id)
            Task {
                if let event = try? await store.userEvent(in: id, clientMessageID: clientMessageID) {
                    connection.push(.event(seq: nil, text: event.json))
                }
            }
        case .error(let code, let message, let retryAfterMilliseconds):
            connection.push(.connectionError(code, message, session: id, retryAfterMilliseconds: retryAfterMilliseconds))
        }
    }

    // MARK: Emission

    /// Assigns the next seq, encodes the event and queues it for persistence and fan-out.
    @discardableResult
    func emit(
        _ payload: EventPayload,
        turnID: String?,
        traceID: String? = nil,
        spanID: String? = nil,
        timestamp: Timestamp? = nil
    ) -> Int64 {
        let emission = Machine.Emission(payload: payload, turnID: turnID, traceID: traceID, spanID: spanID, timestamp: timestamp)
        let time = now
        let emitted = state.withLock { locked in
            let emitted = locked.machine.emit(emission, at: time)
            if let flushed = emitted.flushed { persist(flushed) }
            if let event = emitted.event { persist(event) }
            return emitted
        }
        if let flush = emitted.flush { scheduleDeltaFlush(after: flush.after, generation: flush.generation) }
        return emitted.seq
    }

    /// Sends the held deltas `generation` once `after` has passed on the hub's clock, unless
    /// another event sent them first.
    private func scheduleDeltaFlush(after: Duration, generation: UInt64) {
        let clock = dependencies.clock
        Task { [weak self] in
            // Not cancelled: a flush that comes late finds nothing held and does nothing.
            try? await clock.sleep(for: after)
            self?.handle(.flushDeltas(generation: generation))
        }
    }

    /// Puts committed events into every connection's outbox, in seq order; called by the
    /// persister, one batch after another.
    func deliver(_ events: ArraySlice<PendingEvent>) {
        guard let last = events.last else { return }
        let changesSummary = events.contains { $0.stored.changesSessionSummary }
        let deferred = advance(.committed(through: last.stored.seq, changesSummary: changesSummary))
        var overflowed: [Outbox] = []
        for case .deliver(let outboxes) in deferred.actions {
            for pending in events {
                // Encoded once; every connection's frame shares these bytes.
                let outbound = OutboundFrame.live(
                    seq: pending.stored.seq,
                    bytes: ByteBuffer(string: pending.stored.json),
                    emittedAt: pending.emittedAt
                )
                for outbox in outboxes where !outbox.push(outbound) {
                    if outbox.overflowed, !overflowed.contains(where: { $0 === outbox }) { overflowed.append(outbox) }
                }
            }
        }
        perform(deferred)
        if !overflowed.isEmpty {
            dependencies.metrics.outboxOverflowed(connections: overflowed.count)
            dependencies.logger.info("Closed slow connections on outbox overflow", metadata: ["session.id": "\(id)"])
            handle(.dropConnections(overflowed))
        }
    }

    /// The conversation before `seq` within `characterBudget` characters, newest kept first:
    /// from memory, reading the store only for what this process has not seen or has dropped.
    func history(before seq: Int64, characterBudget: Int) async throws -> [ChatMessage] {
        while true {
            let (ready, knownFrom) = state.withLock { locked in
                (
                    locked.machine.conversation.history(before: seq, characterBudget: characterBudget),
                    locked.machine.conversation.knownFrom
                )
            }
            if let ready { return ready }
            let stored = try await dependencies.store.conversation(in: id, through: knownFrom).compactMap(Conversation.entry(from:))
            let merged: [ChatMessage]? = state.withLock { locked in
                guard locked.machine.conversation.prepend(stored, through: knownFrom) else { return nil }
                return locked.machine.conversation.history(before: seq, characterBudget: characterBudget)
            }
            if let merged { return merged }
        }
    }

    /// The session's stored events with `after < seq <= through`, at most `limit`: a replay page.
    func storedEvents(after: Int64, through: Int64?, limit: Int?) async throws -> [StoredEvent] {
        try await dependencies.store.events(in: id, after: after, through: through, limit: limit)
    }

    // MARK: Connections

    /// Adds a connection; returns the seq up to which events are in the store (replay covers
    /// them, the outbox gets everything after), or nil when the session was evicted meanwhile.
    func attach(_ outbox: Outbox) -> (deliveredSeq: Int64, latestSeq: Int64)? {
        for case .attached(let delivered, let latest) in handle(.attach(outbox)) { return (delivered, latest) }
        return nil
    }

    func detach(_ outbox: Outbox) {
        handle(.detach(outbox))
    }

    /// The seq up to which events are in the store and handed to the connections, and the
    /// newest seq assigned.
    var sequence: (delivered: Int64, latest: Int64) {
        state.withLock { ($0.machine.deliveredSeq, $0.machine.lastSeq) }
    }

    var connectionCount: Int { state.withLock { $0.machine.connections.count } }

    /// Marks the session evicted when it has no connection, no turn and nothing in flight.
    func evictIfIdle() -> Bool {
        handle(.evictIfIdle).contains { if case .evicted = $0 { true } else { false } }
    }

    /// Marks the session gone (deleted): it takes no new connection or turn; a new session of
    /// the same id starts afresh.
    func markDeleted() {
        handle(.delete)
    }

    func closeConnections(_ request: CloseRequest) {
        let outboxes = state.withLock { $0.machine.connections }
        for outbox in outboxes { outbox.requestClose(request) }
    }
}
