import BedsideCore
import BedsideProtocol
import Foundation
import Synchronization
import Testing

@testable import BedsideServer

/// A message that arrives while the server shuts down is refused with its own code,
/// `shutting_down`, not `busy`, over a real socket; nothing of it is stored.
@Suite struct ShuttingDownTests {
    @Test func aMessageDuringShutdownIsRefusedWithShuttingDownAndNotStored() async throws {
        let gate = TurnGate()
        let server = try await LiveServer.start(runner: GatedRunner(gate: gate)) { $0.shutdownGrace = .seconds(120) }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "hold", id: "c-1"))
        _ = try await socket.receive(until: { $0.type == "assistant" })
        async let stopped: Void = server.stop()

        // Until shutdown has begun the running turn answers `busy`; from then on, `shutting_down`.
        var refusal: JSONValue?
        let deadline = ContinuousClock.now + .seconds(60)
        while refusal == nil, ContinuousClock.now < deadline {
            try await socket.send(Frame.message(session, "after", id: "c-2"))
            let answer = try await socket.receive()
            #expect(answer.type == "error" && answer.seq == nil)
            if answer.code == "shutting_down" { refusal = answer } else { try await Task.sleep(for: .milliseconds(100)) }
        }
        let refused = try #require(refusal)
        #expect(refused["error"]?.stringValue == SessionWords.shuttingDown)

        gate.open()
        let rest = try await socket.receiveTurn()
        #expect(rest.last?.status == "completed")
        #expect(try await socket.closed()?.closeCode == .goingAway)
        try await stopped
        let id = try #require(SessionID(session))
        #expect(try await server.store.userEvent(in: id, clientMessageID: "c-2") == nil)
        #expect(try await server.store.events(in: id, after: 0, through: nil, limit: nil).filter { $0.type == "user" }.count == 1)
    }
}

/// Holds a turn until the test opens it.
final class TurnGate: Sendable {
    private let isOpen = Mutex(false)

    func open() { isOpen.withLock { $0 = true } }

    /// Returns once open; throws when the task is cancelled.
    func wait() async throws {
        while !isOpen.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
    }
}

/// A runner whose turn streams one delta, then waits for its gate before answering.
struct GatedRunner: TurnRunner {
    let gate: TurnGate
    var description: String { "gated test runner" }

    func run(_ turn: TurnContext) async throws -> TurnUsage {
        let messageID = "msg-\(turn.turnID)"
        turn.emit(.assistant(AssistantEvent(content: "Looking ", streaming: true, messageID: messageID)))
        try await gate.wait()
        turn.emit(.assistant(AssistantEvent(content: "Looking done.", streaming: false, messageID: messageID)))
        return TurnUsage(promptTokens: 1, completionTokens: 1)
    }
}
