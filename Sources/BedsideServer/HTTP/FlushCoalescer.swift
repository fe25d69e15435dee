import NIOCore

/// Merges the flushes of one event-loop cycle into one.
///
/// A connection's writer sends each queued event as its own WebSocket frame, and each frame
/// reaches the channel as a write followed by a flush: one `writev` system call per event. This
/// handler sits next to the socket and, on a flush, asks for one flush after the writes already
/// scheduled on the event loop, so a batch of frames leaves in one system call. Frames keep their
/// order (only the flush moves), and a close first flushes what is pending, so nothing written
/// before a close is lost.
final class FlushCoalescer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    private var flushScheduled = false

    func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, context) = bound.value
            handler.flushNow(context: context)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow(context: context)
        context.close(mode: mode, promise: promise)
    }

    private func flushNow(context: ChannelHandlerContext) {
        guard flushScheduled else { return }
        flushScheduled = false
        context.flush()
    }
}
