import BedsideCore
import BedsideProtocol

/// One session as a pure state machine: inputs in, actions out.
///
/// It gives every event its seq and encodes it, keeps the conversation a turn sends the model,
/// knows which seq the store has committed and which connections watch, decides what a
/// `message` gets (its duplicate's echo, a refusal, or a turn that starts or waits for a slot),
/// and walks the turn from its start to its end event: `completed`, `failed` (with its
/// `error`), `cancelled`, or `failed` with `store_unavailable`.
///
/// What it deliberately does not do: I/O, locking, reading a clock, drawing random ids or
/// running anything. The shell (``Session``) holds it under the session's lock, performs each
/// ``Action`` and feeds back what happens as an ``Input``; every time comes in with the input.
/// So every decision can be tested by feeding inputs and reading actions.
///
/// ```swift
/// var machine = SessionMachine<Outbox>(id: id, snapshot: SessionSnapshot(), maxTurnsPerMinute: 30)
/// machine.handle(.message(.init(content: "Hi", rateKey: "alice", turnID: "t1")), at: time)
/// // [.checkTurnRate(rateKey: "alice")]
/// machine.handle(.turnRate(.admitted), at: time)
/// // [.persist(<user, seq 1>), .takeTurnSlot]
/// machine.handle(.turnSlot(.granted), at: time)
/// // [.persist(<turn started, seq 2>), .startTurn(TurnStart(turnID: "t1", content: "Hi", userSeq: 1))]
/// ```
struct SessionMachine<Connection: AnyObject> {
    /// A session's turn, from its `user` event to its end event.
    struct Turn {
        enum Phase: Equatable {
            /// Between its `user` event and the slots' answer (within one input's actions).
            case admitting
            /// Waiting for a concurrent-turn slot since `since`.
            case waitingForSlot(since: Duration)
            /// Its runner runs, since `since`.
            case running(since: Duration)
        }

        var start: TurnStart
        var phase: Phase
        /// Whether it waited for a slot (emitted `queued`, which opened it in the store).
        var queued = false
        /// Why it is being cancelled, once it is; the first reason wins.
        var cancelReason: String?
        /// The W3C ids of its root span, once the runner reports them.
        var span: (traceID: String, spanID: String)?
    }

    let id: SessionID
    /// Turns one rate key may start per minute, for the refusal's words.
    let maxTurnsPerMinute: Int
    /// The window within which streaming deltas are merged; zero is off.
    let coalesceDeltas: Duration
    /// The newest seq assigned.
    private(set) var lastSeq: Int64
    /// The seq up to which events are committed and handed to the connections.
    private(set) var deliveredSeq: Int64
    /// The connections that get live events, in the order they came.
    private(set) var connections: [Connection] = []
    /// Every `client_message_id` accepted in the session.
    var clientMessageIDs: Set<String>
    var turn: Turn?
    /// The message whose turn-rate answer is awaited (within one input's actions).
    var admitting: Message?
    /// Evicted or deleted: it takes no connection or turn; a new session of the id starts afresh.
    private(set) var isGone = false
    /// The conversation as the model is sent it; the shell reads older entries into it.
    var conversation: Conversation
    /// Deltas being merged, not yet given a seq.
    var heldDelta: HeldDelta?
    /// When the last streaming delta arrived.
    var lastDeltaAt: Duration?
    /// Counts held deltas, so that a flush timer of one already sent does nothing.
    var heldGeneration: UInt64 = 0

    /// - Parameter coalesceDeltas: streaming deltas that arrive within this of the one before
    ///   are merged into one `assistant` delta, sent at most this long after the first of them;
    ///   zero (the default) sends every delta as it comes.
    init(id: SessionID, snapshot: SessionSnapshot, maxTurnsPerMinute: Int, coalesceDeltas: Duration = .zero) {
        self.id = id
        self.maxTurnsPerMinute = maxTurnsPerMinute
        self.coalesceDeltas = coalesceDeltas
        self.lastSeq = snapshot.latestSeq
        self.deliveredSeq = snapshot.latestSeq
        self.clientMessageIDs = snapshot.clientMessageIDs
        self.conversation = Conversation(knownFrom: snapshot.latestSeq)
    }

    /// No connection, no turn and nothing on its way to the store.
    var isIdle: Bool {
        connections.isEmpty && turn == nil && admitting == nil && heldDelta == nil && deliveredSeq == lastSeq
    }

    /// Why the turn is being cancelled, once it is.
    var cancelReason: String? { turn?.cancelReason }

    /// Advances the machine by one input and returns what the shell must do, in order.
    mutating func handle(_ input: Input, at time: Time) -> [Action] {
        switch input {
        case .turnRate, .turnSlot, .slotWaitEnded, .turnFinished, .closeInterruptedTurn:
            // These may emit events: a held delta goes first.
            guard let held = flushHeldDelta(at: time.timestamp) else { return transition(input, at: time) }
            return [.persist(held)] + transition(input, at: time)
        default:
            return transition(input, at: time)
        }
    }

    private mutating func transition(_ input: Input, at time: Time) -> [Action] {
        switch input {
        case .emit(let emission):
            return emit(emission, at: time).actions
        case .flushDeltas(let generation):
            guard heldDelta?.generation == generation, let held = flushHeldDelta(at: time.timestamp) else { return [] }
            return [.persist(held)]
        case .committed(let through, let changesSummary):
            return committed(through: through, changesSummary: changesSummary)
        case .attach(let connection):
            guard !isGone else { return [.refusedConnection] }
            connections.append(connection)
            return [.attached(deliveredSeq: deliveredSeq, latestSeq: lastSeq)]
        case .detach(let connection):
            connections.removeAll { $0 === connection }
            return isIdle ? [.idle] : []
        case .dropConnections(let dropped):
            connections.removeAll { connection in dropped.contains { $0 === connection } }
            return isIdle ? [.idle] : []
        case .evictIfIdle:
            guard isIdle else { return [] }
            isGone = true
            return [.evicted]
        case .delete:
            isGone = true
            connections.removeAll()
            return []
        case .message(let message):
            return receive(message)
        case .turnRate(let decision):
            return turnRate(decision, at: time)
        case .turnSlot(let admission):
            return turnSlot(admission, at: time)
        case .slotWaitEnded(let holdsSlot, let cancelled, let shuttingDown):
            return slotWaitEnded(holdsSlot: holdsSlot, cancelled: cancelled, shuttingDown: shuttingDown, at: time)
        case .turnFinished(let outcome):
            return turnFinished(outcome, at: time)
        case .cancel(let reason, let onlyIfWaiting):
            return cancel(reason: reason, onlyIfWaiting: onlyIfWaiting)
        case .turnSpan(let traceID, let spanID):
            guard turn != nil else { return [.ignored("turn span with no turn")] }
            turn?.span = (traceID, spanID)
            return []
        case .closeInterruptedTurn(let turnID):
            let error = assign(
                .init(payload: .error(code: .turnFailed, message: SessionWords.interrupted), turnID: turnID),
                at: time.timestamp
            )
            let end = assign(.init(payload: .turn(TurnEvent(status: .failed, reason: "interrupted")), turnID: turnID), at: time.timestamp)
            return [.persist(error), .persist(end)]
        }
    }

    /// Gives `emission` the next seq and encodes it once: the text the store keeps and every
    /// connection is sent.
    mutating func assign(_ emission: Emission, at now: Timestamp) -> StoredEvent {
        lastSeq += 1
        let event = ServerEvent(
            sessionID: id,
            seq: lastSeq,
            timestamp: emission.timestamp ?? now,
            turnID: emission.turnID,
            traceID: emission.traceID,
            spanID: emission.spanID,
            payload: emission.payload
        )
        var stored = event.stored(json: event.json)
        if turn?.queued == true, case .turn(let end) = emission.payload, end.status == .started {
            // The turn was opened, and counted, by its `queued` event.
            stored.turnStatus = nil
        }
        if let entry = Conversation.entry(seq: lastSeq, payload: emission.payload) {
            conversation.append(entry)
        }
        return stored
    }

    private mutating func committed(through seq: Int64, changesSummary: Bool) -> [Action] {
        guard seq > deliveredSeq, seq <= lastSeq else { return [.ignored("commit of seq \(seq) after \(deliveredSeq)")] }
        deliveredSeq = seq
        var actions: [Action] = []
        if !connections.isEmpty { actions.append(.deliver(to: connections)) }
        if changesSummary { actions.append(.publishSummaryChange) }
        if isIdle { actions.append(.idle) }
        return actions
    }
}
