import BedsideCore
import BedsideProtocol
import Testing

/// The shapes the turn limits add: `queued`, and the `retry_after_ms` of `too_many_turns`.
@Suite struct TurnLimitShapesTests {
    let session = SessionID("session-1234")!
    let timestamp = Timestamp(microseconds: 1_764_000_000_123_456)

    @Test func queuedCarriesItsPositionAfterTheCommonMembers() {
        let event = ServerEvent(sessionID: session, seq: 3, timestamp: timestamp, turnID: "t-1", payload: .queued(position: 2))
        #expect(event.type == "queued")
        #expect(
            event.json
                == #"{"type":"queued","session_id":"session-1234","seq":3,"timestamp":"2025-11-24T16:00:00.123456Z","turn_id":"t-1","position":2}"#
        )
    }

    @Test func aQueuedTurnIsOpenInTheStoreFromItsQueuedEvent() {
        let queued = ServerEvent(sessionID: session, seq: 3, timestamp: timestamp, turnID: "t-1", payload: .queued(position: 1))
        let stored = queued.stored(json: queued.json)
        #expect(stored.type == "queued")
        #expect(stored.turnID == "t-1")
        #expect(stored.turnStatus == "started")
    }

    @Test func tooManyTurnsSaysWhenToRetryAfterItsCode() {
        let refusal = ServerEvent(
            sessionID: session,
            seq: nil,
            timestamp: timestamp,
            payload: .error(
                code: .tooManyTurns,
                message: "You have started 30 turns in the last minute: wait 12 s.",
                retryAfterMilliseconds: 12_000
            )
        )
        #expect(
            refusal.json
                == #"{"type":"error","session_id":"session-1234","timestamp":"2025-11-24T16:00:00.123456Z","error":"You have started 30 turns in the last minute: wait 12 s.","code":"too_many_turns","retry_after_ms":12000}"#
        )
        #expect(ErrorCode.tooManyTurns.isConnectionScoped)
    }

    @Test func otherErrorsHaveNoRetryMember() {
        let error = ServerEvent(sessionID: session, seq: 4, timestamp: timestamp, payload: .error(code: .busy, message: "busy"))
        #expect(!error.json.contains("retry_after_ms"))
    }
}
