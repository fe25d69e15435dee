import BedsideCore
import BedsideProtocol
import Testing

@testable import BedsideServer

/// How the session machine ends a turn: the `error` before a failure, the end event's status,
/// reason, duration and tokens, and the slot given back; all timed on the times fed in.
@Suite struct TurnEndTests {
    /// A machine whose turn `turn-1` started at 1 s.
    private func running() -> Machine {
        var machine = makeSessionMachine()
        _ = machine.accept(at: at(1_000))
        return machine
    }

    @Test func aCompletedTurnEndsWithItsDurationTokensAndSpanThenGivesItsSlotBack() throws {
        var machine = running()
        #expect(machine.handle(.turnSpan(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7"), at: at(1_100)) == [])
        let actions = machine.handle(.turnFinished(.completed(TurnUsage(promptTokens: 120, completionTokens: 9))), at: at(2_500))
        #expect(actions.others == [.turnEnded(.completed, duration: .milliseconds(1_500)), .releaseTurnSlot])
        let end = try #require(actions.persisted.first)
        #expect(actions.persisted.count == 1 && end.seq == 3 && end.turnStatus == "completed")
        #expect(end.value.status == "completed")
        #expect(end.value["duration_ms"]?.integerValue == 1_500)
        #expect(end.value["total_tokens"]?.integerValue == 129 && end.value["prompt_tokens"]?.integerValue == 120)
        #expect(end.value["trace_id"]?.stringValue == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(end.value["span_id"]?.stringValue == "00f067aa0ba902b7")
        #expect(end.value["reason"] == nil)
        #expect(machine.turn == nil)
        // Idle once the end is committed and nobody watches.
        #expect(!machine.isIdle)
        #expect(machine.handle(.committed(through: 3, changesSummary: true), at: at(2_600)) == [.publishSummaryChange, .idle])
    }

    @Test func aFailureIsShownAsItsErrorThenTheTurnEndsFailed() {
        var machine = running()
        let failure = TurnFailure(code: .llmError, message: "The model failed: try again.")
        let actions = machine.handle(.turnFinished(.failed(failure)), at: at(1_200))
        #expect(actions.persisted.map(\.type) == ["error", "turn"])
        #expect(actions.persisted[0].value.code == "llm_error")
        #expect(actions.persisted[0].value["error"]?.stringValue == "The model failed: try again.")
        #expect(actions.persisted[1].value.status == "failed" && actions.persisted[1].value["reason"] == nil)
        #expect(actions.persisted[1].value["total_tokens"] == nil)
        #expect(actions.others == [.turnEnded(.failed, duration: .milliseconds(200)), .releaseTurnSlot])
    }

    @Test func aRunnerThatThrowsSomethingElseEndsTurnFailedPointingAtTheLog() {
        var machine = running()
        let actions = machine.handle(.turnFinished(.crashed), at: at(1_000))
        #expect(actions.persisted[0].value.code == "turn_failed")
        #expect(actions.persisted[0].value["error"]?.stringValue == SessionWords.crashed(turnID: "turn-1"))
        #expect(actions.persisted[1].value.status == "failed")
    }

    @Test func aCancelledTurnEndsWithTheFirstReasonAndTheTokensItUsed() {
        var machine = running()
        #expect(machine.handle(.cancel(reason: "cancelled_by_user", onlyIfWaiting: false), at: at(1_100)) == [.cancelTurnTask])
        #expect(machine.handle(.cancel(reason: "shutdown", onlyIfWaiting: false), at: at(1_200)) == [.cancelTurnTask])
        #expect(machine.cancelReason == "cancelled_by_user")
        let actions = machine.handle(.turnFinished(.cancelled(TurnUsage(promptTokens: 10, completionTokens: 2))), at: at(1_300))
        let end = actions.persisted.last?.value
        #expect(actions.persisted.count == 1)
        #expect(end?.status == "cancelled" && end?["reason"]?.stringValue == "cancelled_by_user")
        #expect(end?["total_tokens"]?.integerValue == 12)
        #expect(actions.others == [.turnEnded(.cancelled, duration: .milliseconds(300)), .releaseTurnSlot])
        #expect(machine.handle(.cancel(reason: "cancelled_by_user", onlyIfWaiting: false), at: at(1_400)) == [])
    }

    @Test func aTurnTheStoreStoppedEndsFailedWithStoreUnavailable() {
        var machine = running()
        _ = machine.handle(.cancel(reason: SessionWords.storeUnavailableReason, onlyIfWaiting: false), at: at(1_100))
        let actions = machine.handle(.turnFinished(.cancelled(TurnUsage())), at: at(1_500))
        #expect(actions.persisted.map(\.type) == ["error", "turn"])
        #expect(actions.persisted[0].value.code == "store_unavailable")
        #expect(actions.persisted[0].value["error"]?.stringValue == SessionWords.storeUnavailable)
        #expect(actions.persisted[1].value.status == "failed")
        #expect(actions.persisted[1].value["reason"]?.stringValue == "store_unavailable")
        #expect(actions.persisted[1].value["total_tokens"] == nil)
        #expect(actions.others.first == .turnEnded(.failed, duration: .milliseconds(500)))
    }

    @Test func onlyAQueuedTurnIsCancelledWhenOnlyWaitingOnesAre() {
        var machine = running()
        #expect(machine.handle(.cancel(reason: "shutdown", onlyIfWaiting: true), at: at(1_100)) == [])
        #expect(machine.cancelReason == nil)
        var queued = makeSessionMachine()
        _ = queued.accept(slot: .queued(queuedTicket(), position: 1), at: at(1_000))
        #expect(queued.handle(.cancel(reason: "shutdown", onlyIfWaiting: true), at: at(1_100)) == [.cancelTurnTask])
        #expect(queued.cancelReason == "shutdown")
    }

    @Test func aQueuedTurnCancelledWhileItWaitsEndsWithoutStartingTimedFromItsQueueing() {
        var machine = makeSessionMachine()
        _ = machine.accept(slot: .queued(queuedTicket(), position: 2), at: at(1_000))
        _ = machine.handle(.cancel(reason: "cancelled_by_user", onlyIfWaiting: false), at: at(2_000))
        let actions = machine.handle(.slotWaitEnded(holdsSlot: false, cancelled: true, shuttingDown: false), at: at(3_000))
        #expect(actions.persisted.map(\.type) == ["turn"])
        let end = actions.persisted[0].value
        #expect(end.status == "cancelled" && end["reason"]?.stringValue == "cancelled_by_user")
        #expect(end["duration_ms"]?.integerValue == 2_000)
        #expect(actions.others == [.turnEnded(.cancelled, duration: .seconds(2))])
        #expect(machine.turn == nil)
    }

    @Test func aSlotHandedOverAtShutdownGoesBackAndTheTurnEndsShutdown() {
        var machine = makeSessionMachine()
        _ = machine.accept(slot: .queued(queuedTicket(), position: 1), at: at(0))
        let actions = machine.handle(.slotWaitEnded(holdsSlot: true, cancelled: false, shuttingDown: true), at: at(50))
        #expect(actions.others == [.releaseTurnSlot, .turnEnded(.cancelled, duration: .milliseconds(50))])
        #expect(actions.persisted.last?.value["reason"]?.stringValue == "shutdown")
    }

    @Test func aQueuedTurnTheStoreStoppedEndsFailedWithItsError() {
        var machine = makeSessionMachine()
        _ = machine.accept(slot: .queued(queuedTicket(), position: 1), at: at(0))
        _ = machine.handle(.cancel(reason: SessionWords.storeUnavailableReason, onlyIfWaiting: false), at: at(10))
        let actions = machine.handle(.slotWaitEnded(holdsSlot: false, cancelled: true, shuttingDown: false), at: at(20))
        #expect(actions.persisted.map { $0.value.code ?? $0.value.status } == ["store_unavailable", "failed"])
        #expect(actions.persisted.last?.value["reason"]?.stringValue == "store_unavailable")
        #expect(actions.others == [.turnEnded(.failed, duration: .milliseconds(20))])
    }

    @Test func aTurnLeftOpenByAnEarlierProcessIsClosedAsInterrupted() {
        var machine = makeSessionMachine(latestSeq: 7)
        let actions = machine.handle(.closeInterruptedTurn(turnID: "turn-old"), at: at(0))
        #expect(actions.others.isEmpty)
        #expect(actions.persisted.map(\.seq) == [8, 9])
        #expect(actions.persisted.map(\.turnID) == ["turn-old", "turn-old"])
        #expect(actions.persisted[0].value.code == "turn_failed")
        #expect(actions.persisted[0].value["error"]?.stringValue == SessionWords.interrupted)
        #expect(actions.persisted[1].turnStatus == "failed")
        #expect(actions.persisted[1].value["reason"]?.stringValue == "interrupted")
    }
}
