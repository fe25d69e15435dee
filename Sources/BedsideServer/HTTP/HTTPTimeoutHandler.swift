import NIOCore
import NIOHTTPTypes

/// Closes an HTTP/1 connection that is too slow to send a request head, or idle too long
/// between requests (``HTTPTimeoutState``); a WebSocket, once upgraded, is left alone.
///
/// It sits next to the socket (after TLS, before the HTTP codec), so it sees every byte from
/// the moment the connection opens, and gets the request and response boundaries from its
/// ``HTTPRequestBoundaries`` companion, which the HTTP/1 pipeline installs after the first
/// request head when the connection is not upgraded. A connection that was upgraded never gets
/// the companion: the `101` answer ends the timing. What it deliberately does not do: answer
/// `408` (a slowloris client reads nothing; a slow one reconnects), or time a response.
final class HTTPTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private let timeouts: HTTPTimeouts
    private let onTimeout: @Sendable (LimitName) -> Void
    private var state: HTTPTimeoutState?
    private var timer: Scheduled<Void>?
    private var scheduledFor: NIODeadline?
    private var context: ChannelHandlerContext?
    /// The HTTP/1 pipeline took over (a request was served without upgrade): a `101` can no
    /// longer come.
    private var servesHTTP = false
    /// The first request's head is complete (an empty line ended it): the upgrade decision,
    /// which comes before the HTTP pipeline, is not timed.
    private var firstHeadEnded = false
    /// The last four bytes read while looking for the first head's end.
    private var lastBytes: UInt32 = 0

    init(timeouts: HTTPTimeouts, onTimeout: @escaping @Sendable (LimitName) -> Void) {
        self.timeouts = timeouts
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = NIODeadline.now()
        update { $0.bytesReceived(at: now) }
        if !firstHeadEnded, endsFirstHead(unwrapInboundIn(data)) {
            firstHeadEnded = true
            update { $0.headBytesEnded(at: now) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(data, promise: promise)
        if !servesHTTP, case .byteBuffer(let buffer) = unwrapOutboundIn(data), Self.isSwitchingProtocols(buffer) {
            // A WebSocket now: its pings watch it, and its frames need not pass through here.
            state = nil
            timer?.cancel()
            timer = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    // MARK: Events from the HTTP/1 pipeline

    func headReceived() {
        // The first head the pipeline reports is the one the bytes showed.
        let counted = firstHeadEnded && !servesHTTP
        servesHTTP = true
        update { $0.headReceived(at: .now(), counted: counted) }
    }

    func requestEnded() {
        update { $0.requestEnded(at: .now()) }
    }

    func responseEnded() {
        update { $0.responseEnded(at: .now()) }
    }

    // MARK: The timer

    private func start(_ context: ChannelHandlerContext) {
        guard state == nil else { return }
        state = HTTPTimeoutState(timeouts: timeouts, connectedAt: .now())
        reschedule(context)
    }

    private func update(_ change: (inout HTTPTimeoutState) -> Void) {
        guard var state, let context else { return }
        change(&state)
        self.state = state
        reschedule(context)
    }

    /// Keeps one timer, at the current deadline or earlier; a timer that fires early (the
    /// deadline moved later) schedules itself again.
    private func reschedule(_ context: ChannelHandlerContext) {
        guard let deadline = state?.deadline?.at else {
            timer?.cancel()
            timer = nil
            scheduledFor = nil
            return
        }
        if let scheduledFor, timer != nil, scheduledFor <= deadline { return }
        timer?.cancel()
        scheduledFor = deadline
        let loop = context.eventLoop.assumeIsolated()
        timer = loop.scheduleTask(deadline: deadline) { [weak self] in self?.fire() }
    }

    private func fire() {
        timer = nil
        scheduledFor = nil
        guard let context, let state else { return }
        if let limit = state.expired(at: .now()) {
            onTimeout(limit)
            self.state = nil
            context.close(promise: nil)
        } else {
            reschedule(context)
        }
    }

    /// Whether `buffer` holds the empty line (CR LF CR LF) that ends a request head, counting
    /// the bytes of earlier reads.
    private func endsFirstHead(_ buffer: ByteBuffer) -> Bool {
        for byte in buffer.readableBytesView {
            lastBytes = lastBytes << 8 | UInt32(byte)
            if lastBytes == 0x0D0A_0D0A { return true }
        }
        return false
    }

    /// Whether `buffer` starts a `101 Switching Protocols` answer (the encoder writes a head
    /// as one buffer).
    private static func isSwitchingProtocols(_ buffer: ByteBuffer) -> Bool {
        buffer.readableBytesView.starts(with: "HTTP/1.1 101 ".utf8)
    }
}

/// Tells the connection's ``HTTPTimeoutHandler`` where requests and responses begin and end.
/// The HTTP/1 pipeline adds one to every connection that is not upgraded, after the codec, so
/// it sees the first request too.
final class HTTPRequestBoundaries: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var timeouts: HTTPTimeoutHandler?

    func handlerAdded(context: ChannelHandlerContext) {
        timeouts = try? context.pipeline.syncOperations.handler(type: HTTPTimeoutHandler.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: timeouts?.headReceived()
        case .end: timeouts?.requestEnded()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { timeouts?.responseEnded() }
        context.write(data, promise: promise)
    }
}
