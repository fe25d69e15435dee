import BedsideCore
import BedsideProtocol
import Foundation
import Testing

/// The attacker's inputs of the `client-frame` fuzz target's seed corpus (Fuzz/corpus/client-frame),
/// fed as raw bytes through ``ClientFrame/decode(utf8:session:limits:)``, the path every text
/// message of a connection takes. The fuzzer has found no crash here; these pin each refusal's code.
@Suite struct ClientFrameFuzzRegressionTests {
    let session = SessionID("fuzz-session-1")!

    func decode(_ bytes: [UInt8]) throws(ProtocolViolation) -> ClientFrame {
        try ClientFrame.decode(utf8: bytes, session: session)
    }

    func code(_ bytes: [UInt8]) -> ErrorCode? {
        do {
            _ = try decode(bytes)
            return nil
        } catch {
            return error.code
        }
    }

    func frame(_ prefix: String, _ middle: [UInt8], _ suffix: String) -> [UInt8] {
        Array(prefix.utf8) + middle + Array(suffix.utf8)
    }

    @Test func invalidUTF8IsInvalidJSONWhereverItIs() {
        let open = #"{"type":"message","session_id":"fuzz-session-1","content":""#
        #expect(code(frame(open, [0xFF, 0xFE, 0xC3], #""}"#)) == .invalidJSON)
        #expect(code(frame(open, [0xC3], #""}"#)) == .invalidJSON)  // a truncated two-byte sequence
        #expect(code(frame(open, [0xED, 0xA0, 0x80], #""}"#)) == .invalidJSON)  // an encoded surrogate
        #expect(code(frame(open, [0xC0, 0xAF], #""}"#)) == .invalidJSON)  // an overlong '/'
        #expect(code([]) == .invalidJSON)
    }

    @Test func bytesAndTextDecodeAlike() throws {
        let text = #"{"type":"message","session_id":"fuzz-session-1","content":" Liam Núñez \n","client_message_id":"c-1"}"#
        #expect(try decode(Array(text.utf8)) == .message(content: "Liam Núñez", clientMessageID: "c-1"))
        #expect(try decode(Array(text.utf8)) == ClientFrame.decode(text, session: session))
    }

    @Test func loneSurrogateEscapeIsRefused() {
        let text = #"{"type":"message","session_id":"fuzz-session-1","content":"\udc00"}"#
        #expect(code(Array(text.utf8)) == .invalidJSON)
    }

    @Test func numbersBeyondInt64AreNoLastSeq() throws {
        for number in ["9223372036854775808", "1e308", "-1", "1e999", "41.5", "-9223372036854775809"] {
            let text = #"{"type":"resume","session_id":"fuzz-session-1","last_seq":\#(number)}"#
            let refusal = code(Array(text.utf8))
            #expect(refusal == .invalidMessage || refusal == .invalidJSON, "last_seq \(number)")
        }
        let largest = #"{"type":"resume","session_id":"fuzz-session-1","last_seq":9223372036854775807}"#
        #expect(try decode(Array(largest.utf8)) == .resume(lastSeq: .max))
    }

    @Test func deepNestingIsRefusedNotRecursedInto() {
        for depth in [600, 100_000] {
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            let text = #"{"type":"cancel","session_id":"fuzz-session-1","x":\#(nested)}"#
            #expect(code(Array(text.utf8)) == .invalidJSON, "depth \(depth)")
        }
    }

    /// A repeated member keeps its first value (Foundation's JSONDecoder), where JavaScript's
    /// `JSON.parse` keeps the last: pinned so that a change of reading cannot pass unnoticed.
    @Test func duplicateKeysKeepTheFirstValue() throws {
        let text = #"{"type":"cancel","type":"message","session_id":"fuzz-session-1","content":"x"}"#
        #expect(try decode(Array(text.utf8)) == .cancel)
    }
}
