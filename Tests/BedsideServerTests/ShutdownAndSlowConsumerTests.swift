import BedsideCore
import Foundation
import NIOWebSocket
import Testing

/// Graceful shutdown, and a client that stops reading.
@Suite struct ShutdownAndSlowConsumerTests {
    @Test func shutdownEndsRunningTurnsAndClosesConnectionsWith1001() async throws {
        let server = try await LiveServer.start { $0.shutdownGrace = .zero }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "wait"))
        _ = try await socket.receive(until: { $0.type == "turn" })
        try await server.stop()
        let end = try await socket.receive()
        #expect(end.type == "turn")
        #expect(end.status == "cancelled")
        #expect(end["reason"]?.stringValue == "shutdown")
        let close = try await socket.closed()
        #expect(close?.closeCode == .goingAway)
        // The end of the turn was persisted before the connection closed.
        let stored = try await server.store.events(in: SessionID(session)!, after: 0, through: nil, limit: nil)
        #expect(stored.last?.turnStatus == "cancelled")
        #expect(try await server.store.unfinishedTurns().isEmpty)
    }

    @Test func aNonReadingClientIsClosedOnOverflowWhileAnotherKeepsReceiving() async throws {
        // Large deltas fill the socket buffers quickly; a small outbox overflows soon after.
        let runner = ScriptedRunner(deltas: 1500, deltaSize: 8 * 1024, delay: .milliseconds(1))
        let server = try await LiveServer.start(runner: runner) {
            $0.outboxCapacity = 256
            $0.closeTimeout = .seconds(30)
        }
        let session = newSessionID()
        let stalled = try await TestSocket.connect(server.socketURL(session), reading: false)
        let reader = try await server.open(session)
        try await reader.send(Frame.message(session, "a very long answer"))
        var events: [JSONValue] = []
        do {
            while events.last?.type != "turn" || events.last?.status == "started" {
                events.append(try await reader.receive(timeout: .seconds(30)))
            }
        } catch {
            let close = try? await reader.closed()
            Issue.record("reader stopped after \(events.count) events: \(error); close \(String(describing: close))")
            throw error
        }
        #expect(events.last?.status == "completed")
        #expect(events.filter { $0.type == "assistant" }.count == 1501)
        #expect(seqs(events) == Array(1...Int64(events.count)))

        // The stalled client was cut off: once it reads, it finds a 1013 close after a prefix.
        stalled.startReading()
        var received: [JSONValue] = []
        while let text = try await stalled.receiveText(timeout: .seconds(30)) {
            received.append(try JSONValue.parse(text))
        }
        let close = try await stalled.closed()
        #expect(close?.closeCode == .unknown(1013))
        #expect(received.count < events.count)
        #expect(seqs(received) == Array(seqs(received).indices.map { Int64($0 + 1) }))

        // It catches up on resume.
        let resumed = try await server.open(session, lastSeq: seqs(received).last ?? 0)
        var rest: [JSONValue] = []
        while rest.last?.type != "turn" || rest.last?.status == "started" {
            rest.append(try await resumed.receive())
        }
        #expect(seqs(received) + seqs(rest) == seqs(events))
        try await resumed.close()
        try await reader.close()
        try await server.stop()
    }
}
