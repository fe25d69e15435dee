import BedsideCore
import BedsideProtocol
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One WebSocket connection of a session, as a channel handler on the connection's event loop.
///
/// It owns no task while the connection is idle: frames from the client arrive as
/// `channelRead`, the session's events arrive in the connection's ``Outbox``, whose wake-up runs
/// ``drain()`` on this event loop, and pings are a timer of the loop. A short-lived task runs
/// only while the session is loaded from the store (when the connection opens) and while stored
/// events are replayed.
///
/// Its life: *connecting* (admitted within the connection limits, its session loading), then
/// *replaying* (`connection` first, then the stored events the client missed), then *live*
/// (everything the outbox is given, each session event at most once, by `seq`), then
/// *closing* (a close frame sent, the peer's answer awaited up to the close timeout) and
/// *closed*. A `resume` frame goes back to replaying. Nothing here can crash the server: every
/// bad frame becomes a coded `error` (``WebSocketConnection+Reading.swift``), every failure a
/// close code.
final class WebSocketConnection: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    enum Phase { case connecting, replaying, live, closing, closed }

    let endpoint: WebSocketEndpoint
    let accepted: UpgradeCheck.Accepted
    let logger: Logger
    var context: ChannelHandlerContext?
    var phase = Phase.connecting
    var outbox: Outbox?
    var session: Session?
    /// The newest session event written to the client: replay and live delivery skip older ones.
    var lastSent: Int64 = 0
    var reading: ReadingState
    private var ticket: ConnectionLimiter.Ticket?
    private var watched: UInt64?
    /// The hub counts this connection: `disconnected` is owed when it ends.
    private var attached = false
    private var awaitingPong = false
    private var pinger: RepeatedTask?
    private var closeTimer: Scheduled<Void>?

    init(endpoint: WebSocketEndpoint, accepted: UpgradeCheck.Accepted, logger: Logger) {
        self.endpoint = endpoint
        self.accepted = accepted
        self.logger = logger
        self.reading = ReadingState(limits: endpoint.limits)
    }

    var metrics: BedsideMetrics { endpoint.metrics }
    var sessionID: SessionID { accepted.sessionID }

    // MARK: Opening

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let connections = endpoint.connections {
            switch connections.admit(address: accepted.address, session: sessionID) {
            case .success(let admitted):
                ticket = admitted
            case .failure(let refusal):
                refuse(refusal)
                return
            }
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let outbox = Outbox(capacity: endpoint.limits.outboxCapacity, turnExecutor: endpoint.turnExecutor(for: loop)) {
            loop.execute { bound.value.drain() }
        }
        self.outbox = outbox
        watched = endpoint.watch?.register(accepted.credential) { reason in
            outbox.requestClose(CloseRequest(code: 4401, reason: reason.rawValue, drainFirst: true))
        }
        // Frames wait in the socket until the session is attached.
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        let (hub, id) = (endpoint.hub, sessionID)
        Task {
            let result: Result<(Session, deliveredSeq: Int64, latestSeq: Int64)?, any Error>
            do {
                result = .success(try await hub?.connect(id, outbox: outbox) ?? nil)
            } catch {
                result = .failure(error)
            }
            loop.execute { bound.value.connected(result) }
        }
    }

    private func connected(_ result: Result<(Session, deliveredSeq: Int64, latestSeq: Int64)?, any Error>) {
        if case .success(let (session, _, _)?) = result {
            self.session = session
            attached = true
        }
        guard phase == .connecting, let context else {
            release()
            return
        }
        switch result {
        case .failure(let error):
            logger.error("Cannot load session", metadata: ["session.id": "\(sessionID)", "error": "\(error)"])
            let message = "The session store is unavailable: try again shortly."
            write(text: endpoint.errorText(.internal, message, session: sessionID))
            startClose(CloseRequest(code: 1011, reason: "session store unavailable", drainFirst: false))
        case .success(nil):
            startClose(CloseRequest(code: 1001, reason: "server shutting down", drainFirst: false))
        case .success(let (_, deliveredSeq, latestSeq)?):
            startPinging(context)
            try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
            replay(after: accepted.lastSeq, deliveredSeq: deliveredSeq, latestSeq: latestSeq)
            readEarlyFrames()
        }
    }

    /// Answers a connection over a connection limit: a connection-scoped `too_many_connections`
    /// naming the limit, then close code 4429. The client may retry later.
    private func refuse(_ refusal: ConnectionLimiter.Refusal) {
        metrics.limitReached(refusal.limit)
        logger.debug("Connection refused", metadata: ["session.id": "\(sessionID)", "limit": "\(refusal.limit.rawValue)"])
        write(text: endpoint.errorText(.tooManyConnections, refusal.message, session: sessionID))
        startClose(
            CloseRequest(code: Self.tooManyConnectionsCloseCode, reason: ErrorCode.tooManyConnections.rawValue, drainFirst: true)
        )
    }

    /// The close code of a connection refused by a connection limit.
    static let tooManyConnectionsCloseCode: UInt16 = 4429

    // MARK: Writing

    /// Writes what the outbox holds while the socket can take it; a socket that cannot keeps its
    /// frames in the outbox (where they count against its capacity) until it can.
    func drain() {
        guard let context, let outbox, phase != .closing, phase != .closed else { return }
        guard phase == .live, context.channel.isWritable else {
            // An overflow or another aborting close need not wait for the socket or a replay.
            if let abort = outbox.abortingClose {
                _ = outbox.take()
                startClose(abort)
            }
            return
        }
        while context.channel.isWritable {
            let batch = outbox.take()
            for frame in batch.frames {
                switch frame {
                case .event(let seq?, let text):
                    guard seq > lastSent else { continue }
                    write(text: text)
                    lastSent = seq
                case .live(let seq, let bytes, let emittedAt):
                    guard seq > lastSent else { continue }
                    context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: bytes)), promise: nil)
                    lastSent = seq
                    metrics.eventDelivered(after: .now - emittedAt)
                case .event(nil, let text):
                    write(text: text)
                case .replay(let after):
                    context.flush()
                    let (delivered, latest) = session?.sequence ?? (lastSent, lastSent)
                    replay(after: after, deliveredSeq: delivered, latestSeq: latest)
                    return
                }
            }
            if let close = batch.close {
                startClose(close)
                return
            }
            if batch.frames.isEmpty { break }
        }
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    /// Writes one text frame (not flushed); its future completes once the socket took it.
    @discardableResult
    func write(text: String) -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        let promise = context.eventLoop.makePromise(of: Void.self)
        let data = context.channel.allocator.buffer(string: text)
        context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: data)), promise: promise)
        return promise.futureResult
    }

    // MARK: Closing

    /// Sends a close frame with the request's code, then waits for the peer's close up to the
    /// close timeout before dropping the socket.
    func startClose(_ request: CloseRequest) {
        guard let context, phase != .closing, phase != .closed else { return }
        phase = .closing
        pinger?.cancel()
        pinger = nil
        logger.debug("Closing connection", metadata: ["session.id": "\(sessionID)", "close.code": "\(request.code)"])
        var data = context.channel.allocator.buffer(capacity: 2 + min(request.reason.utf8.count, 123))
        data.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: Int(request.code)))
        data.writeString(String(decoding: request.reason.utf8.prefix(123), as: UTF8.self))
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        closeTimer = context.eventLoop.scheduleTask(in: TimeAmount(endpoint.limits.closeTimeout)) {
            bound.value.context?.close(promise: nil)
        }
    }

    /// The peer's close frame: the answer to ours, or its own close, which is echoed.
    func peerClosed(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        if phase != .closing {
            phase = .closing
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            var echo = context.channel.allocator.buffer(capacity: 2)
            echo.write(webSocketErrorCode: code)
            context.write(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: echo)), promise: nil)
        }
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            if let outbox {
                outbox.requestClose(CloseRequest(code: 1001, reason: "server shutting down", drainFirst: true))
            } else {
                startClose(CloseRequest(code: 1001, reason: "server shutting down", drainFirst: false))
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The codec's protocol errors are answered (1002, 1009) and closed by its error handler.
        if !(error is NIOWebSocketError) { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
        self.context = nil
    }

    /// Gives back everything the connection holds; idempotent.
    private func release() {
        phase = .closed
        pinger?.cancel()
        pinger = nil
        closeTimer?.cancel()
        closeTimer = nil
        if let ticket {
            endpoint.connections?.release(ticket)
            self.ticket = nil
        }
        if let watched {
            endpoint.watch?.unregister(watched)
            self.watched = nil
        }
        if attached {
            attached = false
            endpoint.hub?.disconnected(from: session, outbox: outbox)
        }
        outbox?.finish()
        // The session's last reference may be this one, and what it holds (the turn runner,
        // the model's HTTP client, a span exporter) must not be released on an event loop.
        if let session {
            let parcel = LastReference(session)
            self.session = nil
            Task { parcel.drop() }
        }
    }

    // MARK: Pings

    /// Pings every ping interval; a peer that has not answered the previous ping is closed
    /// with 1001.
    private func startPinging(_ context: ChannelHandlerContext) {
        let interval = endpoint.pingInterval
        guard interval > .zero else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        pinger = context.eventLoop.scheduleRepeatedTask(initialDelay: TimeAmount(interval), delay: TimeAmount(interval)) { _ in
            bound.value.ping()
        }
    }

    private func ping() {
        guard let context, phase == .live || phase == .replaying else { return }
        if awaitingPong {
            startClose(CloseRequest(code: 1001, reason: "ping timeout", drainFirst: false))
            return
        }
        awaitingPong = true
        let data = context.channel.allocator.buffer(string: "bedside")
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: data)), promise: nil)
    }

    func pongReceived() { awaitingPong = false }
}

/// Carries an object's last reference off an event loop: ``drop()`` releases it where it runs.
private final class LastReference<Value: Sendable>: Sendable {
    private let value: Mutex<Value?>

    init(_ value: Value) { self.value = Mutex(value) }

    func drop() { value.withLock { $0 = nil } }
}
