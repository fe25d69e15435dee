import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore

/// The WebSocket-upgrading HTTP/1 child channel with a smaller per-connection footprint.
///
/// Every accepted socket keeps its receive buffer between reads; NIO's default sizes it at
/// 2 KiB and may pool several per read cycle. Bedside's connections mostly sit idle and their
/// clients send small frames, so each socket starts at 256 bytes (growing on demand up to 64 KiB
/// for a burst) and reads once per cycle. Measured with `bedside-bench idle` (BENCHMARKS.md).
/// A ``FlushCoalescer`` next to the socket sends the frames written in one event-loop cycle
/// with one flush (`bedside-bench chat`).
///
/// It also closes HTTP/1 connections that are too slow or idle (``HTTPTimeoutHandler``; the
/// base channel must add an ``HTTPRequestBoundaries`` to its HTTP/1 pipeline), and serves each
/// connection with its peer as ``PeerAddress/current``.
struct LeanChildChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    /// The header and idle timeouts of every HTTP/1 connection.
    let timeouts: HTTPTimeouts
    /// Called with the limit whenever a timeout closes a connection (to count it).
    var onTimeout: @Sendable (LimitName) -> Void = { _ in }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        do {
            let options = channel.syncOptions
            try options?.setOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65_536)
            )
            try options?.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
            try channel.pipeline.syncOperations.addHandler(FlushCoalescer(), position: .first)
            // After TLS (when on), before the HTTP codec that the base channel adds next.
            try channel.pipeline.syncOperations.addHandler(HTTPTimeoutHandler(timeouts: timeouts, onTimeout: onTimeout))
        } catch {
            return channel.eventLoop.makeFailedFuture(error)
        }
        return base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        let peer = value.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0)?.unmapped }
        await PeerAddress.$current.withValue(peer) {
            await base.handle(value: value, logger: logger)
        }
    }
}
