import BedsideCore
import BedsideProtocol
import NIOCore
import NIOWebSocket

/// One WebSocket connection of the floor server: a channel handler after NIO's WebSocket codec
/// and frame aggregator. It sends the `connection` event, reads client frames (`message` starts
/// a turn, `cancel` stops it, `resume` is answered with a new `connection` event: the floor keeps
/// no history), answers pings and the close handshake, and writes its session's frames.
///
/// Writes: a frame from another thread hops to the channel's event loop; frames are written as
/// they come and flushed once per event-loop cycle. While the socket is not writable they wait
/// in a bounded queue; one more than `outboxCapacity` closes the connection with 1013, as
/// Bedside's outbox does. An idle connection holds this handler and nothing else: no task, no
/// timer (its loop's ``FloorPinger`` pings it).
///
/// Confined to its channel's event loop, apart from ``send(_:)``.
final class FloorConnection: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let loop: any EventLoop
    private let sessionID: SessionID
    private let lastSeq: Int64?
    private let hub: FloorHub
    private let pinger: FloorPinger
    private let outboxCapacity: Int
    private var session: FloorSession?
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    /// Frames waiting for the socket to become writable, oldest first.
    private var held = CircularBuffer<ByteBuffer>(initialCapacity: 0)
    /// Set when a ping went out and its pong has not come back.
    private var awaitingPong = false
    private var closing = false

    init(loop: any EventLoop, sessionID: SessionID, lastSeq: Int64?, hub: FloorHub, pinger: FloorPinger, outboxCapacity: Int) {
        self.loop = loop
        self.sessionID = sessionID
        self.lastSeq = lastSeq
        self.hub = hub
        self.pinger = pinger
        self.outboxCapacity = outboxCapacity
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // The connection event goes first: a frame another loop sends from now on is queued behind it.
        let (session, latest) = hub.attach(self, to: sessionID)
        self.session = session
        pinger.add(self)
        write(connectionEvent(resumedFrom: lastSeq, latest: latest))
    }

    func channelInactive(context: ChannelHandlerContext) {
        leave()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        leave()
    }

    private func leave() {
        guard let session else { return }
        self.session = nil
        hub.detach(self, from: session)
        pinger.remove(self)
        held.removeAll()
        context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            read(frame.unmaskedData)
        case .binary:
            sendError(.unsupportedFrame, "Binary frames are not supported: send JSON text.")
        case .ping:
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
            scheduleFlush()
        case .pong:
            awaitingPong = false
        case .connectionClose:
            // The peer's answer to our close: done. Else answer its close with its code, then hang up.
            guard !closing else { return context.close(promise: nil) }
            closing = true
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            var reply = context.channel.allocator.buffer(capacity: 2)
            reply.write(webSocketErrorCode: code)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: reply)))
                .whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    /// Reads one client message.
    private func read(_ bytes: ByteBuffer) {
        guard let session, let context else { return }
        do {
            switch try ClientFrame.decode(utf8: bytes.readableBytesView, session: sessionID) {
            case .message(let content, let clientMessageID):
                if !session.startTurn(content: content, clientMessageID: clientMessageID, loop: context.eventLoop, hub: hub) {
                    sendError(.busy, "A turn is already running in this session: wait for it to end, or send cancel.")
                }
            case .cancel:
                session.cancelTurn()
            case .resume(let after):
                write(connectionEvent(resumedFrom: after, latest: session.latestSeq))
            }
        } catch {
            sendError(error.code, error.message)
        }
    }

    private func connectionEvent(resumedFrom: Int64?, latest: Int64) -> ByteBuffer {
        let payload = EventPayload.connection(resumedFrom: resumedFrom, latestSeq: latest, serverVersion: "floor")
        return ByteBuffer(string: ServerEvent(sessionID: sessionID, seq: nil, timestamp: .now(), payload: payload).json)
    }

    /// A connection-scoped error: to this connection only, without a `seq`.
    private func sendError(_ code: ErrorCode, _ message: String) {
        let event = ServerEvent(sessionID: sessionID, seq: nil, timestamp: .now(), payload: .error(code: code, message: message))
        write(ByteBuffer(string: event.json))
    }

    /// Queues one frame of the session (shared bytes); callable from any thread.
    func send(_ frame: ByteBuffer) {
        if loop.inEventLoop {
            write(frame)
        } else {
            loop.execute { self.write(frame) }
        }
    }

    private func write(_ frame: ByteBuffer) {
        guard let context, !closing else { return }
        guard held.isEmpty, context.channel.isWritable else {
            guard held.count < outboxCapacity else { return close(code: WebSocketErrorCode(codeNumber: 1013)) }
            held.append(frame)
            return
        }
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: frame)), promise: nil)
        scheduleFlush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        while !closing, context.channel.isWritable, let frame = held.popFirst() {
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: frame)), promise: nil)
        }
        context.flush()
        context.fireChannelWritabilityChanged()
    }

    /// One flush for every frame written in this event-loop cycle.
    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    /// Pings the peer, or closes with 1001 when the previous ping went unanswered (the loop's pinger calls this).
    func ping() {
        guard let context, !closing else { return }
        if awaitingPong { return close(code: .goingAway) }
        awaitingPong = true
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
        scheduleFlush()
    }

    /// Sends a close frame with `code`, then shuts down the sending side and waits (at most
    /// 10 s) for the peer's close: hanging up at once would make the peer's next frame (its
    /// close, a pong) draw a reset, which throws away what it has not read yet, the close
    /// frame among it.
    private func close(code: WebSocketErrorCode) {
        guard let context, !closing else { return }
        closing = true
        held.removeAll()
        var data = context.channel.allocator.buffer(capacity: 2)
        data.write(webSocketErrorCode: code)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)))
            .whenComplete { _ in
                channel.close(mode: .output, promise: nil)
                channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
            }
    }
}

/// Pings every WebSocket connection of one event loop every 30 seconds, from one timer, so that
/// an idle connection needs none of its own. Confined to its loop.
final class FloorPinger: @unchecked Sendable {
    private var connections: [ObjectIdentifier: FloorConnection] = [:]

    init(loop: any EventLoop, every interval: TimeAmount = .seconds(30)) {
        loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            for connection in self.connections.values { connection.ping() }
        }
    }

    func add(_ connection: FloorConnection) {
        connections[ObjectIdentifier(connection)] = connection
    }

    func remove(_ connection: FloorConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }
}
