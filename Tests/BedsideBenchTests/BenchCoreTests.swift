import BedsideBenchCore
import Testing

@Suite struct EventHeaderTests {
    @Test func readsTheCommonFieldsOfAnAssistantDelta() throws {
        let text =
            #"{"type":"assistant","session_id":"bench-s-1","seq":7,"timestamp":"2026-11-25T09:12:03.301022Z","turn_id":"t","content":"\"status\":\"x\"","streaming":true,"message_id":"m"}"#
        let header = try #require(EventHeader.scan(text))
        #expect(header.type == "assistant")
        #expect(header.sessionID == Array("bench-s-1".utf8))
        #expect(header.seq == 7)
        // 2026-11-25T09:12:03Z is 1795597923 s after 1970.
        #expect(header.timestampMicros == 1_795_597_923_301_022)
        #expect(header.detail == nil)
        #expect(!header.endsTurn)
    }

    @Test func readsTurnStatusAndErrorCode() throws {
        let end = try #require(
            EventHeader.scan(
                #"{"type":"turn","session_id":"s-12345678","seq":50,"timestamp":"2026-01-01T00:00:00.000001Z","turn_id":"t","status":"completed","duration_ms":210.5}"#
            )
        )
        #expect(end.detail == "completed")
        #expect(end.endsTurn)
        #expect(end.timestampMicros == 1_767_225_600_000_001)
        let started = try #require(
            EventHeader.scan(#"{"type":"turn","session_id":"s-12345678","seq":2,"timestamp":"2026-01-01T00:00:00.5Z","status":"started"}"#)
        )
        #expect(!started.endsTurn)
        #expect(started.timestampMicros == 1_767_225_600_500_000)
        let error = try #require(
            EventHeader.scan(
                #"{"type":"error","session_id":"s-12345678","timestamp":"2026-01-01T00:00:00.000000Z","error":"A turn is running.","code":"busy"}"#
            )
        )
        #expect(error.seq == nil)
        #expect(error.detail == "busy")
    }

    @Test func refusesTextWithoutTheCommonFields() {
        #expect(EventHeader.scan(#"{"type":"turn"}"#) == nil)
        #expect(EventHeader.scan("not json") == nil)
        #expect(EventHeader.scan(#"{"type":"x","session_id":"s","timestamp":"yesterday"}"#)?.timestampMicros == nil)
    }
}

@Suite struct SamplesTests {
    @Test func nearestRankPercentiles() {
        var samples = Samples((1...100).reversed().map { Int64($0) })
        let summary = samples.summary()
        #expect(summary == .init(count: 100, p50: 50, p95: 95, p99: 99, max: 100))
        var few = Samples([30, 10, 20])
        let (p50, p99, p0) = (few.percentile(50), few.percentile(99), few.percentile(0))
        #expect(p50 == 20)
        #expect(p99 == 30)
        #expect(p0 == 10)
        var empty = Samples()
        let none = empty.summary()
        #expect(none == nil)
    }

    @Test func mergeKeepsEveryValue() {
        var a = Samples([5, 1])
        a.merge(Samples([3]))
        let (count, top, p34) = (a.count, a.percentile(100), a.percentile(34))
        #expect(count == 3)
        #expect(top == 5)
        #expect(p34 == 3)
    }
}
