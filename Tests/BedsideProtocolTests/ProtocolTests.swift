import BedsideCore
import BedsideProtocol
import Foundation
import Testing

@Suite struct ClientFrameTests {
    let session = SessionID("session-1234")!

    @Test func decodesEachFrameType() throws {
        #expect(
            try ClientFrame.decode(
                #"{"type":"message","session_id":"session-1234","content":" hi \n","client_message_id":"c1"}"#,
                session: session
            )
                == .message(content: "hi", clientMessageID: "c1")
        )
        #expect(
            try ClientFrame.decode(
                #"{"type":"message","session_id":"session-1234","content":"hi","client_message_id":null}"#,
                session: session
            )
                == .message(content: "hi", clientMessageID: nil)
        )
        #expect(try ClientFrame.decode(#"{"type":"cancel","session_id":"session-1234","extra":1}"#, session: session) == .cancel)
        #expect(
            try ClientFrame.decode(#"{"type":"resume","session_id":"session-1234","last_seq":41}"#, session: session)
                == .resume(lastSeq: 41)
        )
        #expect(
            try ClientFrame.decode(#"{"type":"resume","session_id":"session-1234","last_seq":41.0}"#, session: session)
                == .resume(lastSeq: 41)
        )
    }

    @Test(arguments: [
        ("", ErrorCode.invalidJSON),
        ("{\"type\":", .invalidJSON),
        ("\"text\"", .invalidMessage),
        (#"{"type":null,"session_id":"session-1234"}"#, .invalidMessage),
        (#"{"type":"message","session_id":7}"#, .invalidMessage),
        (#"{"type":"message","session_id":"session-1234","content":"x","client_message_id":""}"#, .invalidMessage),
        (#"{"type":"resume","session_id":"session-1234","last_seq":1.5}"#, .invalidMessage),
        (#"{"type":"resume","session_id":"session-1234"}"#, .invalidMessage),
        (#"{"type":"cancel","session_id":"session-9999"}"#, .sessionMismatch),
    ])
    func refusesBadFramesWithTheirCode(_ text: String, _ code: ErrorCode) {
        #expect {
            _ = try ClientFrame.decode(text, session: session)
        } throws: { error in
            (error as? ProtocolViolation)?.code == code && !((error as? ProtocolViolation)?.message.isEmpty ?? true)
        }
    }

    @Test func contentLimitCountsCharactersAfterTrimming() throws {
        let limits = ClientFrameLimits(maxContentCharacters: 5)
        #expect(
            try ClientFrame.decode(
                #"{"type":"message","session_id":"session-1234","content":"  héllo  "}"#,
                session: session,
                limits: limits
            )
                == .message(content: "héllo", clientMessageID: nil)
        )
        #expect(throws: ProtocolViolation.self) {
            try ClientFrame.decode(#"{"type":"message","session_id":"session-1234","content":"hello!"}"#, session: session, limits: limits)
        }
    }

    @Test func connectionScopedCodes() {
        #expect(ErrorCode.busy.isConnectionScoped)
        #expect(ErrorCode.resumeGap.isConnectionScoped)
        #expect(!ErrorCode.llmUnavailable.isConnectionScoped)
        #expect(!ErrorCode.turnFailed.isConnectionScoped)
    }
}

@Suite struct ServerEventTests {
    let session = SessionID("session-1234")!

    @Test func encodesEveryPayloadAsValidJSONWithTheCommonFields() throws {
        let payloads: [EventPayload] = [
            .connection(resumedFrom: nil, latestSeq: 0, serverVersion: "1"),
            .user(content: "line\n\"quote\" \\ tab\t ctrl\u{01} é 😀", clientMessageID: nil),
            .turn(
                TurnEvent(
                    status: .completed,
                    durationMilliseconds: 12.3456,
                    reason: nil,
                    promptTokens: 1,
                    completionTokens: 2,
                    totalTokens: 3
                )
            ),
            .assistant(AssistantEvent(content: "hi", streaming: false, messageID: "m", cancelled: true)),
            .openaiCall(model: "gpt", provider: "openai"),
            .openaiResponse(
                ModelResponseEvent(
                    model: "gpt",
                    promptTokens: 1,
                    completionTokens: 2,
                    totalTokens: 3,
                    durationMilliseconds: 4,
                    finishReason: nil
                )
            ),
            .toolCall(toolCallID: "c", toolName: "t", arguments: .object(["a": .array([.integer(1), .number(2.5), .bool(true), .null])])),
            .toolResult(ToolResultEvent(toolCallID: "c", toolName: "t", result: "{}", durationMilliseconds: 1, isError: true)),
            .error(code: .llmError, message: "bad"),
        ]
        for payload in payloads {
            let event = ServerEvent(
                sessionID: session,
                seq: 7,
                timestamp: Timestamp(microseconds: 1_764_000_000_123_456),
                turnID: "t",
                traceID: "0af7651916cd43dd8448eb211c80319c",
                spanID: "b7ad6b7169203331",
                payload: payload
            )
            let text = event.json
            #expect(text.hasPrefix(#"{"type":"\#(payload.type)","session_id":"session-1234","seq":7,"#))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(object["timestamp"] as? String == "2025-11-24T16:00:00.123456Z")
            #expect(object["turn_id"] as? String == "t")
            #expect(object["trace_id"] as? String == "0af7651916cd43dd8448eb211c80319c")
            #expect(object["span_id"] as? String == "b7ad6b7169203331")
            let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            if case .user(let content, _) = payload { #expect(decoded["content"]?.stringValue == content) }
            if case .turn = payload { #expect(decoded["duration_ms"] == .number(12.346)) }
        }
        let stored = ServerEvent(
            sessionID: session,
            seq: 3,
            timestamp: .now(),
            turnID: "t",
            payload: .turn(TurnEvent(status: .started))
        ).stored(json: "{}")
        #expect(stored.turnStatus == "started" && stored.seq == 3 && stored.type == "turn")
    }

    @Test func connectionEventHasNoSeq() throws {
        let text = ServerEvent(
            sessionID: session,
            seq: nil,
            timestamp: .now(),
            payload: .connection(resumedFrom: 4, latestSeq: 9, serverVersion: "1")
        ).json
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(value["seq"] == nil)
        #expect(value["resumed_from"] == .integer(4))
        #expect(value["status"] == .string("connected"))
    }
}

@Suite struct ValueTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (4_102_444_799_999_999, "2099-12-31T23:59:59.999999Z"),
    ])
    func timestampsFormatAndParse(_ micros: Int64, _ text: String) {
        #expect(Timestamp(microseconds: micros).iso8601 == text)
        #expect(Timestamp(iso8601: text)?.microseconds == micros)
    }

    @Test func timestampParsingRejectsGarbageAndAcceptsShortFractions() {
        #expect(Timestamp(iso8601: "2026-11-25T09:12:02.5Z")?.iso8601 == "2026-11-25T09:12:02.500000Z")
        #expect(Timestamp(iso8601: "2026-11-25T09:12:02Z")?.iso8601 == "2026-11-25T09:12:02.000000Z")
        #expect(Timestamp(iso8601: "yesterday") == nil)
        #expect(Timestamp(iso8601: "2026-11-25T09:12:02.1234567Z") == nil)
        #expect(Timestamp.now() > Timestamp(microseconds: 1_700_000_000_000_000))
    }

    @Test func sessionIDs() {
        #expect(SessionID("abcdefgh")?.rawValue == "abcdefgh")
        #expect(SessionID("A-b_9" + String(repeating: "x", count: 123)) != nil)
        #expect(SessionID("short") == nil)
        #expect(SessionID(String(repeating: "x", count: 129)) == nil)
        #expect(SessionID("has space1") == nil)
        #expect(SessionID("ünïcödé12") == nil)
        #expect(SessionID("abcdefgh")?.description == "abcdefgh")
    }

    /// Strings with nothing to escape are appended whole; the others are escaped from the first
    /// byte that needs it. Either way the text decodes back to the same string.
    @Test(arguments: [
        "", "a", "plain words", String(repeating: "long ", count: 100), "é", "日本語のテキスト",
        "\"", "\\", "\n", "starts\"", "\"ends", "mid\\dle and \u{1}", String(repeating: "x", count: 40) + "\t",
        "emoji 🩺 with \"quotes\"", "\u{7F}\u{80}", "tab\tand\rreturn",
    ])
    func jsonWriterQuotesEveryString(_ text: String) throws {
        var writer = JSONWriter()
        writer.beginObject()
        writer.member("k", text)
        writer.endObject()
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(writer.text.utf8))
        #expect(decoded["k"] == text)
        #expect(!writer.text.unicodeScalars.contains { $0.value < 0x20 })
    }

    @Test func jsonWriterEscapesAndRoundTrips() throws {
        let value: JSONValue = .object([
            "s": .string("\u{0}\u{1F}\"\\/\r\n\t é"), "i": .integer(-42), "d": .number(0.1), "big": .number(1e300),
            "nan": .number(.nan), "whole": .number(3), "a": .array([]), "o": .object([:]), "n": .null, "b": .bool(false),
        ])
        var writer = JSONWriter()
        writer.value(value)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(writer.text.utf8))
        #expect(decoded["s"] == value["s"])
        #expect(decoded["i"] == .integer(-42))
        #expect(decoded["d"] == .number(0.1))
        #expect(decoded["nan"] == .null)
        #expect(decoded["whole"] == .integer(3))
        #expect(decoded["o"] == .object([:]))
        #expect(writer.text.hasPrefix(#"{"a":[],"b":false,"big":1e+300"#))
        var encoded = try JSONEncoder().encode(value["s"]!)
        #expect(try JSONDecoder().decode(JSONValue.self, from: encoded) == value["s"])
        encoded = try JSONEncoder().encode(JSONValue.array([.bool(true), .integer(1), .null]))
        #expect(String(decoding: encoded, as: UTF8.self) == "[true,1,null]")
        #expect(JSONValue.string("x").typeName == "string" && JSONValue.null.typeName == "null")
        #expect(JSONValue.array([]).typeName == "array" && JSONValue.object([:]).typeName == "object")
        #expect(JSONValue.bool(true).typeName == "boolean" && JSONValue.number(1).typeName == "number")
        #expect(JSONValue.number(2.0).integerValue == 2 && JSONValue.number(2.5).integerValue == nil)
    }
}
