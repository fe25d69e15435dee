import BedsideCore
import BedsideProtocol

extension SessionMachine {
    /// Something that happened to the session, fed to ``SessionMachine/handle(_:at:)`` by its
    /// shell (``Session``).
    enum Input {
        /// A turn (or recovery) reports an event: it gets the next seq, or, a streaming delta
        /// while deltas are being merged, is held.
        case emit(Emission)
        /// The merge window of held deltas `generation` has passed: send them.
        case flushDeltas(generation: UInt64)
        /// The store committed the session's events up to `through`; `changesSummary` when one
        /// of them changes the session's summary (``BedsideCore/StoredEvent/changesSessionSummary``).
        case committed(through: Int64, changesSummary: Bool)
        /// A connection wants the session's live events.
        case attach(Connection)
        /// A connection ended.
        case detach(Connection)
        /// These connections overflowed while being delivered to and are being closed.
        case dropConnections([Connection])
        /// The hub asks whether the session may be forgotten, and forgets it if so.
        case evictIfIdle
        /// The session's conversation is being deleted: it takes no connection or turn again.
        case delete
        /// A `message` frame arrived.
        case message(Message)
        /// The turns-per-minute window's answer to ``Action/checkTurnRate(rateKey:)``.
        case turnRate(TurnRateWindow.Decision)
        /// The concurrent-turn slots' answer to ``Action/takeTurnSlot``.
        case turnSlot(TurnSlots.Admission)
        /// A queued turn's wait for its slot ended: with the slot, or not (cancelled); and whether
        /// its task was cancelled or the server is shutting down by then.
        case slotWaitEnded(holdsSlot: Bool, cancelled: Bool, shuttingDown: Bool)
        /// The running turn's runner returned or threw.
        case turnFinished(TurnOutcome)
        /// Stop the turn, running or queued; with `onlyIfWaiting`, only a queued one.
        case cancel(reason: String, onlyIfWaiting: Bool)
        /// The ids of the running turn's root span, for its end event.
        case turnSpan(traceID: String, spanID: String)
        /// A previous process left `turnID` open: end it `failed`, reason `interrupted`.
        case closeInterruptedTurn(turnID: String)
    }

    /// What the shell must do, returned by ``SessionMachine/handle(_:at:)`` in order.
    ///
    /// ``persist(_:)``, ``checkTurnRate(rateKey:)``, ``takeTurnSlot``, ``startTurn(_:)`` and
    /// ``queueTurn(_:_:)`` are performed at once, before the next input, so that events reach
    /// the store in seq order and the limits are asked in the order messages came; the rest may
    /// be performed afterwards.
    enum Action {
        /// Queue this event for the store; it is delivered once committed.
        case persist(StoredEvent)
        /// Answer the connection whose frame this was.
        case reply(Reply)
        /// Ask the turns-per-minute window whether `rateKey` may start a turn; feed the answer
        /// back as ``Input/turnRate(_:)``.
        case checkTurnRate(rateKey: String?)
        /// Take a concurrent-turn slot or a place in the queue; feed it back as
        /// ``Input/turnSlot(_:)``.
        case takeTurnSlot
        /// Feed ``Input/flushDeltas(generation:)`` back after `after`.
        case scheduleDeltaFlush(after: Duration, generation: UInt64)
        /// Start the turn's task, which runs the turn at once; feed its end back as
        /// ``Input/turnFinished(_:)``.
        case startTurn(TurnStart)
        /// Start the turn's task, which waits for `ticket`, then feeds back
        /// ``Input/slotWaitEnded(holdsSlot:cancelled:shuttingDown:)``.
        case queueTurn(TurnStart, TurnSlots.Ticket)
        /// The queued turn has its slot: its task goes on to run it.
        case runTurn(TurnStart)
        /// Cancel the turn's task.
        case cancelTurnTask
        /// Give the turn's concurrent-turn slot back.
        case releaseTurnSlot
        /// A turn ended, for the metrics.
        case turnEnded(TurnEvent.Status, duration: Duration)
        /// A limit was met, for the metrics.
        case limitReached(LimitName)
        /// Put the committed events into these connections' outboxes, in seq order.
        case deliver(to: [Connection])
        /// Tell the owner's open conversation lists that the session changed.
        case publishSummaryChange
        /// The connection was attached: replay covers events up to `deliveredSeq`, the outbox
        /// gets everything after; `latestSeq` is the newest seq assigned.
        case attached(deliveredSeq: Int64, latestSeq: Int64)
        /// The session is gone (evicted or deleted): the connection must ask the hub again.
        case refusedConnection
        /// Nothing holds the session any more (no connection, no turn, nothing in flight): the
        /// hub may forget it.
        case idle
        /// The session was marked gone: the hub forgets it.
        case evicted
        /// The input made no sense in the session's state and changed nothing; worth a debug
        /// log, never a crash.
        case ignored(String)
    }

    /// A connection-scoped answer to a `message`.
    enum Reply: Sendable, Equatable {
        /// The message's `client_message_id` was accepted before: send its `user` event again.
        case duplicate(clientMessageID: String)
        /// Refused: an `error` with no seq.
        case error(ErrorCode, String, retryAfterMilliseconds: Int64? = nil)
    }

    /// A `message` frame and the facts about the server its admission depends on.
    struct Message: Sendable, Equatable {
        var content: String
        var clientMessageID: String?
        /// Whose turns-per-minute budget it counts against; nil is not limited.
        var rateKey: String?
        /// The id its turn gets if it starts: the machine draws no randomness.
        var turnID: String
        var shuttingDown = false
        var storeWritable = true
    }

    /// An event to give the next seq.
    struct Emission: Sendable, Equatable {
        var payload: EventPayload
        var turnID: String?
        var traceID: String?
        var spanID: String?
        /// When it happened, if not now.
        var timestamp: Timestamp?
    }

    /// What a turn's task needs to run it.
    struct TurnStart: Sendable, Equatable {
        var turnID: String
        /// The user's message, trimmed.
        var content: String
        /// The seq of the `user` event that started the turn.
        var userSeq: Int64
    }

    /// How a turn's runner ended, as its task saw it.
    enum TurnOutcome: Sendable, Equatable {
        /// It returned.
        case completed(TurnUsage)
        /// It was cancelled (returned or threw after the task was cancelled).
        case cancelled(TurnUsage)
        /// It threw a failure the user should see.
        case failed(TurnFailure)
        /// It threw something else: logged by the shell, shown as `turn_failed`.
        case crashed
    }

    /// The time of an input: elapsed since any fixed origin (the machine only subtracts two of
    /// these) and the wall-clock time that events made now carry.
    struct Time: Sendable, Equatable {
        var elapsed: Duration
        var timestamp: Timestamp
    }
}

extension SessionMachine.Action: Equatable where Connection: Equatable {}
extension SessionMachine.Action: Sendable where Connection: Sendable {}
extension SessionMachine.Input: Sendable where Connection: Sendable {}
