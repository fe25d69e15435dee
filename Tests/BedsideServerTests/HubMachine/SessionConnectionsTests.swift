import BedsideCore
import BedsideProtocol
import Testing

@testable import BedsideServer

/// The session machine's seq, delivery and connections: what a resuming connection is told,
/// who gets committed events, and when the session may be forgotten.
@Suite struct SessionConnectionsTests {
    @Test func everyEventGetsTheNextSeqAndIsEncodedOnce() throws {
        var machine = makeSessionMachine(latestSeq: 41)
        let delta = Machine.Emission(
            payload: .assistant(AssistantEvent(content: "Hb", streaming: true, messageID: "m-1")),
            turnID: "turn-1",
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736",
            spanID: "00f067aa0ba902b7"
        )
        let first = try #require(machine.emit(delta, at: at(5)).event)
        let second = machine.handle(.emit(delta), at: at(6)).persisted
        #expect(first.seq == 42 && second.map(\.seq) == [43])
        #expect(
            first.json
                == #"{"type":"assistant","session_id":"machine-test-session","seq":42,"timestamp":"\#(at(5).timestamp.iso8601)","turn_id":"turn-1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","content":"Hb","streaming":true,"message_id":"m-1"}"#
        )
        // A time the emitter gives wins over the machine's.
        var stamped = delta
        stamped.timestamp = Timestamp(microseconds: 1_000_000)
        #expect(machine.emit(stamped, at: at(7)).event?.value["timestamp"]?.stringValue == Timestamp(microseconds: 1_000_000).iso8601)
        #expect(machine.lastSeq == 44 && machine.deliveredSeq == 41)
    }

    @Test func aConnectionIsToldWhatIsStoredAndGetsOnlyWhatIsCommittedAfter() {
        var machine = makeSessionMachine(latestSeq: 3)
        let early = Watcher("early")
        #expect(machine.handle(.attach(early), at: at(0)) == [.attached(deliveredSeq: 3, latestSeq: 3)])
        _ = machine.emit(.init(payload: .turn(TurnEvent(status: .started)), turnID: "t"), at: at(1))
        _ = machine.emit(.init(payload: .queued(position: 1), turnID: "t"), at: at(1))
        // Emitted but not yet committed: a connection now replays up to 3 and gets 4 and 5 live.
        let late = Watcher("late")
        #expect(machine.handle(.attach(late), at: at(2)) == [.attached(deliveredSeq: 3, latestSeq: 5)])
        #expect(machine.handle(.committed(through: 5, changesSummary: false), at: at(3)) == [.deliver(to: [early, late])])
        #expect(machine.deliveredSeq == 5)
        // A commit the machine did not emit is refused, not delivered.
        #expect(machine.handle(.committed(through: 9, changesSummary: false), at: at(4)) == [.ignored("commit of seq 9 after 5")])
        #expect(machine.handle(.committed(through: 5, changesSummary: false), at: at(4)) == [.ignored("commit of seq 5 after 5")])
    }

    @Test func overflowedConnectionsAreDroppedAndTheLastOneGoingMakesTheSessionIdle() {
        var machine = makeSessionMachine()
        let (a, b) = (Watcher("a"), Watcher("b"))
        _ = machine.handle(.attach(a), at: at(0))
        _ = machine.handle(.attach(b), at: at(0))
        #expect(machine.handle(.dropConnections([a]), at: at(1)) == [])
        #expect(machine.connections == [b])
        #expect(machine.handle(.evictIfIdle, at: at(1)) == [])
        #expect(machine.handle(.detach(b), at: at(2)) == [.idle])
        #expect(machine.handle(.evictIfIdle, at: at(3)) == [.evicted])
        #expect(machine.handle(.attach(a), at: at(4)) == [.refusedConnection])
    }

    @Test func aSessionWithATurnOrEventsInFlightIsNeverIdle() {
        var machine = makeSessionMachine()
        _ = machine.accept()
        #expect(!machine.isIdle)
        #expect(machine.handle(.evictIfIdle, at: at(1)) == [])
        _ = machine.handle(.turnFinished(.completed(TurnUsage())), at: at(2))
        #expect(machine.turn == nil && !machine.isIdle)
        #expect(machine.handle(.committed(through: 2, changesSummary: true), at: at(3)) == [.publishSummaryChange])
        #expect(machine.handle(.committed(through: 3, changesSummary: true), at: at(3)) == [.publishSummaryChange, .idle])
        #expect(machine.handle(.evictIfIdle, at: at(4)) == [.evicted] && machine.isGone)
    }

    @Test func theConversationKeepsMessagesAndFinalRepliesWithText() {
        var machine = makeSessionMachine()
        _ = machine.accept(.message("Latest HbA1c?"))
        for payload: EventPayload in [
            .assistant(AssistantEvent(content: "7.1", streaming: true, messageID: "m")),
            .toolCall(toolCallID: "c", toolName: "search", arguments: .object([:])),
            .assistant(AssistantEvent(content: "", streaming: false, messageID: "m")),
            .assistant(AssistantEvent(content: "It was 7.1 %.", streaming: false, messageID: "m")),
        ] {
            _ = machine.emit(.init(payload: payload, turnID: "turn-1"), at: at(1))
        }
        #expect(machine.conversation.entries.map(\.message) == [.user("Latest HbA1c?"), .assistant("It was 7.1 %.")])
        #expect(machine.conversation.entries.map(\.seq) == [1, 6])
    }

    @Test func aSpanWithNoTurnIsIgnored() {
        var machine = makeSessionMachine()
        #expect(machine.handle(.turnSpan(traceID: "a", spanID: "b"), at: at(0)) == [.ignored("turn span with no turn")])
    }
}
