import BedsideCore
import BedsideProtocol

/// A session's turn: what a `message` gets, the wait for a slot, and the end event.
extension SessionMachine {
    /// A `message`, in this order: a deleted session drops it; a duplicate `client_message_id`
    /// is echoed; shutdown, a turn running or queued (`busy`) and a store that cannot write
    /// refuse it; then the turns-per-minute window is asked.
    mutating func receive(_ message: Message) -> [Action] {
        guard !isGone else { return [.ignored("message to a deleted session")] }
        if let clientMessageID = message.clientMessageID, clientMessageIDs.contains(clientMessageID) {
            return [.reply(.duplicate(clientMessageID: clientMessageID))]
        }
        if message.shuttingDown { return [.reply(.error(.shuttingDown, SessionWords.shuttingDown))] }
        if turn != nil || admitting != nil { return [.reply(.error(.busy, SessionWords.busy))] }
        // Fail closed: a message is accepted only when its `user` event can be made durable.
        if !message.storeWritable { return [.reply(.error(.storeUnavailable, SessionWords.messageNotStored))] }
        admitting = message
        return [.checkTurnRate(rateKey: message.rateKey)]
    }

    /// Over the turns per minute: refused, nothing stored. Else the message is echoed as `user`
    /// and its turn asks for a slot.
    mutating func turnRate(_ decision: TurnRateWindow.Decision, at time: Time) -> [Action] {
        guard let message = admitting else { return [.ignored("turn rate with no message waiting")] }
        admitting = nil
        switch decision {
        case .refused(let retryAfter):
            let milliseconds = max(1, Int64((retryAfter / .milliseconds(1)).rounded(.up)))
            let text = SessionWords.tooManyTurns(limit: maxTurnsPerMinute, seconds: (milliseconds + 999) / 1000)
            return [.limitReached(.turnsPerMinute), .reply(.error(.tooManyTurns, text, retryAfterMilliseconds: milliseconds))]
        case .admitted:
            if let clientMessageID = message.clientMessageID { clientMessageIDs.insert(clientMessageID) }
            let user = assign(
                Emission(payload: .user(content: message.content, clientMessageID: message.clientMessageID), turnID: message.turnID),
                at: time.timestamp
            )
            turn = Turn(start: TurnStart(turnID: message.turnID, content: message.content, userSeq: user.seq), phase: .admitting)
            return [.persist(user), .takeTurnSlot]
        }
    }

    /// The turn starts at once (`turn` `started`), or waits for a slot (`queued`).
    mutating func turnSlot(_ admission: TurnSlots.Admission, at time: Time) -> [Action] {
        guard let start = turn?.start, turn?.phase == .admitting else {
            // Never strand a slot the machine did not ask for.
            return admission == .granted ? [.releaseTurnSlot, .ignored("turn slot with no turn")] : [.ignored("turn slot with no turn")]
        }
        switch admission {
        case .granted:
            turn?.phase = .running(since: time.elapsed)
            let started = assign(Emission(payload: .turn(TurnEvent(status: .started)), turnID: start.turnID), at: time.timestamp)
            return [.persist(started), .startTurn(start)]
        case .queued(let ticket, let position):
            turn?.queued = true
            turn?.phase = .waitingForSlot(since: time.elapsed)
            let queued = assign(Emission(payload: .queued(position: position), turnID: start.turnID), at: time.timestamp)
            return [.persist(queued), .limitReached(.concurrentTurns), .queueTurn(start, ticket)]
        }
    }

    /// A queued turn with its slot starts (`turn` `started`); one cancelled while it waited, or
    /// at shutdown, ends without ever having started, and a slot handed over meanwhile goes back.
    mutating func slotWaitEnded(holdsSlot: Bool, cancelled: Bool, shuttingDown: Bool, at time: Time) -> [Action] {
        guard let waiting = turn, case .waitingForSlot(let since) = waiting.phase else {
            return (holdsSlot ? [.releaseTurnSlot] : []) + [.ignored("slot wait ended with no queued turn")]
        }
        if holdsSlot, !cancelled, !shuttingDown {
            turn?.phase = .running(since: time.elapsed)
            let started = assign(Emission(payload: .turn(TurnEvent(status: .started)), turnID: waiting.start.turnID), at: time.timestamp)
            return [.persist(started), .runTurn(waiting.start)]
        }
        let duration = time.elapsed - since
        let reason = waiting.cancelReason ?? (shuttingDown ? "shutdown" : "cancelled")
        var end = TurnEvent(status: .cancelled, durationMilliseconds: duration.milliseconds, reason: reason)
        var actions: [Action] = holdsSlot ? [.releaseTurnSlot] : []
        if reason == SessionWords.storeUnavailableReason {
            end.status = .failed
            let error = Emission(
                payload: .error(code: .storeUnavailable, message: SessionWords.storeUnavailable),
                turnID: waiting.start.turnID
            )
            actions.append(.persist(assign(error, at: time.timestamp)))
        }
        actions.append(.persist(assign(Emission(payload: .turn(end), turnID: waiting.start.turnID), at: time.timestamp)))
        actions.append(.turnEnded(end.status, duration: duration))
        turn = nil
        return actions
    }

    /// The end of a turn that ran: its `error` when it failed, then its end event with the
    /// duration, the tokens and the reason; then its slot goes back.
    mutating func turnFinished(_ outcome: TurnOutcome, at time: Time) -> [Action] {
        guard let running = turn, case .running(let since) = running.phase else {
            return [.ignored("turn finished with no running turn")]
        }
        let turnID = running.start.turnID
        var actions: [Action] = []
        var status = TurnEvent.Status.completed
        var usage = TurnUsage()
        switch outcome {
        case .completed(let used):
            usage = used
        case .cancelled(let used):
            status = .cancelled
            usage = used
        case .failed(let failure):
            actions.append(
                .persist(
                    assign(Emission(payload: .error(code: failure.code, message: failure.message), turnID: turnID), at: time.timestamp)
                )
            )
            status = .failed
        case .crashed:
            let error = Emission(payload: .error(code: .turnFailed, message: SessionWords.crashed(turnID: turnID)), turnID: turnID)
            actions.append(.persist(assign(error, at: time.timestamp)))
            status = .failed
        }
        let storeFailed = running.cancelReason == SessionWords.storeUnavailableReason
        if status == .cancelled, storeFailed {
            let error = Emission(payload: .error(code: .storeUnavailable, message: SessionWords.storeUnavailable), turnID: turnID)
            actions.append(.persist(assign(error, at: time.timestamp)))
            status = .failed
        }
        let duration = time.elapsed - since
        var end = TurnEvent(status: status, durationMilliseconds: duration.milliseconds)
        if status == .cancelled { end.reason = running.cancelReason ?? "cancelled" }
        if status == .failed, storeFailed { end.reason = SessionWords.storeUnavailableReason }
        if status == .completed || usage.totalTokens > 0 {
            end.promptTokens = usage.promptTokens
            end.completionTokens = usage.completionTokens
            end.totalTokens = usage.totalTokens
        }
        let ending = Emission(payload: .turn(end), turnID: turnID, traceID: running.span?.traceID, spanID: running.span?.spanID)
        actions.append(.persist(assign(ending, at: time.timestamp)))
        actions.append(.turnEnded(status, duration: duration))
        actions.append(.releaseTurnSlot)
        turn = nil
        return actions
    }

    /// Marks the turn cancelled (the first reason wins) and asks for its task to be cancelled;
    /// idempotent, and nothing when there is no turn.
    mutating func cancel(reason: String, onlyIfWaiting: Bool) -> [Action] {
        guard let current = turn else { return [] }
        if onlyIfWaiting {
            guard case .waitingForSlot = current.phase else { return [] }
        }
        if current.cancelReason == nil { turn?.cancelReason = reason }
        return [.cancelTurnTask]
    }
}
