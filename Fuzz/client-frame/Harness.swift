// libFuzzer target `client-frame`: what one WebSocket text message goes through before the hub
// sees it. Compiled by scripts/fuzz.sh into the module BedsideProtocol together with
// Sources/BedsideProtocol/*.swift, so it calls the code the server runs, not a copy.
import BedsideCore
import Foundation

/// The connection's session: the committed seeds name it, so the fuzzer reaches past the check.
private let session = SessionID("fuzz-session-1")!

/// Small limits, so that short inputs reach the over-long branches too.
private let limits = ClientFrameLimits(maxContentCharacters: 48, maxClientMessageIDCharacters: 16)

/// The codes a refused frame may carry: the reader answers each as a connection-scoped error.
private let refusalCodes: Set<ErrorCode> = [.invalidJSON, .invalidMessage, .sessionMismatch]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientFrame(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    do {
        let frame = try ClientFrame.decode(utf8: bytes, session: session, limits: limits)
        switch frame {
        case .message(let content, let clientMessageID):
            // What the hub is promised: trimmed, non-empty content within the limit; an id within its limit.
            require(!content.isEmpty, "empty content accepted")
            require(content.count <= limits.maxContentCharacters, "over-long content accepted")
            require(content == content.trimmingCharacters(in: .whitespacesAndNewlines), "content not trimmed")
            if let id = clientMessageID {
                require(!id.isEmpty && id.count <= limits.maxClientMessageIDCharacters, "bad client_message_id accepted")
            }
        case .cancel:
            break
        case .resume(let lastSeq):
            require(lastSeq >= 0, "negative last_seq accepted")
        }
        // A frame that decodes must decode the same way from its text (the two entry points agree).
        if let text = String(validating: bytes, as: UTF8.self) {
            require((try? ClientFrame.decode(text, session: session, limits: limits)) == frame, "entry points disagree")
        } else {
            fatalError("invalid UTF-8 accepted")
        }
    } catch {
        require(refusalCodes.contains(error.code), "unexpected code \(error.code)")
        require(error.code.isConnectionScoped, "refusal code \(error.code) is not connection-scoped")
        require(!error.message.isEmpty, "refusal without a message")
        require(error.message.utf8.count < 400, "refusal message echoes too much input")
    }
    return 0
}
