import BedsideCore
import BedsideProtocol
import Testing

@testable import BedsideServer

/// With a coalescing window, streaming deltas that come faster than it are merged into one
/// `assistant` delta before they get a seq; nothing else changes order or text.
@Suite struct DeltaCoalescingTests {
    /// A machine with a 16 ms window and a running turn `turn-1`.
    private func streaming() -> Machine {
        var machine = Machine(id: machineSession, snapshot: SessionSnapshot(), maxTurnsPerMinute: 30, coalesceDeltas: .milliseconds(16))
        _ = machine.accept(at: at(0))
        return machine
    }

    private func delta(_ text: String, message: String = "m-1") -> Machine.Emission {
        Machine.Emission(payload: .assistant(AssistantEvent(content: text, streaming: true, messageID: message)), turnID: "turn-1")
    }

    @Test func deltasFasterThanTheWindowAreSentAsOneWhenItHasPassed() {
        var machine = streaming()
        // The first goes out at once; the next, 2 ms later, is held and a flush is asked for.
        #expect(machine.handle(.emit(delta("The ")), at: at(100)).persisted.map(\.seq) == [3])
        #expect(machine.handle(.emit(delta("latest ")), at: at(102)) == [.scheduleDeltaFlush(after: .milliseconds(16), generation: 1)])
        let appended = machine.emit(delta("HbA1c "), at: at(110))
        #expect(appended.event == nil && appended.flushed == nil && appended.flush == nil)
        #expect(appended.seq == 4, "the seq it will have")
        #expect(!machine.isIdle && machine.lastSeq == 3)
        let flushed = machine.handle(.flushDeltas(generation: 1), at: at(118)).persisted
        #expect(flushed.map(\.seq) == [4])
        let merged = flushed[0].value
        #expect(merged.type == "assistant" && merged["streaming"] == .bool(true))
        #expect(merged["content"]?.stringValue == "latest HbA1c ")
        #expect(merged["message_id"]?.stringValue == "m-1" && merged["turn_id"]?.stringValue == "turn-1")
        #expect(merged["timestamp"]?.stringValue == at(118).timestamp.iso8601, "stamped when it is sent")
        #expect(machine.handle(.flushDeltas(generation: 1), at: at(120)) == [], "a late timer does nothing")
    }

    @Test func anyOtherEventSendsTheHeldDeltasFirst() {
        var machine = streaming()
        _ = machine.handle(.emit(delta("a")), at: at(100))
        _ = machine.handle(.emit(delta("b")), at: at(101))
        _ = machine.handle(.emit(delta("c")), at: at(102))
        let final = Machine.Emission(
            payload: .assistant(AssistantEvent(content: "abc", streaming: false, messageID: "m-1")),
            turnID: "turn-1"
        )
        let actions = machine.handle(.emit(final), at: at(103))
        #expect(actions.persisted.map(\.seq) == [4, 5])
        #expect(actions.persisted.map { $0.value["content"]?.stringValue } == ["bc", "abc"])
        #expect(actions.others.isEmpty)
        #expect(machine.handle(.flushDeltas(generation: 1), at: at(120)) == [])
    }

    @Test func theTurnsEndSendsHeldDeltasBeforeIt() {
        var machine = streaming()
        _ = machine.handle(.emit(delta("a")), at: at(100))
        _ = machine.handle(.emit(delta("b")), at: at(101))
        let actions = machine.handle(.turnFinished(.completed(TurnUsage())), at: at(105))
        #expect(actions.persisted.map(\.type) == ["assistant", "turn"])
        #expect(actions.persisted.map(\.seq) == [4, 5])
        #expect(actions.persisted[0].value["content"]?.stringValue == "b")
    }

    @Test func aDeltaAfterAPauseAndAnotherRepliesDeltaGoOutAtOnce() {
        var machine = streaming()
        _ = machine.handle(.emit(delta("a")), at: at(100))
        #expect(machine.handle(.emit(delta("b")), at: at(116)).persisted.map(\.seq) == [4], "16 ms later: not faster than the window")
        _ = machine.handle(.emit(delta("c")), at: at(120))
        let other = machine.handle(.emit(delta("x", message: "m-2")), at: at(121))
        #expect(other.persisted.map { $0.value["content"]?.stringValue } == ["c", "x"])
        #expect(other.persisted.map { $0.value["message_id"]?.stringValue } == ["m-1", "m-2"])
    }

    @Test func withoutAWindowEveryDeltaIsSentAsItComes() {
        var machine = makeSessionMachine()
        _ = machine.accept(at: at(0))
        let sent = (0..<5).flatMap { machine.handle(.emit(delta("t\($0)")), at: at(100 + Int64($0))).persisted }
        #expect(sent.map(\.seq) == [3, 4, 5, 6, 7])
    }
}
