import BedsideCore
import BedsideProtocol
import Logging
import Synchronization

/// Running a session's turn: waiting for a concurrent-turn slot, running it, and emitting its
/// end (`completed`, `failed`, `cancelled`, or `failed` with `store_unavailable`).
extension Session {
    /// Waits for a concurrent-turn slot, then runs the turn; a turn cancelled while it waits
    /// (`cancel`, shutdown, deletion) ends `cancelled` without ever having started.
    func runQueuedTurn(_ context: TurnContext, ticket: TurnSlots.Ticket) async {
        let clock = ContinuousClock()
        let start = clock.now
        var holdsSlot = false
        do {
            try await hub.turnSlots.wait(for: ticket)
            holdsSlot = true
        } catch {}
        state.withLock { $0.turn?.waitingForSlot = false }
        // A slot handed over as the turn was being cancelled, or at shutdown, goes to the next.
        guard holdsSlot, !Task.isCancelled, !hub.isShuttingDown else {
            if holdsSlot { hub.turnSlots.release() }
            let duration = clock.now - start
            let endStatus: TurnEvent.Status = cancelReason == Self.storeUnavailableReason ? .failed : .cancelled
            hub.metrics.turnEnded(status: endStatus.rawValue, duration: duration)
            state.withLock { state in
                let reason = state.turn?.cancelReason ?? (hub.isShuttingDown ? "shutdown" : "cancelled")
                var end = TurnEvent(status: .cancelled, durationMilliseconds: duration.milliseconds, reason: reason)
                if reason == Self.storeUnavailableReason {
                    end.status = .failed
                    _ = emit(.error(code: .storeUnavailable, message: Self.storeUnavailableMessage), turnID: context.turnID, in: &state)
                }
                _ = emit(.turn(end), turnID: context.turnID, in: &state)
                state.turn = nil
            }
            return
        }
        emit(.turn(TurnEvent(status: .started)), turnID: context.turnID)
        await runTurn(context)
    }

    /// Runs a turn that holds a concurrent-turn slot, emits its end and gives the slot back.
    func runTurn(_ context: TurnContext) async {
        let clock = ContinuousClock()
        let start = clock.now
        var status = TurnEvent.Status.completed
        var usage = TurnUsage()
        do {
            usage = try await hub.runner.run(context)
            if Task.isCancelled { status = .cancelled }
        } catch let failure as TurnFailure where !Task.isCancelled {
            emit(.error(code: failure.code, message: failure.message), turnID: context.turnID)
            status = .failed
        } catch {
            if Task.isCancelled || error is CancellationError {
                status = .cancelled
            } else {
                hub.logger.error(
                    "Turn runner failed",
                    metadata: ["session.id": "\(id)", "turn.id": "\(context.turnID)", "error": "\(error)"]
                )
                emit(
                    .error(
                        code: .turnFailed,
                        message: "The turn failed unexpectedly; the server log has the details (turn \(context.turnID))."
                    ),
                    turnID: context.turnID
                )
                status = .failed
            }
        }
        let duration = clock.now - start
        let milliseconds = duration.milliseconds
        if status == .cancelled, cancelReason == Self.storeUnavailableReason {
            emit(.error(code: .storeUnavailable, message: Self.storeUnavailableMessage), turnID: context.turnID)
            status = .failed
        }
        hub.metrics.turnEnded(status: status.rawValue, duration: duration)
        state.withLock { state in
            var end = TurnEvent(status: status, durationMilliseconds: milliseconds)
            if status == .cancelled { end.reason = state.turn?.cancelReason ?? "cancelled" }
            if status == .failed, state.turn?.cancelReason == Self.storeUnavailableReason {
                end.reason = Self.storeUnavailableReason
            }
            if status == .completed || usage.totalTokens > 0 {
                end.promptTokens = usage.promptTokens
                end.completionTokens = usage.completionTokens
                end.totalTokens = usage.totalTokens
            }
            let span = state.turn?.span
            _ = emit(.turn(end), turnID: context.turnID, traceID: span?.traceID, spanID: span?.spanID, in: &state)
            state.turn = nil
        }
        hub.turnSlots.release()
    }
}
