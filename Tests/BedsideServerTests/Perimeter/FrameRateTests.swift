import BedsideCore
import Foundation
import HummingbirdWSClient
import NIOWebSocket
import Testing

/// Frame rates per connection. Before, 200 `resume` frames (12 KB) made the server send 19,000
/// frames; now a connection gets its burst, then `rate_limited` for each frame over the rate,
/// and a sustained flood is closed with 1008 like any other run of violations.
@Suite struct FrameRateTests {
    /// Everything the server sends until it closes, and its close frame.
    static func drain(_ socket: TestSocket) async throws -> ([JSONValue], WebSocketCloseFrame?) {
        var received: [JSONValue] = []
        while let text = try await socket.receiveText(timeout: .seconds(30)) {
            received.append(try JSONValue.parse(text))
        }
        return (received, try await socket.closed())
    }

    static func refusals(_ server: LiveServer, _ limit: String) async throws -> Double {
        try await ConnectionLimitTests.refusals(server, limit)
    }

    @Test func aFloodOfResumeFramesGetsAFewReplaysThenIsClosed() async throws {
        let server = try await LiveServer.start(runner: ScriptedRunner(deltas: 60))
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "a long answer"))
        let turn = try await socket.receiveTurn()
        for _ in 0..<200 { try? await socket.send(Frame.resume(session, lastSeq: 0)) }
        let (received, close) = try await Self.drain(socket)
        let replays = received.filter { $0.type == "connection" }.count
        let limited = received.filter { $0.code == "rate_limited" }
        #expect(replays >= 1 && replays <= 6, "\(replays) replays")
        #expect(received.count < 10 * turn.count, "\(received.count) frames for 200 resumes")
        #expect(limited.contains { $0["error"]?.stringValue?.hasPrefix("Too many resume requests") == true })
        #expect(limited.last?["error"]?.stringValue?.contains("closing") == true)
        #expect(close?.closeCode == .policyViolation)
        #expect(try await Self.refusals(server, "resumes_per_second") >= 10)
        try await server.stop()
    }

    @Test func aFloodOfFramesMeetsTheDefaultRate() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        for _ in 0..<200 { try? await socket.send(Frame.cancel(session)) }
        let (received, close) = try await Self.drain(socket)
        #expect(received.contains { $0["error"]?.stringValue?.hasPrefix("Too many frames: at most 20 per second") == true })
        #expect(close?.closeCode == .policyViolation)
        #expect(try await Self.refusals(server, "messages_per_second") >= 10)
        try await server.stop()
    }

    @Test func aConfiguredRateDropsTheExcessAndKeepsTheConnection() async throws {
        let server = try await LiveServer.start {
            $0.limits.maxMessagesPerSecond = 3
            $0.maxViolations = 1000
        }
        let session = newSessionID()
        let socket = try await server.open(session)
        for _ in 0..<10 { try await socket.send(Frame.cancel(session)) }
        let first = try await socket.receive()
        #expect(first.code == "rate_limited")
        #expect(first["error"]?.stringValue?.contains("--max-messages-per-second") == true)
        // After a second the bucket has refilled: a message is taken as usual.
        try await Task.sleep(for: .milliseconds(1100))
        try await socket.send(Frame.message(session, "hello"))
        let events = try await socket.receiveTurn().filter { $0.code != "rate_limited" }
        #expect(events.first?.type == "user")
        #expect(events.last?.status == "completed")
        try await socket.close()
        try await server.stop()
    }

    @Test func aNormalClientNeverMeetsTheDefaults() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        var received: [JSONValue] = []
        for index in 0..<8 {
            try await socket.send(Frame.message(session, "question \(index)"))
            received += try await socket.receiveTurn()
        }
        try await socket.send(Frame.resume(session, lastSeq: Int64(received.count - 2)))
        received += try await socket.receive(count: 3)
        try await socket.close()
        let reconnected = try await server.open(session, lastSeq: seqs(received).max())
        try await reconnected.send(Frame.message(session, "one more"))
        received += try await reconnected.receiveTurn()
        #expect(!received.contains { $0.type == "error" }, "\(received.filter { $0.type == "error" })")
        try await reconnected.close()
        #expect(try await Self.refusals(server, "messages_per_second") == 0)
        #expect(try await Self.refusals(server, "resumes_per_second") == 0)
        try await server.stop()
    }
}
