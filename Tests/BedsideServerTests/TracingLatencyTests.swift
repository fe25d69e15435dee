import BedsideCore
import BedsideTestSupport
import Foundation
import Testing

@testable import bedside

/// A collector that is down or black-holed costs the chat nothing: turns complete and their
/// events arrive as fast as with tracing off.
@Suite(.serialized) struct TracingLatencyTests {
    /// The median time from sending a message to the turn's end event, over `count` turns after
    /// one warm-up turn, and how many of those turns completed.
    static func measure(tracesURL: String?, count: Int = 6) async throws -> (median: Duration, completed: Int, rig: TraceRig) {
        let replies = (0...count).flatMap { _ in TraceRig.twoToolReplies }
        let rig = try await TraceRig.start(replies, tracesURL: tracesURL)
        _ = try await rig.turn("warm-up")
        var times: [Duration] = []
        var completed = 0
        for _ in 0..<count {
            let start = ContinuousClock.now
            let (_, events) = try await rig.turn("Glucose and conditions?")
            times.append(.now - start)
            if events.last?.status == "completed" { completed += 1 }
        }
        return (times.sorted()[count / 2], completed, rig)
    }

    @Test func turnEventLatencyIsUnchangedWhenTheCollectorIsDownOrBlackHoled() async throws {
        let off = try await Self.measure(tracesURL: nil)
        try await off.rig.stop()

        // Down: a port that was just closed refuses every export.
        let closed = try await OTLPReceiver()
        let closedURL = "\(closed.endpoint)/v1/traces"
        await closed.stop()
        let down = try await Self.measure(tracesURL: closedURL)
        try await down.rig.stop()

        // Black-holed: the collector takes each request and never answers.
        let hole = try await OTLPReceiver(stall: true)
        let stalled = try await Self.measure(tracesURL: "\(hole.endpoint)/v1/traces")
        let stalledRequests = hole.requestCount
        try await stalled.rig.stop()
        await hole.stop()

        print("turn latency (median): tracing off \(off.median), collector down \(down.median), black-holed \(stalled.median)")
        #expect(off.completed == 6 && down.completed == 6 && stalled.completed == 6)
        #expect(stalledRequests > 0, "the exporter never reached the black hole")
        // Tracing adds microseconds per turn; an exporter in the way would add its timeout (2 s).
        // The margin allows for a shared machine's noise.
        #expect(down.median < off.median + .milliseconds(50), "down \(down.median) vs off \(off.median)")
        #expect(stalled.median < off.median + .milliseconds(50), "black-holed \(stalled.median) vs off \(off.median)")
    }

    @Test func aFinishedTurnReachesTheCollectorWithinASecondLatency() async throws {
        let receiver = try await OTLPReceiver()
        let rig = try await TraceRig.start(
            TraceRig.twoToolReplies,
            tracesURL: "\(receiver.endpoint)/v1/traces",
            scheduleDelay: TracingSettings.defaultScheduleDelay
        )
        let (_, events) = try await rig.turn("Glucose and conditions?")
        let ended = ContinuousClock.now
        let traceID = try #require(events.last?["trace_id"]?.stringValue)
        let roots = try await receiver.spans(atLeast: 1, within: .seconds(5)) {
            $0.traceID == traceID && $0.name == "invoke_agent bedside"
        }
        let arrived = ContinuousClock.now - ended
        print("a finished turn reached the collector after \(arrived)")
        #expect(roots.count == 1)
        #expect(arrived < .seconds(1), "took \(arrived)")
        try await rig.stop()
        await receiver.stop()
    }
}
