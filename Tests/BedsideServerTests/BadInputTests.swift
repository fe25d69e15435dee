import BedsideCore
import Foundation
import NIOWebSocket
import Testing

/// Every class of bad input gets its coded error on the connection that sent it, carries no
/// seq, and leaves the connection working.
@Suite struct BadInputTests {
    @Test func eachBadInputClassIsAnsweredWithItsCodeAndTheConnectionStays() async throws {
        let server = try await LiveServer.start { $0.maxViolations = 100 }
        let session = newSessionID()
        let socket = try await TestSocket.connect(server.socketURL(session))
        #expect(try await socket.receive().type == "connection")

        let longContent = String(repeating: "a", count: 32_001)
        let cases: [(String, String)] = [
            ("{not json", "invalid_json"),
            ("[1,2]", "invalid_message"),
            (#"{"session_id":"\#(session)"}"#, "invalid_message"),
            (#"{"type":"shout","session_id":"\#(session)"}"#, "invalid_message"),
            (#"{"type":42,"session_id":"\#(session)"}"#, "invalid_message"),
            (#"{"type":"message","session_id":"\#(session)"}"#, "invalid_message"),
            (#"{"type":"message","session_id":"\#(session)","content":7}"#, "invalid_message"),
            (#"{"type":"message","session_id":"\#(session)","content":"   \n "}"#, "invalid_message"),
            (#"{"type":"message","session_id":"\#(session)","content":"\#(longContent)"}"#, "invalid_message"),
            (#"{"type":"message","session_id":"\#(session)","content":"hi","client_message_id":5}"#, "invalid_message"),
            (#"{"type":"resume","session_id":"\#(session)","last_seq":"x"}"#, "invalid_message"),
            (#"{"type":"resume","session_id":"\#(session)","last_seq":-1}"#, "invalid_message"),
            (#"{"type":"cancel"}"#, "invalid_message"),
            (#"{"type":"cancel","session_id":"other-session-1"}"#, "session_mismatch"),
            (#"{"type":"message","session_id":"other-session-1","content":"hi"}"#, "session_mismatch"),
        ]
        for (frame, code) in cases {
            try await socket.send(frame)
            let error = try await socket.receive()
            #expect(error.type == "error", "\(frame.prefix(60))")
            #expect(error.code == code, "\(frame.prefix(60)) → \(error)")
            #expect(error.seq == nil)
            #expect(error["error"]?.stringValue?.isEmpty == false)
            #expect(error["session_id"]?.stringValue == session)
        }

        try await socket.sendBinary([1, 2, 3])
        #expect(try await socket.receive().code == "unsupported_frame")

        try await socket.send(String(repeating: " ", count: 70_000) + "{}")
        let tooLarge = try await socket.receive()
        #expect(tooLarge.code == "frame_too_large")

        // A too-large message split over continuation frames is refused the same way.
        try await socket.sendFragmented(String(repeating: "b", count: 100_000), parts: 4)
        #expect(try await socket.receive().code == "frame_too_large")

        // A fragmented message within the limit is reassembled and handled.
        try await socket.sendFragmented(
            #"{"type":"message","session_id":"\#(session)","content":"fragmented hello"}"#,
            parts: 3
        )
        let echo = try await socket.receive()
        #expect(echo.type == "user")
        #expect(echo["content"]?.stringValue == "fragmented hello")
        _ = try await socket.receiveTurn()

        // Nothing above became part of the session's history except the one valid message.
        let history = try await server.history(session)
        #expect(history.first?.type == "user")
        #expect(history.allSatisfy { $0.type != "error" })
        try await socket.close()
        try await server.stop()
    }

    @Test func invalidUTF8IsInvalidJSON() async throws {
        let server = try await LiveServer.start()
        let session = newSessionID()
        let socket = try await server.open(session)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: .init(bytes: [0x7B, 0xFF, 0xFE, 0x7D]))
        try await socket.sendRaw(frame)
        #expect(try await socket.receive().code == "invalid_json")
        try await socket.close()
        try await server.stop()
    }

    @Test func aClientThatKeepsSendingGarbageIsClosedWith1008() async throws {
        let server = try await LiveServer.start { $0.maxViolations = 5 }
        let session = newSessionID()
        let socket = try await server.open(session)
        for _ in 0..<20 { try? await socket.send("garbage") }
        var codes: [String] = []
        while let text = try await socket.receiveText() {
            codes.append(try JSONValue.parse(text).code ?? "")
        }
        #expect(codes.filter { $0 == "invalid_json" }.count >= 5)
        #expect(codes.last == "rate_limited")
        let close = try await socket.closed()
        #expect(close?.closeCode == .policyViolation)

        // The server is unharmed: a new connection to the same session works.
        let next = try await TestSocket.connect(server.socketURL(session))
        #expect(try await next.receive().type == "connection")
        try await next.close()
        try await server.stop()
    }

    @Test func aFrameAboveTheTransportCapIsClosedWith1009() async throws {
        let server = try await LiveServer.start { $0.maxMessageBytes = 1024 }
        let socket = try await server.open(newSessionID())
        try await socket.send(String(repeating: "z", count: (1 << 20) + 10))
        let close = try await socket.closed()
        #expect(close?.closeCode == .messageTooLarge)
        try await server.stop()
    }
}
