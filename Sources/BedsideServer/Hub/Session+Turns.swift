import BedsideCore
import BedsideProtocol
import Logging
import Synchronization

/// A session's turn as the shell runs it: the message that starts it, the task that waits for a
/// concurrent-turn slot and runs it, and the runner's end fed back to the machine.
extension Session {
    /// Handles an accepted `message` frame from `connection`.
    ///
    /// In order: a duplicate `client_message_id` is answered with its `user` event; during
    /// shutdown the message is refused with `shutting_down`; a session with a turn (running or
    /// queued) answers `busy`; a store that cannot write answers `store_unavailable`; a rate key
    /// over its turns per minute gets `too_many_turns` and nothing is stored. Otherwise the
    /// message is echoed as `user`, and the turn starts at once (`turn` `started`) or, when every
    /// concurrent-turn slot is taken, waits for one (`queued`).
    ///
    /// Synchronous: the decision is taken under the session's lock in the order frames arrive, so
    /// an event loop may call it. Only the reply to a duplicate (which reads the store) runs in a
    /// task of its own.
    ///
    /// - Parameter rateKey: whose turns-per-minute budget the turn counts against: the
    ///   principal's key when signed in, else the client address; nil (internal callers) is
    ///   not limited.
    func receiveMessage(content: String, clientMessageID: String?, from connection: Outbox, rateKey: String? = nil) {
        let message = Machine.Message(
            content: content,
            clientMessageID: clientMessageID,
            rateKey: rateKey,
            turnID: dependencies.newTurnID(),
            shuttingDown: dependencies.shutdown.isSet,
            storeWritable: dependencies.storeIsWritable()
        )
        handle(.message(message), replyingTo: connection)
    }

    /// Cancels the running turn, if any; idempotent.
    ///
    /// - Parameter onlyIfWaiting: cancel it only while it waits for a concurrent-turn slot.
    func cancelTurn(reason: String, onlyIfWaiting: Bool = false) {
        handle(.cancel(reason: reason, onlyIfWaiting: onlyIfWaiting))
    }

    /// The store could not write this session's events: its turn, running or waiting for a slot,
    /// is stopped, and ends `failed` with `store_unavailable` once that end can be stored.
    func storeFailed() {
        cancelTurn(reason: SessionWords.storeUnavailableReason)
    }

    /// Keeps the ids of the running turn's root span for its end event.
    func setTurnSpan(traceID: String, spanID: String) {
        handle(.turnSpan(traceID: traceID, spanID: spanID))
    }

    /// Why the running turn is being cancelled, once it is.
    var cancelReason: String? { state.withLock { $0.machine.cancelReason } }

    /// Whether a turn is running or waiting for a slot.
    var hasTurn: Bool { state.withLock { $0.machine.turn != nil } }

    /// The running turn's task, for deletion to wait on.
    var runningTurnTask: Task<Void, Never>? { state.withLock { $0.turnTask } }

    /// Ends a turn that was left running by a previous process (crash or kill).
    func closeInterruptedTurn(_ turnID: String) {
        handle(.closeInterruptedTurn(turnID: turnID))
    }

    /// Waits for a concurrent-turn slot, then runs the turn; a turn cancelled while it waits
    /// (`cancel`, shutdown, deletion) ends `cancelled` without ever having started.
    func runQueuedTurn(_ start: Machine.TurnStart, ticket: TurnSlots.Ticket) async {
        var holdsSlot = false
        do {
            try await dependencies.limiter.slots.wait(for: ticket)
            holdsSlot = true
        } catch {}
        let ended = Machine.Input.slotWaitEnded(
            holdsSlot: holdsSlot,
            cancelled: Task.isCancelled,
            shuttingDown: dependencies.shutdown.isSet
        )
        let runs = handle(ended).contains { if case .runTurn = $0 { true } else { false } }
        if runs { await runTurn(start) }
    }

    /// Runs a turn that holds a concurrent-turn slot and feeds its end to the machine, which
    /// emits the end event and gives the slot back.
    func runTurn(_ start: Machine.TurnStart) async {
        let context = TurnContext(sessionID: id, turnID: start.turnID, content: start.content, userSeq: start.userSeq, session: self)
        let outcome: Machine.TurnOutcome
        do {
            let usage = try await dependencies.runner.run(context)
            outcome = Task.isCancelled ? .cancelled(usage) : .completed(usage)
        } catch let failure as TurnFailure where !Task.isCancelled {
            outcome = .failed(failure)
        } catch {
            if Task.isCancelled || error is CancellationError {
                outcome = .cancelled(TurnUsage())
            } else {
                dependencies.logger.error(
                    "Turn runner failed",
                    metadata: ["session.id": "\(id)", "turn.id": "\(start.turnID)", "error": "\(error)"]
                )
                outcome = .crashed
            }
        }
        handle(.turnFinished(outcome))
    }
}
