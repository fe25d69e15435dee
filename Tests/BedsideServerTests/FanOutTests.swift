import BedsideCore
import Foundation
import Testing

/// Every event reaches every connection of its session, in seq order, and no other session.
@Suite struct FanOutTests {
    @Test func fiftySessionsTimesTwentyMessagesNeverLeakAcrossSessions() async throws {
        let runner = ScriptedRunner(deltas: 5)
        // A thousand turns of one client within seconds: far more than its turns per minute.
        let server = try await LiveServer.start(runner: runner) { $0.limits.maxTurnsPerMinute = 0 }
        let sessions = (0..<50).map { newSessionID("iso\($0)") }
        let foreign = try await withThrowingTaskGroup(of: Int.self) { group in
            for session in sessions {
                group.addTask {
                    let socket = try await TestSocket.connect(server.socketURL(session))
                    var received: [JSONValue] = [try await socket.receive()]
                    for index in 0..<20 {
                        try await socket.send(Frame.message(session, "question \(index)", id: "m\(index)"))
                        received += try await socket.receiveTurn()
                    }
                    try await socket.close()
                    let history = try await server.history(session)
                    // The connection saw exactly the session's history, in order.
                    #expect(seqs(received) == seqs(history))
                    #expect(seqs(received) == Array(1...Int64(history.count)))
                    #expect(history.filter { $0.type == "turn" && $0.status == "completed" }.count == 20)
                    return received.filter { $0["session_id"]?.stringValue != session }.count
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(foreign == 0)
        #expect(runner.turnsRun.count == 1000)
        try await server.stop()
    }

    @Test func twoConnectionsOfOneSessionReceiveIdenticalSequences() async throws {
        let server = try await LiveServer.start(runner: ScriptedRunner(deltas: 20, delay: .milliseconds(1)))
        let session = newSessionID()
        let first = try await TestSocket.connect(server.socketURL(session))
        let second = try await TestSocket.connect(server.socketURL(session))
        _ = try await first.receive()
        _ = try await second.receive()
        var firstEvents: [JSONValue] = []
        var secondEvents: [JSONValue] = []
        for index in 0..<3 {
            // Messages come from either tab; both see each other's user message.
            try await (index.isMultiple(of: 2) ? first : second).send(Frame.message(session, "tab message \(index)"))
            firstEvents += try await first.receiveTurn()
            secondEvents += try await second.receiveTurn()
        }
        #expect(firstEvents == secondEvents)
        #expect(firstEvents.filter { $0.type == "user" }.count == 3)
        #expect(seqs(firstEvents) == seqs(try await server.history(session)))
        try await first.close()
        try await second.close()
        try await server.stop()
    }

    @Test func eventsCarryTheCommonFields() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await TestSocket.connect(server.socketURL(session))
        let connection = try await socket.receive()
        #expect(connection.type == "connection")
        #expect(connection.status == "connected")
        #expect(connection["resumed_from"] == .null)
        #expect(connection["latest_seq"]?.integerValue == 0)
        #expect(connection["server_version"]?.stringValue?.isEmpty == false)
        #expect(connection.seq == nil)

        try await socket.send(Frame.message(session, "  What are the active conditions?  ", id: "c-1"))
        let events = try await socket.receiveTurn()
        let user = try #require(events.first)
        #expect(user.type == "user")
        #expect(user["content"]?.stringValue == "What are the active conditions?")
        #expect(user["client_message_id"]?.stringValue == "c-1")
        let turnID = try #require(user["turn_id"]?.stringValue)
        for event in events {
            #expect(event["session_id"]?.stringValue == session)
            #expect(event["turn_id"]?.stringValue == turnID)
            let stamp = try #require(event["timestamp"]?.stringValue)
            // ISO 8601, UTC, microseconds: 2026-11-25T09:12:02.123456Z
            #expect(stamp.count == 27 && stamp.hasSuffix("Z"), "\(stamp)")
        }
        #expect(
            events.map(\.type) == [
                "user", "turn", "openai_call", "assistant", "assistant", "assistant", "tool_call", "tool_result",
                "openai_response", "assistant", "turn",
            ]
        )
        let end = try #require(events.last)
        #expect(end.status == "completed")
        #expect(end["total_tokens"]?.integerValue == 15)
        #expect((end["duration_ms"].flatMap { if case .number(let v) = $0 { v } else { $0.integerValue.map(Double.init) } } ?? -1) >= 0)
        #expect(events.first { $0.type == "tool_call" }?["arguments"]?["q"]?.stringValue == "What are the active conditions?")
        try await socket.close()
        try await server.stop()
    }
}
