import BedsideCore
import BedsideServer
import Foundation
import Testing

/// Turns: one at a time per session, cancel, idempotent resend, failures, no model.
@Suite struct TurnTests {
    @Test func cancelEndsTheTurnCancelled() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "wait"))
        let started = try await socket.receive(until: { $0.type == "turn" })
        #expect(started.last?.status == "started")
        // The turn waits until cancelled, so its end proves the cancel; how fast is a Latency test's.
        try await socket.send(Frame.cancel(session))
        try await socket.send(Frame.cancel(session))  // idempotent
        let end = try await socket.receive()
        #expect(end.type == "turn")
        #expect(end.status == "cancelled")
        #expect(end["reason"]?.stringValue == "cancelled_by_user")
        // Cancel with no turn running does nothing, and the session takes the next message.
        try await socket.send(Frame.cancel(session))
        try await socket.expectSilence()
        try await socket.send(Frame.message(session, "next"))
        #expect(try await socket.receiveTurn().last?.status == "completed")
        try await socket.close()
        try await server.stop()
    }

    @Test func aMessageDuringATurnIsRefusedBusyAndNotQueued() async throws {
        let runner = ScriptedRunner()
        let server = try await LiveServer.start(runner: runner)
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "wait"))
        _ = try await socket.receive(until: { $0.type == "turn" })
        try await socket.send(Frame.message(session, "second", id: "second-1"))
        let busy = try await socket.receive()
        #expect(busy.code == "busy")
        #expect(busy.seq == nil)
        try await socket.send(Frame.cancel(session))
        _ = try await socket.receiveTurn()
        // The refused message's id was not consumed: resending it now runs it.
        try await socket.send(Frame.message(session, "second", id: "second-1"))
        let events = try await socket.receiveTurn()
        #expect(events.first?.type == "user")
        #expect(events.last?.status == "completed")
        #expect(runner.turnsRun.count == 2)
        try await socket.close()
        try await server.stop()
    }

    @Test func aResentClientMessageIDIsNotRunTwice() async throws {
        let runner = ScriptedRunner()
        let server = try await LiveServer.start(runner: runner)
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "only once", id: "idem-1"))
        let first = try await socket.receiveTurn()
        let user = try #require(first.first)

        try await socket.send(Frame.message(session, "only once", id: "idem-1"))
        let answer = try await socket.receive()
        #expect(answer == user)  // the already-assigned event, same seq
        try await socket.expectSilence()

        // Also after reconnecting, from another connection.
        await socket.drop()
        let again = try await server.open(session)
        try await again.send(Frame.message(session, "only once", id: "idem-1"))
        #expect(try await again.receive() == user)
        try await again.expectSilence()
        #expect(runner.turnsRun.count == 1)
        #expect(try await server.history(session).filter { $0.type == "user" }.count == 1)
        try await again.close()
        try await server.stop()
    }

    @Test func aRunnerFailureIsShownAndEndsTheTurnFailed() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "fail"))
        let events = try await socket.receiveTurn()
        let error = try #require(events.first { $0.type == "error" })
        #expect(error.code == "llm_error")
        #expect(error.seq != nil)  // a session event: persisted and sent to every tab
        #expect(events.last?.status == "failed")

        try await socket.send(Frame.message(session, "crash"))
        let crashed = try await socket.receiveTurn()
        let internalError = try #require(crashed.first { $0.type == "error" })
        #expect(internalError.code == "turn_failed")
        #expect(internalError["error"]?.stringValue?.contains("unexpected") == true)
        #expect(crashed.last?.status == "failed")
        try await socket.close()
        try await server.stop()
    }

    @Test func withoutAModelEveryMessageFailsWithLLMUnavailable() async throws {
        let server = try await LiveServer.start(runner: UnconfiguredTurnRunner())
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "Hello?"))
        let events = try await socket.receiveTurn()
        #expect(events.map(\.type) == ["user", "turn", "error", "turn"])
        #expect(events[2].code == "llm_unavailable")
        #expect(events[2]["error"]?.stringValue?.contains("Configure a model") == true)
        #expect(events[3].status == "failed")
        try await socket.close()
        try await server.stop()
    }

    @Test func aDroppedConnectionNeverCancelsATurn() async throws {
        let server = try await LiveServer.start(runner: ScriptedRunner(deltas: 30, delay: .milliseconds(10)))
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "long answer"))
        _ = try await socket.receive(until: { $0.type == "assistant" })
        await socket.drop()
        // The turn runs on without any connection.
        var history: [JSONValue] = []
        for _ in 0..<200 {
            history = try await server.history(session)
            if history.last?.type == "turn", history.last?.status != "started" { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(history.last?.status == "completed")
        try await server.stop()
    }
}
