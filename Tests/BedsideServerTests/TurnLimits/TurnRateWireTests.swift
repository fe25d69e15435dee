import BedsideCore
import BedsideServer
import Foundation
import Testing

/// Turns per minute on the wire: the refusal a client sees, keyed by who it is rather than by
/// session. (The window itself is tested with a manual clock in `TurnRateHubTests`.)
@Suite struct TurnRateWireTests {
    private func turns(_ count: Int, on socket: TestSocket, session: String) async throws {
        for index in 1...count {
            try await socket.send(Frame.message(session, "question \(index)"))
            #expect(try await socket.receiveTurn().last?.status == "completed")
        }
    }

    @Test func aConfiguredLimitRefusesTheNextTurnOfTheClientInAnySessionWithWhenToRetry() async throws {
        let metrics = BedsideMetrics()
        let server = try await LiveServer.start(metrics: metrics) { $0.limits.maxTurnsPerMinute = 2 }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await turns(2, on: socket, session: session)
        try await socket.send(Frame.message(session, "third", id: "c-3"))
        let text = try #require(try await socket.receiveText())
        let pattern =
            #"^\{"type":"error","session_id":"\#(session)","timestamp":"[0-9T:.Z-]+","error":"You have started 2 turns in the last minute: wait ([0-9]+) s\.","code":"too_many_turns","retry_after_ms":([0-9]+)\}$"#
        let match = try #require(text.wholeMatch(of: try Regex(pattern)), "\(text)")
        let seconds = try #require(Int(match.output[1].substring ?? ""))
        let milliseconds = try #require(Int(match.output[2].substring ?? ""))
        #expect(milliseconds > 0 && milliseconds <= 60_000)
        #expect(seconds == (milliseconds + 999) / 1000)
        try await socket.expectSilence()

        // Another session of the same client is refused too; nothing of either message is stored.
        let other = newSessionID()
        let second = try await server.open(other)
        try await second.send(Frame.message(other, "elsewhere"))
        #expect(try await second.receive().code == "too_many_turns")
        #expect(try await server.history(session).filter { $0.type == "user" }.count == 2)
        #expect(try await server.history(other).isEmpty)

        let (_, body) = try await server.get("/metrics")
        #expect(try PrometheusText(body).value("bedside_limit_refusals_total", ["limit": "turns_per_minute"]) == 2)
        try await socket.close()
        try await second.close()
        try await server.stop()
    }

    @Test func atTheDefaultAClientStartsThirtyTurnsAMinute() async throws {
        // Frames per second are lifted: thirty quick turns are more than twenty frames a second.
        let server = try await LiveServer.start { $0.limits.maxMessagesPerSecond = 0 }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await turns(30, on: socket, session: session)
        try await socket.send(Frame.message(session, "thirty-first"))
        let refusal = try await socket.receive()
        #expect(refusal.code == "too_many_turns")
        #expect(refusal["error"]?.stringValue?.hasPrefix("You have started 30 turns in the last minute: wait ") == true)
        #expect(refusal["retry_after_ms"]?.integerValue.map { $0 > 0 && $0 <= 60_000 } == true)
        try await socket.close()
        try await server.stop()
    }
}
