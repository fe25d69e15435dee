import BedsideCore
import BedsideProtocol
import BedsideServer
import Foundation
import Testing

@testable import bedside

/// `--coalesce-deltas-ms` over a real socket: a fast model's deltas arrive as fewer events with
/// the same text, seqs stay contiguous, and what the client sees is what the store keeps.
@Suite struct CoalescingWireTests {
    @Test func fastDeltasArriveMergedWithTheSameTextAndStoredAsSent() async throws {
        let server = try await LiveServer.start(runner: BurstRunner()) { $0.coalesceDeltas = .milliseconds(16) }
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "burst"))
        let events = try await socket.receive(until: { $0.type == "turn" && $0.status == "completed" })
        let deltas = events.filter { $0.type == "assistant" && $0["streaming"] == .bool(true) }
        #expect(deltas.count < BurstRunner.count, "\(deltas.count) deltas for \(BurstRunner.count) sent")
        #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == BurstRunner.text)
        let sequence = seqs(events)
        #expect(sequence == Array(1...Int64(sequence.count)))
        #expect(events.last(where: { $0.type == "assistant" })?["content"]?.stringValue == BurstRunner.text)
        let history = try await server.history(session)
        #expect(history == events.filter { $0.seq != nil })
        try await server.stop()
    }

    @Test func theWindowIsReadFromTheFlagThenTheEnvironmentAndIsOffByDefault() throws {
        #expect(ServerConfiguration().coalesceDeltas == .zero)
        #expect(try Options.parse([]).resolve(environment: [:]).server.coalesceDeltas == .zero)
        #expect(try Options.parse(["--coalesce-deltas-ms", "16"]).resolve(environment: [:]).server.coalesceDeltas == .milliseconds(16))
        let both = try Options.parse(["--coalesce-deltas-ms", "8"]).resolve(environment: ["BEDSIDE_COALESCE_DELTAS_MS": "30"])
        #expect(both.server.coalesceDeltas == .milliseconds(8))
        #expect(try Options.parse([]).resolve(environment: ["BEDSIDE_COALESCE_DELTAS_MS": "30"]).server.coalesceDeltas == .milliseconds(30))
        #expect(throws: (any Error).self) { try Options.parse(["--coalesce-deltas-ms", "-1"]).resolve(environment: [:]) }
        #expect(throws: (any Error).self) { try Options.parse([]).resolve(environment: ["BEDSIDE_COALESCE_DELTAS_MS": "soon"]) }
    }
}

/// A runner that streams `count` deltas back to back, as a fast model does, then the reply.
struct BurstRunner: TurnRunner {
    static let count = 50
    static let text = (0..<count).map { "t\($0) " }.joined()
    var description: String { "burst test runner" }

    func run(_ turn: TurnContext) async throws -> TurnUsage {
        let messageID = "msg-\(turn.turnID)"
        for index in 0..<Self.count {
            turn.emit(.assistant(AssistantEvent(content: "t\(index) ", streaming: true, messageID: messageID)))
        }
        turn.emit(.assistant(AssistantEvent(content: Self.text, streaming: false, messageID: messageID)))
        return TurnUsage(promptTokens: 1, completionTokens: 1)
    }
}
