import NIOCore
import NIOWebSocket

/// Reassembles a client's WebSocket messages from their frames, within the message size limit.
///
/// The WebSocket codec (swift-nio's `WebSocketFrameDecoder`) parses frames and refuses one
/// above the transport cap by closing with 1009; this keeps only the bytes of the message being
/// assembled, and forgets a message over `maxMessageBytes` while counting its size, so that it
/// can be answered with `frame_too_large` and the connection kept. An idle connection holds no
/// buffer here.
struct MessageAssembler {
    /// A whole message, once its final frame has arrived.
    enum Message {
        /// A text message within the limit: its UTF-8 bytes, not yet validated.
        case text(ByteBuffer)
        /// A message over the limit, of `size` bytes.
        case tooLarge(size: Int)
        case binary
        /// Continuation frames with no message they continue.
        case orphan
    }

    let maxMessageBytes: Int
    private var message: ByteBuffer?
    private var isBinary = false
    private var size = 0

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    /// Takes a text, binary or continuation frame; returns the message it completes, if any.
    mutating func append(_ frame: WebSocketFrame) -> Message? {
        switch frame.opcode {
        case .text, .binary:
            isBinary = frame.opcode == .binary
            size = frame.length
            message = size <= maxMessageBytes && !isBinary ? frame.unmaskedData : nil
        case .continuation:
            size += frame.length
            if size <= maxMessageBytes, !isBinary {
                var data = frame.unmaskedData
                message?.writeBuffer(&data)
            } else {
                message = nil
            }
        default:
            return nil
        }
        guard frame.fin else { return nil }
        defer {
            message = nil
            size = 0
        }
        if size > maxMessageBytes { return .tooLarge(size: size) }
        if isBinary { return .binary }
        guard let message else { return .orphan }
        return .text(message)
    }
}
