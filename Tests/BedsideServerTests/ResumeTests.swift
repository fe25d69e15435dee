import BedsideCore
import BedsideProtocol
import BedsideStore
import Foundation
import Testing

/// Resume with `last_seq`: `connection`, then every missed event, then live ones: no gap, no
/// duplicate, also across a restart on the same database.
@Suite struct ResumeTests {
    @Test func aClientDroppedMidTurnResumesAndEndsWithExactlyTheServersHistory() async throws {
        let server = try await LiveServer.start(runner: ScriptedRunner(deltas: 40, delay: .milliseconds(5)))
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "tell me everything"))
        var seen = try await socket.receive(until: { $0.type == "assistant" })
        seen += [try await socket.receive(), try await socket.receive()]
        await socket.drop()
        let lastSeq = try #require(seqs(seen).last)

        // Reconnect mid-turn (the turn is still streaming) with the last seq seen.
        let resumed = try await TestSocket.connect(server.socketURL(session, lastSeq: lastSeq))
        let connection = try await resumed.receive()
        #expect(connection.type == "connection")
        #expect(connection["resumed_from"]?.integerValue == lastSeq)
        seen += try await resumed.receiveTurn()
        let history = try await server.history(session)
        #expect(seen.filter { $0.seq != nil } == history)
        #expect(seqs(seen) == Array(1...Int64(history.count)))
        try await resumed.close()
        try await server.stop()
    }

    @Test func resumeByMessageReplaysWhatTheClientAsksFor() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "one"))
        let turn = try await socket.receiveTurn()
        try await socket.send(Frame.resume(session, lastSeq: 2))
        let connection = try await socket.receive()
        #expect(connection.type == "connection")
        #expect(connection["resumed_from"]?.integerValue == 2)
        #expect(try await socket.receive(count: turn.count - 2) == Array(turn.dropFirst(2)))
        try await socket.expectSilence()
        // Live events continue after the replay, without duplicates.
        try await socket.send(Frame.message(session, "two"))
        let next = try await socket.receiveTurn()
        #expect(next.first?.seq == Int64(turn.count + 1))
        try await socket.close()
        try await server.stop()
    }

    /// A server with one session that has had one completed turn, and that turn's events.
    private func sessionWithOneTurn() async throws -> (LiveServer, String, [JSONValue]) {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "one"))
        let turn = try await socket.receiveTurn()
        try await socket.close()
        return (server, session, turn)
    }

    @Test func lastSeqZeroReplaysEverythingAndNoLastSeqReplaysNothing() async throws {
        let (server, session, turn) = try await sessionWithOneTurn()

        let full = try await TestSocket.connect(server.socketURL(session, lastSeq: 0))
        #expect(try await full.receive()["latest_seq"]?.integerValue == Int64(turn.count))
        #expect(try await full.receive(count: turn.count) == turn)
        try await full.close()

        let live = try await TestSocket.connect(server.socketURL(session))
        #expect(try await live.receive()["latest_seq"]?.integerValue == Int64(turn.count))
        try await live.expectSilence()
        try await live.close()
        try await server.stop()
    }

    @Test func aLastSeqBeyondTheHistoryIsAResumeGap() async throws {
        let (server, session, turn) = try await sessionWithOneTurn()

        let ahead = try await TestSocket.connect(server.socketURL(session, lastSeq: 999))
        let connection = try await ahead.receive()
        #expect(connection["resumed_from"] == .null)
        let gap = try await ahead.receive()
        #expect(gap.code == "resume_gap")
        #expect(try await ahead.receive(count: turn.count) == turn)
        try await ahead.close()
        try await server.stop()
    }

    @Test func resumeWorksAcrossARestartOnTheSameDatabase() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/bedside.sqlite"
        let session = newSessionID()

        let first = try await LiveServer.start(store: try SQLiteEventStore(path: path))
        let socket = try await first.open(session)
        try await socket.send(Frame.message(session, "before restart", id: "r-1"))
        var seen = try await socket.receiveTurn()
        try await socket.send(Frame.message(session, "second before restart"))
        let missed = try await socket.receiveTurn()
        let before = try await first.history(session)
        try await first.stop()

        // A new process on the same file: the client missed the second turn.
        let second = try await LiveServer.start(store: try SQLiteEventStore(path: path))
        let resumed = try await TestSocket.connect(second.socketURL(session, lastSeq: seqs(seen).last))
        let connection = try await resumed.receive()
        #expect(connection["latest_seq"]?.integerValue == Int64(before.count))
        let replay = try await resumed.receive(count: missed.count)
        #expect(replay == missed)
        seen += replay
        // Seq continues after the restart, and the idempotency key is still known.
        try await resumed.send(Frame.message(session, "before restart", id: "r-1"))
        #expect(try await resumed.receive() == seen.first)
        try await resumed.send(Frame.message(session, "after restart"))
        seen += try await resumed.receiveTurn()
        #expect(seen == (try await second.history(session)))
        #expect(seqs(seen) == Array(1...Int64(seen.count)))
        try await resumed.close()
        try await second.stop()
    }

    @Test func aTurnLeftRunningByACrashIsClosedAsInterruptedAtTheNextStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/bedside.sqlite"
        let session = try #require(SessionID(newSessionID()))
        // What a killed process leaves behind: a started turn with no end.
        let store = try SQLiteEventStore(path: path)
        let started = ServerEvent(
            sessionID: session,
            seq: 1,
            timestamp: .now(),
            turnID: "turn-crashed",
            payload: .turn(TurnEvent(status: .started))
        )
        try await store.append([started.stored(json: started.json)])

        let server = try await LiveServer.start(store: try SQLiteEventStore(path: path))
        let socket = try await server.open(session.rawValue, lastSeq: 0)
        let events = try await socket.receive(until: { $0.type == "turn" && $0.status == "failed" })
        #expect(events.last?["reason"]?.stringValue == "interrupted")
        #expect(events.last?["turn_id"]?.stringValue == "turn-crashed")
        #expect(events.contains { $0.code == "turn_failed" })
        #expect(try await server.store.unfinishedTurns().isEmpty)
        try await socket.close()
        try await server.stop()
    }
}
