import BedsideCore
import BedsideProtocol
import BedsideServer
import BedsideStore
import Foundation
import Testing

/// Turns running at once in the whole server: over the cap a message is accepted and echoed,
/// its turn waits (`queued`), and starts when a slot frees, first come first served.
@Suite struct TurnQueueTests {
    /// A server whose turns may run `concurrent` at once; turns per minute are not limited.
    private func server(
        concurrent: Int,
        store: any EventStore = InMemoryEventStore(),
        metrics: BedsideMetrics = BedsideMetrics()
    )
        async throws -> LiveServer
    {
        try await LiveServer.start(store: store, metrics: metrics) {
            $0.limits = ServerLimits(maxTurnsPerMinute: 0, maxConcurrentTurns: concurrent)
        }
    }

    /// Opens `session` and sends `content`; returns the socket and the events up to and
    /// including the turn's `started` or `queued`.
    private func start(_ server: LiveServer, _ session: String, _ content: String) async throws -> (TestSocket, [JSONValue]) {
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, content))
        let events = try await socket.receive(until: { $0.type == "queued" || ($0.type == "turn" && $0.status == "started") })
        return (socket, events)
    }

    private func scrape(_ server: LiveServer) async throws -> PrometheusText {
        let (status, body) = try await server.get("/metrics")
        #expect(status == 200)
        return try PrometheusText(body)
    }

    @Test func overAConfiguredCapTurnsQueueInOrderAndStartWhenASlotFrees() async throws {
        let metrics = BedsideMetrics()
        let server = try await server(concurrent: 1, metrics: metrics)
        let (a, b, c) = (newSessionID("a"), newSessionID("b"), newSessionID("c"))
        let (running, started) = try await start(server, a, "wait")
        #expect(started.map(\.type) == ["user", "turn"])

        let (waiting, queued) = try await start(server, b, "second")
        #expect(queued.map(\.type) == ["user", "queued"])
        #expect(queued[1]["position"]?.integerValue == 1)
        #expect(queued[1].seq == 2)
        #expect(queued[1]["turn_id"] == queued[0]["turn_id"])
        let (third, queuedToo) = try await start(server, c, "third")
        #expect(queuedToo.last?["position"]?.integerValue == 2)

        // A queued turn keeps its session busy, and does not start by itself.
        try await waiting.send(Frame.message(b, "another"))
        let busy = try await waiting.receive()
        #expect(busy.code == "busy" && busy.seq == nil)
        try await waiting.expectSilence()

        // Cancelling a queued turn ends it without its ever starting.
        try await third.send(Frame.cancel(c))
        let cancelled = try await third.receive()
        #expect(cancelled.type == "turn" && cancelled.status == "cancelled")
        #expect(cancelled["reason"]?.stringValue == "cancelled_by_user")
        #expect(cancelled["duration_ms"] != nil)

        // The running turn ends: the first in the queue starts and runs to its end.
        try await running.send(Frame.cancel(a))
        #expect(try await running.receiveTurn().last?.status == "cancelled")
        let rest = try await waiting.receiveTurn()
        #expect(rest.first?.type == "turn" && rest.first?.status == "started")
        #expect(rest.first?.seq == 3)
        #expect(rest.last?.status == "completed")
        #expect(try await server.history(b) == queued + rest)
        #expect(try await server.history(c).map(\.type) == ["user", "queued", "turn"])

        // Each session counts its one turn once in the list, and its last status.
        let (_, list) = try await server.get("/sessions")
        guard case .array(let summaries)? = try JSONValue.parse(list)["sessions"] else { throw TestFailure("no sessions: \(list)") }
        func summary(_ id: String) -> JSONValue? { summaries.first { $0["id"]?.stringValue == id } }
        #expect(summary(b)?["turn_count"]?.integerValue == 1)
        #expect(summary(b)?["last_turn_status"]?.stringValue == "completed")
        #expect(summary(c)?["turn_count"]?.integerValue == 1)
        #expect(summary(c)?["last_turn_status"]?.stringValue == "cancelled")

        let scraped = try await scrape(server)
        #expect(scraped.value("bedside_limit_refusals_total", ["limit": "concurrent_turns"]) == 2)
        #expect(scraped.value("bedside_events_total", ["type": "queued"]) == 2)
        for socket in [running, waiting, third] { try await socket.close() }
        try await server.stop()
    }

    @Test func atTheDefaultSixtyFourTurnsRunAtOnceAndTheSixtyFifthWaits() async throws {
        #expect(ServerLimits().maxConcurrentTurns == 64)
        let server = try await LiveServer.start { $0.limits.maxTurnsPerMinute = 0 }
        var sockets: [(String, TestSocket)] = []
        for index in 0..<64 {
            let session = newSessionID("run\(index)")
            let (socket, events) = try await start(server, session, "wait")
            #expect(events.last?.status == "started", "turn \(index)")
            sockets.append((session, socket))
        }
        let last = newSessionID("last")
        let (waiting, queued) = try await start(server, last, "after them")
        #expect(queued.last?.type == "queued")
        #expect(queued.last?["position"]?.integerValue == 1)
        let (session, socket) = sockets[17]
        try await socket.send(Frame.cancel(session))
        let rest = try await waiting.receiveTurn()
        #expect(rest.first?.status == "started")
        #expect(rest.last?.status == "completed")
        try await waiting.close()
        // Shutdown cancels the 63 still running.
        try await server.stop()
        for (_, socket) in sockets { await socket.drop() }
    }

    @Test func shutdownEndsAQueuedTurnCancelledWithoutItsStarting() async throws {
        let server = try await server(concurrent: 1)
        let (a, b) = (newSessionID("a"), newSessionID("b"))
        let (running, _) = try await start(server, a, "wait")
        let (waiting, _) = try await start(server, b, "queued")
        try await server.stop()
        let history = try await server.store.events(in: try #require(SessionID(b)), after: 0, through: nil, limit: nil)
        #expect(history.map(\.type) == ["user", "queued", "turn"])
        let end = try JSONValue.parse(try #require(history.last).json)
        #expect(end.status == "cancelled")
        #expect(end["reason"]?.stringValue == "shutdown")
        #expect(try await server.store.unfinishedTurns().isEmpty)
        await running.drop()
        await waiting.drop()
    }

    @Test func aTurnQueuedWhenTheProcessDiedIsClosedAsInterruptedAtTheNextStart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/bedside.sqlite"
        let session = try #require(SessionID(newSessionID()))
        // What a killed process leaves of a queued turn: the message and its `queued`, no end.
        let store = try SQLiteEventStore(path: path)
        let events = [
            ServerEvent(
                sessionID: session,
                seq: 1,
                timestamp: .now(),
                turnID: "turn-q",
                payload: .user(content: "hi", clientMessageID: nil)
            ),
            ServerEvent(sessionID: session, seq: 2, timestamp: .now(), turnID: "turn-q", payload: .queued(position: 3)),
        ]
        try await store.append(events.map { $0.stored(json: $0.json) })
        #expect(try await store.unfinishedTurns().map(\.turnID) == ["turn-q"])

        let server = try await LiveServer.start(store: try SQLiteEventStore(path: path))
        let socket = try await server.open(session.rawValue, lastSeq: 0)
        let replayed = try await socket.receive(until: { $0.type == "turn" && $0.status == "failed" })
        #expect(replayed.map(\.type) == ["user", "queued", "error", "turn"])
        #expect(replayed.last?["reason"]?.stringValue == "interrupted")
        #expect(replayed.last?["turn_id"]?.stringValue == "turn-q")
        #expect(try await server.store.unfinishedTurns().isEmpty)
        // The session is free for a new turn.
        try await socket.send(Frame.message(session.rawValue, "again"))
        #expect(try await socket.receiveTurn().last?.status == "completed")
        try await socket.close()
        try await server.stop()
    }

    @Test func aQueuedTurnWhoseConnectionWentAwayStillRunsAndIsCaughtUpOnResume() async throws {
        let server = try await server(concurrent: 1)
        let (a, b) = (newSessionID("a"), newSessionID("b"))
        let (running, _) = try await start(server, a, "wait")
        let (waiting, queued) = try await start(server, b, "nobody watches")
        try await waiting.close()
        try await running.send(Frame.cancel(a))
        _ = try await running.receiveTurn()
        // The queued turn started and finished with no connection; a new one catches up.
        let deadline = ContinuousClock.now + .seconds(20)
        while try await server.history(b).last?.status != "completed", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let resumed = try await server.open(b, lastSeq: Int64(queued.count))
        let rest = try await resumed.receiveTurn()
        #expect(rest.first?.status == "started")
        #expect(rest.last?.status == "completed")
        try await resumed.close()
        try await running.close()
        try await server.stop()
    }
}
