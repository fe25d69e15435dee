import NIOCore
import NIOPosix

/// What a benchmark connection tells its owner. Every call arrives on the connection's event
/// loop, one at a time.
protocol BenchSocketDelegate: AnyObject {
    /// The upgrade succeeded.
    func opened(_ socket: BenchSocket)
    /// One text message, its payload bytes valid only during the call.
    func received(_ socket: BenchSocket, text: UnsafeRawBufferPointer)
    /// The connection ended: the close code the server sent, or nil when it sent none.
    func closed(_ socket: BenchSocket, code: UInt16?, upgraded: Bool)
}

/// A minimal WebSocket client (RFC 6455) on one NIO channel, cheap enough to run thousands of
/// next to the server on the same cores: one handler, no per-message allocation beyond the
/// receive buffer, messages handed over as raw bytes. It answers pings, and reassembles
/// fragmented messages; it offers no extensions.
///
/// Confined to its channel's event loop, like its delegate.
final class BenchSocket: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let path: String
    private let host: String
    private var delegate: (any BenchSocketDelegate)?
    private var context: ChannelHandlerContext?
    private var pending: ByteBuffer?
    private var fragments: ByteBuffer?
    private var upgraded = false
    private var closeCode: UInt16?
    private var ended = false
    /// Messages received so far.
    private(set) var messages = 0
    var isOpen: Bool { upgraded && !ended }

    init(host: String, path: String, delegate: any BenchSocketDelegate) {
        self.host = host
        self.path = path
        self.delegate = delegate
    }

    /// Opens a connection to `ws://host:port/path`; the delegate hears the rest.
    static func connect(
        on loop: any EventLoop,
        host: String,
        port: Int,
        path: String,
        receiveBuffer: Int? = nil,
        delegate: any BenchSocketDelegate
    ) -> EventLoopFuture<BenchSocket> {
        let socket = BenchSocket(host: "\(host):\(port)", path: path, delegate: delegate)
        var bootstrap = ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(socket) }
            }
        if let receiveBuffer {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBuffer))
        }
        return bootstrap.connect(host: host, port: port).map { _ in socket }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendUpgrade(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        sendUpgrade(context)
        context.fireChannelActive()
    }

    private var upgradeSent = false

    private func sendUpgrade(_ context: ChannelHandlerContext) {
        guard !upgradeSent else { return }
        upgradeSent = true
        let request =
            "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    /// Sends a text message (masked, as a client must).
    func send(_ text: String) {
        guard let context, isOpen else { return }
        var payload = Array(text.utf8)
        var frame = context.channel.allocator.buffer(capacity: payload.count + 14)
        frame.writeInteger(UInt8(0x81))
        if payload.count < 126 {
            frame.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(payload.count))
        } else {
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(payload.count))
        }
        let mask = (UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255), UInt8.random(in: 0...255))
        let key = [mask.0, mask.1, mask.2, mask.3]
        frame.writeBytes(key)
        for index in payload.indices { payload[index] ^= key[index & 3] }
        frame.writeBytes(payload)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    /// Stops or resumes reading from the socket (a slow consumer stops).
    func setReading(_ reading: Bool) {
        guard let context else { return }
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: reading)
        if reading { context.read() }
    }

    /// Closes the TCP connection without a close handshake.
    func abort() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if pending == nil || pending!.readableBytes == 0 {
            pending = incoming
        } else {
            pending!.writeBuffer(&incoming)
        }
        if !upgraded {
            guard let head = pending!.readableBytesView.firstRange(of: [13, 10, 13, 10]) else {
                if pending!.readableBytes > 16_384 { fail(context) }
                return
            }
            let status = pending!.readableBytesView.prefix(12)
            guard status.elementsEqual("HTTP/1.1 101".utf8) else { return fail(context) }
            pending!.moveReaderIndex(forwardBy: head.upperBound - pending!.readableBytesView.startIndex)
            upgraded = true
            delegate?.opened(self)
        }
        parseFrames(context)
    }

    private func parseFrames(_ context: ChannelHandlerContext) {
        guard var buffer = pending else { return }
        pending = nil  // keep the buffer uniquely referenced while it is read
        defer { if !ended { pending = buffer } }
        while buffer.readableBytes >= 2, !ended {
            let start = buffer.readerIndex
            let first: UInt8 = buffer.getInteger(at: start)!
            let second: UInt8 = buffer.getInteger(at: start + 1)!
            var header = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard let value = buffer.getInteger(at: start + 2, as: UInt16.self) else { return }
                length = Int(value)
                header += 2
            } else if length == 127 {
                guard let value = buffer.getInteger(at: start + 2, as: UInt64.self) else { return }
                length = Int(value)
                header += 8
            }
            let masked = second & 0x80 != 0
            if masked { header += 4 }
            guard buffer.readableBytes >= header + length else { return }  // wait for the rest
            let payloadStart = start + header
            if masked {
                let key = buffer.getBytes(at: payloadStart - 4, length: 4)!
                for offset in 0..<length {
                    let byte: UInt8 = buffer.getInteger(at: payloadStart + offset)!
                    buffer.setInteger(byte ^ key[offset & 3], at: payloadStart + offset)
                }
            }
            buffer.moveReaderIndex(forwardBy: header)
            handleFrame(context, fin: first & 0x80 != 0, opcode: first & 0x0F, buffer: buffer, length: length)
            buffer.moveReaderIndex(forwardBy: length)
        }
        if buffer.readableBytes == 0 { buffer.clear() }
    }

    /// Handles one frame whose payload is the first `length` readable bytes of `buffer`.
    private func handleFrame(_ context: ChannelHandlerContext, fin: Bool, opcode: UInt8, buffer: ByteBuffer, length: Int) {
        switch opcode {
        case 0x1, 0x2, 0x0:
            if !fin || fragments != nil {
                var slice = buffer.getSlice(at: buffer.readerIndex, length: length)!
                if fragments == nil { fragments = context.channel.allocator.buffer(capacity: length * 2) }
                fragments!.writeBuffer(&slice)
                guard fin else { return }
                let whole = fragments!
                fragments = nil
                messages += 1
                whole.withUnsafeReadableBytes { delegate?.received(self, text: $0) }
            } else {
                messages += 1
                buffer.withUnsafeReadableBytes { delegate?.received(self, text: UnsafeRawBufferPointer(rebasing: $0.prefix(length))) }
            }
        case 0x8:
            if length >= 2 { closeCode = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) }
            // Answer the close, then hang up.
            var reply = context.channel.allocator.buffer(capacity: 8)
            reply.writeBytes([0x88, 0x82, 0, 0, 0, 0])
            reply.writeInteger(closeCode ?? 1000)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
        case 0x9:
            var pong = context.channel.allocator.buffer(capacity: length + 6)
            pong.writeInteger(UInt8(0x8A))
            pong.writeInteger(UInt8(0x80 | min(length, 125)))
            pong.writeBytes([0, 0, 0, 0])
            var body = buffer.getSlice(at: buffer.readerIndex, length: min(length, 125))!
            pong.writeBuffer(&body)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        default:
            break
        }
    }

    private func fail(_ context: ChannelHandlerContext) {
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishOnce()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func finishOnce() {
        guard !ended else { return }
        ended = true
        let delegate = self.delegate
        self.delegate = nil
        pending = nil
        delegate?.closed(self, code: closeCode, upgraded: upgraded)
        context = nil
    }
}
