import BedsideCore
import BedsideProtocol
import Foundation
import Logging
import NIOCore
import Synchronization

/// One active session: its seq counter, its connections and its running turn.
///
/// All of a session's state sits behind one lock that only this session's work takes, so
/// sessions never contend with each other. ``emit(_:turnID:traceID:spanID:)`` assigns the seq,
/// encodes the event once and queues it for the store without waiting; ``deliver(_:)`` (called
/// by the persister after the commit) puts it in every connection's outbox.
final class Session: Sendable {
    struct RunningTurn {
        var id: String
        var task: Task<Void, Never>?
        var cancelReason: String?
        /// The W3C ids of the turn's root span, once the runner reports them.
        var span: (traceID: String, spanID: String)?
        /// Whether the turn had to wait for a concurrent-turn slot (it emitted `queued`).
        var queued = false
        /// Whether it is waiting for that slot still.
        var waitingForSlot = false
    }

    /// The session's state; only `Session` and its extensions (Session+Turns.swift) touch it.
    struct State {
        var lastSeq: Int64
        var deliveredSeq: Int64
        var connections: [Outbox] = []
        var clientMessageIDs: Set<String>
        var turn: RunningTurn?
        var evicted = false
        var conversation: Conversation
    }

    let id: SessionID
    let hub: SessionHub
    let state: Mutex<State>

    init(id: SessionID, snapshot: SessionSnapshot, hub: SessionHub) {
        self.id = id
        self.hub = hub
        self.state = Mutex(
            State(
                lastSeq: snapshot.latestSeq,
                deliveredSeq: snapshot.latestSeq,
                clientMessageIDs: snapshot.clientMessageIDs,
                conversation: Conversation(knownFrom: snapshot.latestSeq)
            )
        )
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
        state.withLock { state in
            emit(payload, turnID: turnID, traceID: traceID, spanID: spanID, timestamp: timestamp, in: &state)
        }
    }

    func emit(
        _ payload: EventPayload,
        turnID: String?,
        traceID: String? = nil,
        spanID: String? = nil,
        timestamp: Timestamp? = nil,
        in state: inout State
    ) -> Int64 {
        state.lastSeq += 1
        let event = ServerEvent(
            sessionID: id,
            seq: state.lastSeq,
            timestamp: timestamp ?? .now(),
            turnID: turnID,
            traceID: traceID,
            spanID: spanID,
            payload: payload
        )
        var stored = event.stored(json: event.json)
        if state.turn?.queued == true, case .turn(let turn) = payload, turn.status == .started {
            // The turn was opened, and counted, by its `queued` event.
            stored.turnStatus = nil
        }
        if let entry = Conversation.entry(seq: state.lastSeq, payload: payload) {
            state.conversation.append(entry)
        }
        hub.metrics.eventEmitted(type: stored.type)
        if !hub.persister.enqueue(PendingEvent(session: self, stored: stored, emittedAt: .now)) {
            hub.logger.warning(
                "Event emitted after shutdown was dropped",
                metadata: ["session.id": "\(id)", "event.type": "\(payload.type)"]
            )
        }
        return state.lastSeq
    }

    /// Puts committed events into every connection's outbox, in seq order.
    func deliver(_ events: ArraySlice<PendingEvent>) {
        let (overflowed, unwatched) = state.withLock { state in
            var overflowed = 0
            var listChanged = false
            for pending in events {
                if pending.stored.type == "user" || pending.stored.turnStatus != nil { listChanged = true }
                state.deliveredSeq = pending.stored.seq
                guard !state.connections.isEmpty else { continue }
                // Encoded once; every connection's frame shares these bytes.
                let outbound = OutboundFrame.live(
                    seq: pending.stored.seq,
                    bytes: ByteBuffer(string: pending.stored.json),
                    emittedAt: pending.emittedAt
                )
                for outbox in state.connections where !outbox.push(outbound) {
                    overflowed += 1
                }
            }
            if overflowed > 0 {
                state.connections.removeAll { $0.overflowed }
            }
            if listChanged, hub.userChannel.hasSubscribers(id.owner) { hub.userChannel.publish(.changed(id)) }
            return (overflowed, state.connections.isEmpty)
        }
        if overflowed > 0 {
            hub.metrics.outboxOverflowed(connections: overflowed)
            hub.logger.info("Closed slow connections on outbox overflow", metadata: ["session.id": "\(id)"])
        }
        if unwatched { hub.evictIfIdle(self) }
    }

    /// The conversation before `seq` within `characterBudget` characters, newest kept first:
    /// from memory, reading the store only for what this process has not seen or has dropped.
    func history(before seq: Int64, characterBudget: Int) async throws -> [ChatMessage] {
        while true {
            let (ready, knownFrom) = state.withLock { state in
                (state.conversation.history(before: seq, characterBudget: characterBudget), state.conversation.knownFrom)
            }
            if let ready { return ready }
            let stored = try await hub.store.conversation(in: id, through: knownFrom).compactMap(Conversation.entry(from:))
            let merged: [ChatMessage]? = state.withLock { state in
                guard state.conversation.prepend(stored, through: knownFrom) else { return nil }
                return state.conversation.history(before: seq, characterBudget: characterBudget)
            }
            if let merged { return merged }
        }
    }

    // MARK: Connections

    /// Adds a connection; returns the seq up to which events are in the store (replay covers
    /// them, the outbox gets everything after), or nil when the session was evicted meanwhile.
    func attach(_ outbox: Outbox) -> (deliveredSeq: Int64, latestSeq: Int64)? {
        state.withLock { state in
            guard !state.evicted else { return nil }
            state.connections.append(outbox)
            return (state.deliveredSeq, state.lastSeq)
        }
    }

    func detach(_ outbox: Outbox) {
        state.withLock { state in
            state.connections.removeAll { $0 === outbox }
        }
        hub.evictIfIdle(self)
    }

    /// The seq up to which events are in the store and handed to the connections, and the
    /// newest seq assigned.
    var sequence: (delivered: Int64, latest: Int64) { state.withLock { ($0.deliveredSeq, $0.lastSeq) } }

    var connectionCount: Int { state.withLock { $0.connections.count } }

    /// Marks the session evicted when it has no connection, no turn and nothing in flight.
    func evictIfIdle() -> Bool {
        state.withLock { state in
            guard state.connections.isEmpty, state.turn == nil, state.deliveredSeq == state.lastSeq else { return false }
            state.evicted = true
            return true
        }
    }

    /// Marks the session gone (deleted): it takes no new connection or turn; a new session of
    /// the same id starts afresh.
    func markDeleted() {
        state.withLock { state in
            state.evicted = true
            state.connections.removeAll()
        }
    }

    func closeConnections(_ request: CloseRequest) {
        let outboxes = state.withLock { $0.connections }
        for outbox in outboxes { outbox.requestClose(request) }
    }

    // MARK: Turns

    /// Handles an accepted `message` frame from `connection`.
    ///
    /// In order: a duplicate `client_message_id` is answered with its `user` event; a session
    /// with a turn (running or queued) answers `busy`; a rate key over its turns per minute
    /// gets `too_many_turns` and nothing is stored. Otherwise the message is echoed as `user`,
    /// and the turn starts at once (`turn` `started`) or, when every concurrent-turn slot is
    /// taken, waits for one (`queued`).
    ///
    /// - Parameter rateKey: whose turns-per-minute budget the turn counts against: the
    ///   principal's key when signed in, else the client address; nil (internal callers) is
    ///   not limited.
    /// Synchronous: the decision is taken under the session's lock in the order frames arrive, so
    /// an event loop may call it. Only the reply to a duplicate (which reads the store) runs in a
    /// task of its own.
    func receiveMessage(content: String, clientMessageID: String?, from connection: Outbox, rateKey: String? = nil) {
        enum Decision {
            case started
            case duplicate(String)
            case busy, shuttingDown, deleted, storeUnavailable
            case tooManyTurns(retryAfter: Duration)
        }
        let decision: Decision = state.withLock { state in
            if state.evicted { return .deleted }
            if let clientMessageID, state.clientMessageIDs.contains(clientMessageID) {
                return .duplicate(clientMessageID)
            }
            if state.turn != nil { return .busy }
            if hub.isShuttingDown { return .shuttingDown }
            // Fail closed: a message is accepted only when its `user` event can be made durable.
            if !hub.storeIsWritable { return .storeUnavailable }
            if case .refused(let retryAfter) = hub.admitTurn(rateKey: rateKey) { return .tooManyTurns(retryAfter: retryAfter) }
            if let clientMessageID { state.clientMessageIDs.insert(clientMessageID) }
            let turnID = UUID().uuidString.lowercased()
            let userSeq = emit(.user(content: content, clientMessageID: clientMessageID), turnID: turnID, in: &state)
            let context = TurnContext(sessionID: id, turnID: turnID, content: content, userSeq: userSeq, session: self)
            state.turn = RunningTurn(id: turnID)
            switch hub.turnSlots.admit() {
            case .granted:
                _ = emit(.turn(TurnEvent(status: .started)), turnID: turnID, in: &state)
                state.turn?.task = Task { await self.runTurn(context) }
            case .queued(let ticket, let position):
                state.turn?.queued = true
                state.turn?.waitingForSlot = true
                _ = emit(.queued(position: position), turnID: turnID, in: &state)
                hub.metrics.limitReached(.concurrentTurns)
                state.turn?.task = Task { await self.runQueuedTurn(context, ticket: ticket) }
            }
            return .started
        }
        switch decision {
        case .started, .deleted:
            break
        case .duplicate(let clientMessageID):
            // Already accepted: answer this connection with the event it was given (same seq), as
            // a direct reply that bypasses the connection's seq filter; clients dedupe by seq.
            // If the event is still on its way to the store, it reaches the connection live.
            let store = hub.store
            let id = id
            Task {
                if let event = try? await store.userEvent(in: id, clientMessageID: clientMessageID) {
                    connection.push(.event(seq: nil, text: event.json))
                }
            }
        case .busy:
            connection.push(
                hub.connectionError(
                    .busy,
                    "A turn is already running in this session: wait for it to end, or send cancel.",
                    session: id
                )
            )
        case .shuttingDown:
            connection.push(
                hub.connectionError(.busy, "The server is shutting down: reconnect in a moment.", session: id)
            )
        case .storeUnavailable:
            connection.push(
                hub.connectionError(
                    .storeUnavailable,
                    "The server cannot store messages right now, so this one was not sent: send it again in a moment.",
                    session: id
                )
            )
        case .tooManyTurns(let retryAfter):
            hub.metrics.limitReached(.turnsPerMinute)
            let milliseconds = max(1, Int64((retryAfter / .milliseconds(1)).rounded(.up)))
            let seconds = (milliseconds + 999) / 1000
            connection.push(
                hub.connectionError(
                    .tooManyTurns,
                    "You have started \(hub.limits.maxTurnsPerMinute) turns in the last minute: wait \(seconds) s.",
                    session: id,
                    retryAfterMilliseconds: milliseconds
                )
            )
        }
    }

    /// Cancels the running turn, if any; idempotent.
    ///
    /// - Parameter onlyIfWaiting: cancel it only while it waits for a concurrent-turn slot.
    func cancelTurn(reason: String, onlyIfWaiting: Bool = false) {
        let task: Task<Void, Never>? = state.withLock { state in
            guard let turn = state.turn, !onlyIfWaiting || turn.waitingForSlot else { return nil }
            if state.turn?.cancelReason == nil { state.turn?.cancelReason = reason }
            return state.turn?.task
        }
        task?.cancel()
    }

    /// The store could not write this session's events: its turn, running or waiting for a slot,
    /// is stopped, and ends `failed` with `store_unavailable` once that end can be stored.
    func storeFailed() {
        cancelTurn(reason: Self.storeUnavailableReason)
    }

    /// The `reason` of a turn the store's failure ended.
    static let storeUnavailableReason = "store_unavailable"

    /// What the `error` before such a turn's end says.
    static let storeUnavailableMessage =
        "The server could not store this turn's events, so it was stopped: everything up to here is kept. Send your message again in a moment."

    /// Keeps the ids of the running turn's root span for its end event.
    func setTurnSpan(traceID: String, spanID: String) {
        state.withLock { $0.turn?.span = (traceID, spanID) }
    }

    /// Why the running turn is being cancelled, once it is.
    var cancelReason: String? { state.withLock { $0.turn?.cancelReason } }

    /// The running turn's task, for shutdown to wait on.
    var runningTurnTask: Task<Void, Never>? { state.withLock { $0.turn?.task } }

    /// Ends a turn that was left running by a previous process (crash or kill).
    func closeInterruptedTurn(_ turnID: String) {
        state.withLock { state in
            _ = emit(
                .error(code: .turnFailed, message: "This turn was interrupted by a server restart and did not finish."),
                turnID: turnID,
                in: &state
            )
            _ = emit(.turn(TurnEvent(status: .failed, reason: "interrupted")), turnID: turnID, in: &state)
        }
    }
}
