import BedsideCore
import BedsideProtocol
import Testing

@testable import BedsideServer

/// What a `message` gets from the session machine, decided with no I/O: its echo and its turn's
/// start, or a refusal, in the order protocol.md gives.
@Suite struct MessageAdmissionTests {
    @Test func anAcceptedMessageIsEchoedAsUserThenItsTurnStarts() throws {
        var machine = makeSessionMachine(latestSeq: 4)
        #expect(machine.handle(.message(.message("Hi", id: "c-1")), at: at(0)) == [.checkTurnRate(rateKey: "alice")])
        let echo = machine.handle(.turnRate(.admitted), at: at(1))
        #expect(echo.others == [.takeTurnSlot])
        let user = try #require(echo.persisted.first)
        #expect(user.seq == 5 && user.type == "user" && user.clientMessageID == "c-1" && user.turnID == "turn-1")
        #expect(user.value["content"]?.stringValue == "Hi")
        #expect(user.value["timestamp"]?.stringValue == at(1).timestamp.iso8601)
        let start = machine.handle(.turnSlot(.granted), at: at(2))
        #expect(start.others == [.startTurn(.init(turnID: "turn-1", content: "Hi", userSeq: 5))])
        #expect(start.persisted.map(\.seq) == [6])
        #expect(start.persisted.first?.turnStatus == "started")
        #expect(machine.lastSeq == 6 && machine.deliveredSeq == 4)
        #expect(!machine.isIdle)
    }

    @Test func withEverySlotTakenTheTurnIsQueuedAndStartsWhenItsSlotComes() {
        var machine = makeSessionMachine()
        let ticket = queuedTicket()
        let queued = machine.accept(slot: .queued(ticket, position: 3))
        #expect(queued.persisted.map(\.type) == ["user", "queued"])
        #expect(queued.persisted.last?.value["position"]?.integerValue == 3)
        // The `queued` event opens the turn in the store; the `started` after it does not again.
        #expect(queued.persisted.last?.turnStatus == "started")
        #expect(
            queued.others == [
                .checkTurnRate(rateKey: "alice"), .takeTurnSlot, .limitReached(.concurrentTurns),
                .queueTurn(.init(turnID: "turn-1", content: "What changed?", userSeq: 1), ticket),
            ]
        )
        let started = machine.handle(.slotWaitEnded(holdsSlot: true, cancelled: false, shuttingDown: false), at: at(2_000))
        #expect(started.persisted.map(\.type) == ["turn"])
        #expect(started.persisted.first?.value.status == "started")
        #expect(started.persisted.first?.turnStatus == nil)
        #expect(started.others == [.runTurn(.init(turnID: "turn-1", content: "What changed?", userSeq: 1))])
    }

    @Test func aDuplicateIsEchoedEvenWhileATurnRunsAndChangesNothing() {
        var machine = makeSessionMachine(latestSeq: 9, clientMessageIDs: ["c-old"])
        _ = machine.accept(.message(id: "c-1"))
        #expect(machine.handle(.message(.message(id: "c-1", turnID: "turn-2")), at: at(5)) == [.reply(.duplicate(clientMessageID: "c-1"))])
        #expect(
            machine.handle(.message(.message(id: "c-old", turnID: "turn-3")), at: at(5)) == [.reply(.duplicate(clientMessageID: "c-old"))]
        )
        #expect(machine.lastSeq == 11)
    }

    @Test func aTurnRunningOrQueuedMakesTheSessionBusy() {
        var running = makeSessionMachine()
        _ = running.accept()
        #expect(running.handle(.message(.message(id: "c-2", turnID: "turn-2")), at: at(1)) == [.reply(.error(.busy, SessionWords.busy))])
        var queued = makeSessionMachine()
        _ = queued.accept(slot: .queued(queuedTicket(), position: 1))
        #expect(queued.handle(.message(.message(turnID: "turn-2")), at: at(1)) == [.reply(.error(.busy, SessionWords.busy))])
        // A refused client_message_id is not consumed: once the turn has ended it is accepted.
        _ = running.handle(.turnFinished(.completed(TurnUsage())), at: at(2))
        #expect(running.handle(.message(.message(id: "c-2", turnID: "turn-2")), at: at(3)) == [.checkTurnRate(rateKey: "alice")])
    }

    @Test func duringShutdownEveryMessageIsRefusedWithShuttingDownNotBusy() {
        var idle = makeSessionMachine()
        var message = Machine.Message.message(id: "c-1")
        message.shuttingDown = true
        let refusal: [Machine.Action] = [.reply(.error(.shuttingDown, SessionWords.shuttingDown))]
        #expect(idle.handle(.message(message), at: at(0)) == refusal)
        // Also while a turn runs (the grace): the client keeps the message and resends it later.
        var running = makeSessionMachine()
        _ = running.accept()
        message.turnID = "turn-2"
        #expect(running.handle(.message(message), at: at(1)) == refusal)
        #expect(idle.lastSeq == 0 && running.lastSeq == 2)
        #expect(!idle.clientMessageIDs.contains("c-1"))
        #expect(ErrorCode.shuttingDown.rawValue == "shutting_down" && ErrorCode.shuttingDown.isConnectionScoped)
    }

    @Test func aStoreThatCannotWriteRefusesTheMessageBeforeTheLimitsAreAsked() {
        var machine = makeSessionMachine()
        var message = Machine.Message.message(id: "c-1")
        message.storeWritable = false
        #expect(machine.handle(.message(message), at: at(0)) == [.reply(.error(.storeUnavailable, SessionWords.messageNotStored))])
        #expect(machine.lastSeq == 0 && machine.isIdle)
    }

    @Test func overTheTurnsPerMinuteNothingIsStoredAndTheWaitIsRoundedUp() {
        var machine = makeSessionMachine(maxTurnsPerMinute: 5)
        _ = machine.handle(.message(.message(id: "c-1")), at: at(0))
        let refused = machine.handle(.turnRate(.refused(retryAfter: .microseconds(29_999_001))), at: at(0))
        #expect(
            refused == [
                .limitReached(.turnsPerMinute),
                .reply(.error(.tooManyTurns, "You have started 5 turns in the last minute: wait 30 s.", retryAfterMilliseconds: 30_000)),
            ]
        )
        _ = machine.handle(.message(.message(id: "c-1")), at: at(1))
        let tiny = machine.handle(.turnRate(.refused(retryAfter: .nanoseconds(10))), at: at(1))
        #expect(
            tiny.last == .reply(.error(.tooManyTurns, "You have started 5 turns in the last minute: wait 1 s.", retryAfterMilliseconds: 1))
        )
        #expect(machine.lastSeq == 0 && machine.isIdle)
        // Not consumed: the same id is asked about again, not echoed as a duplicate.
        #expect(machine.handle(.message(.message(id: "c-1")), at: at(2)) == [.checkTurnRate(rateKey: "alice")])
    }

    @Test func aDeletedSessionDropsMessagesAndConnections() {
        var machine = makeSessionMachine()
        let watcher = Watcher("a")
        _ = machine.handle(.attach(watcher), at: at(0))
        #expect(machine.handle(.delete, at: at(1)) == [])
        #expect(machine.connections.isEmpty && machine.isGone)
        #expect(machine.handle(.message(.message()), at: at(2)) == [.ignored("message to a deleted session")])
        #expect(machine.handle(.attach(watcher), at: at(3)) == [.refusedConnection])
    }

    @Test func answersTheMachineDidNotAskForAreIgnoredAndStrandNoSlot() {
        var machine = makeSessionMachine()
        #expect(machine.handle(.turnRate(.admitted), at: at(0)) == [.ignored("turn rate with no message waiting")])
        #expect(machine.handle(.turnSlot(.granted), at: at(0)) == [.releaseTurnSlot, .ignored("turn slot with no turn")])
        #expect(
            machine.handle(.slotWaitEnded(holdsSlot: true, cancelled: false, shuttingDown: false), at: at(0))
                == [.releaseTurnSlot, .ignored("slot wait ended with no queued turn")]
        )
        #expect(machine.handle(.turnFinished(.crashed), at: at(0)) == [.ignored("turn finished with no running turn")])
        #expect(machine.lastSeq == 0)
    }
}
