import BedsideCore
import BedsideProtocol
import BedsideServer
import Foundation
import NIOWebSocket
import Testing

@testable import bedside

/// Graceful shutdown gives running turns `--shutdown-grace` to finish, then cancels them with
/// reason `shutdown`; turns waiting for a slot are cancelled at once.
@Suite struct ShutdownGraceTests {
    @Test func theDefaultGraceIsTenSeconds() {
        #expect(ServerConfiguration().shutdownGrace == .seconds(10))
    }

    @Test func aTurnThatEndsWithinTheGraceCompletes() async throws {
        let server = try await LiveServer.start(runner: StreamingRunner()) { $0.shutdownGrace = .seconds(120) }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "long"))
        _ = try await socket.receive(until: { $0.type == "assistant" })
        async let stopped: Void = server.stop()
        let rest = try await socket.receiveTurn()
        #expect(rest.last?.status == "completed")
        #expect(rest.filter { $0.type == "assistant" && $0["streaming"] == .bool(true) }.count > 10)
        #expect(try await socket.closed()?.closeCode == .goingAway)
        try await stopped
        #expect(try await server.store.unfinishedTurns().isEmpty)
    }

    @Test func aTurnThatOutlastsTheGraceIsCancelledWithReasonShutdown() async throws {
        let server = try await LiveServer.start(runner: StreamingRunner()) { $0.shutdownGrace = .milliseconds(300) }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "stream"))
        _ = try await socket.receive(until: { $0.type == "assistant" })
        let started = ContinuousClock.now
        try await server.stop()
        // It streamed on during the grace.
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        let rest = try await socket.receiveTurn()
        #expect(rest.last?.status == "cancelled")
        #expect(rest.last?["reason"]?.stringValue == "shutdown")
        #expect(try await server.store.unfinishedTurns().isEmpty)
    }

    @Test func aTurnWaitingForASlotIsCancelledAtOnceWhileARunningOneFinishes() async throws {
        // The running turn ends only once the waiting one has been seen cancelled: however slow
        // the machine, the slot is never freed before shutdown has begun.
        let gate = TurnGate()
        let server = try await LiveServer.start(runner: GatedRunner(gate: gate)) {
            $0.shutdownGrace = .seconds(120)
            $0.limits.maxConcurrentTurns = 1
        }
        let running = newSessionID()
        let waiting = newSessionID()
        let runningSocket = try await server.open(running)
        let waitingSocket = try await server.open(waiting)
        try await runningSocket.send(Frame.message(running, "long"))
        _ = try await runningSocket.receive(until: { $0.type == "assistant" })
        try await waitingSocket.send(Frame.message(waiting, "hello"))
        _ = try await waitingSocket.receive(until: { $0.type == "queued" })
        async let stopped: Void = server.stop()
        let waited = try await waitingSocket.receiveTurn()
        gate.open()
        #expect(waited.last?.status == "cancelled")
        #expect(waited.last?["reason"]?.stringValue == "shutdown")
        #expect(!waited.contains { $0.type == "turn" && $0.status == "started" })
        let ran = try await runningSocket.receiveTurn()
        #expect(ran.last?.status == "completed")
        try await stopped
    }
}

/// A runner whose turn ignores cancellation: it ends only after 60 s, whatever happens.
struct StubbornRunner: TurnRunner {
    let ended = Counter()
    var description: String { "stubborn test runner" }

    func run(_ turn: TurnContext) async throws -> TurnUsage {
        turn.emit(.assistant(AssistantEvent(content: "thinking", streaming: true, messageID: "m")))
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + 60) { continuation.resume() }
        }
        ended.increment()
        return TurnUsage()
    }
}

extension ShutdownGraceTests {
    @Test func aTurnThatIgnoresCancellationDoesNotHoldShutdownAndIsLeftForTheNextStart() async throws {
        let runner = StubbornRunner()
        let server = try await LiveServer.start(runner: runner) { $0.shutdownGrace = .zero }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "think"))
        _ = try await socket.receive(until: { $0.type == "assistant" })
        try await server.stop()
        // Shutdown gave up waiting for it: the turn is still running, and still open in the store.
        #expect(runner.ended.count == 0)
        #expect(try await server.store.unfinishedTurns().map(\.sessionID) == [SessionID(session)!])
    }
}

/// `--shutdown-grace` and `BEDSIDE_SHUTDOWN_GRACE`: seconds, 0 cancels at once, flag over variable.
@Suite struct ShutdownGraceOptionTests {
    @Test func theGraceIsReadFromTheFlagThenTheEnvironment() throws {
        #expect(try Options.parse([]).resolve(environment: [:]).server.shutdownGrace == .seconds(10))
        #expect(try Options.parse(["--shutdown-grace", "0"]).resolve(environment: [:]).server.shutdownGrace == .zero)
        let both = try Options.parse(["--shutdown-grace", "3"]).resolve(environment: ["BEDSIDE_SHUTDOWN_GRACE": "30"])
        #expect(both.server.shutdownGrace == .seconds(3))
        #expect(try Options.parse([]).resolve(environment: ["BEDSIDE_SHUTDOWN_GRACE": "30"]).server.shutdownGrace == .seconds(30))
        #expect(throws: (any Error).self) { try Options.parse(["--shutdown-grace", "-1"]).resolve(environment: [:]) }
        #expect(throws: (any Error).self) { try Options.parse([]).resolve(environment: ["BEDSIDE_SHUTDOWN_GRACE": "soon"]) }
    }
}
