import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket
import Synchronization

/// Every accepted socket: HTTP/1 with a WebSocket upgrade at `/ws`, one implementation for every
/// route (behind TLS when it is on, under the same Host check and HTTP timeouts).
///
/// HTTP requests are served by Hummingbird's responder, one task per connection while it
/// serves. An upgraded WebSocket is handed to a ``WebSocketConnection`` channel handler, and
/// this child channel's task then ends: an idle WebSocket holds no task, only its socket, the
/// swift-nio WebSocket codec and its handler.
///
/// Each socket starts with a 256-byte receive buffer (growing on demand up to 64 KiB for a
/// burst) and reads once per cycle: Bedside's clients send small frames and mostly sit idle. A
/// ``FlushCoalescer`` next to the socket sends what one event-loop cycle of an HTTP response
/// wrote with one flush (a WebSocket connection flushes once per batch itself).
/// ``HTTPTimeoutHandler`` closes HTTP/1 connections that are too slow or idle (the HTTP/1
/// pipeline gets its ``HTTPRequestBoundaries``), and each HTTP connection is served with its
/// peer as ``PeerAddress/current``.
struct BedsideChildChannel: ServerChildChannel, HTTPChannelHandler {
    enum Upgrade: Sendable {
        /// A WebSocket, served by its channel handler.
        case webSocket
        case http(UnservedHTTP)
        /// An upgrade that was refused: answered with a bare 400.
        case refused(UnservedHTTP)
    }

    /// An HTTP connection's async channel, made on the event loop when the upgrade handler
    /// decides not to upgrade (its handlers must be in the pipeline before the buffered request
    /// is passed on). swift-nio may drop that decision unread (the socket closed while an
    /// upgrade was being decided), and an async channel dropped unfinished traps the process:
    /// one that was never served is finished and closed here instead.
    final class UnservedHTTP: Sendable {
        private let channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>
        private let served = Atomic(false)

        init(_ channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) {
            self.channel = channel
        }

        /// The channel, for the one caller that serves it.
        func serve() -> NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart> {
            served.store(true, ordering: .relaxed)
            return channel
        }

        deinit {
            guard !served.load(ordering: .relaxed) else { return }
            let channel = self.channel
            Task { try? await channel.executeThenClose { _, _ in } }
        }
    }

    struct Value: ServerChildChannelValue {
        let upgrade: EventLoopFuture<Upgrade>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let webSocket: WebSocketEndpoint
    /// The largest single WebSocket frame the codec reads (the transport cap).
    let maxFrameSize: Int
    /// The header and idle timeouts of every HTTP/1 connection.
    let timeouts: HTTPTimeouts
    /// Called with the limit whenever a timeout closes a connection (to count it).
    var onTimeout: @Sendable (LimitName) -> Void = { _ in }
    var decoder = HTTP1Channel.Configuration.DecoderConfiguration()

    init(
        responder: @escaping HTTPChannelHandler.Responder,
        webSocket: WebSocketEndpoint,
        maxFrameSize: Int,
        timeouts: HTTPTimeouts,
        onTimeout: @escaping @Sendable (LimitName) -> Void
    ) {
        self.responder = Self.refusingLateUpgrades(responder)
        self.webSocket = webSocket
        self.maxFrameSize = maxFrameSize
        self.timeouts = timeouts
        self.onTimeout = onTimeout
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            if let options = channel.syncOptions {
                try options.setOption(
                    ChannelOptions.recvAllocator,
                    value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 256, maximum: 65_536)
                )
                try options.setOption(ChannelOptions.maxMessagesPerRead, value: 1)
            }
            let coalescer = FlushCoalescer()
            try sync.addHandler(coalescer, position: .first)
            let flushes = NIOLoopBound(coalescer, eventLoop: channel.eventLoop)
            // After TLS (when on), before the HTTP codec.
            try sync.addHandler(HTTPTimeoutHandler(timeouts: timeouts, onTimeout: onTimeout))
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let accepted = NIOLoopBoundBox<UpgradeCheck.Accepted?>(nil, eventLoop: channel.eventLoop)
            let (endpoint, decoder) = (webSocket, decoder)
            let upgrader = NIOTypedWebSocketServerUpgrader<Upgrade>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { channel, head in
                    upgradeAttempted.value = true
                    let peer = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0)?.unmapped }
                    guard let request = try? HTTPRequest(head, secure: false, splitCookie: false) else {
                        return channel.eventLoop.makeSucceededFuture(nil)
                    }
                    let decision = channel.eventLoop.makePromise(of: UpgradeCheck.Accepted?.self)
                    decision.completeWithTask { await endpoint.accept(request, peer: peer) }
                    return decision.futureResult.map { value in
                        accepted.value = value
                        return value == nil ? nil : HTTPHeaders()
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard let decision = accepted.value else { throw ChannelError.inappropriateOperationForState }
                        // A connection writes a batch and flushes once itself.
                        channel.pipeline.syncOperations.removeHandler(flushes.value, promise: nil)
                        try channel.pipeline.syncOperations.addHandler(endpoint.connection(decision, logger: logger))
                        return .webSocket
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Upgrade>(
                upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let sync = channel.pipeline.syncOperations
                            try sync.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                            try sync.addHandler(HTTPRequestBoundaries())
                            try sync.addHandler(HTTPConnectionStateHandler(logger: logger))
                            let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                                wrappingChannelSynchronously: channel,
                                configuration: .init(isOutboundHalfClosureEnabled: true)
                            )
                            let unserved = UnservedHTTP(http)
                            return upgradeAttempted.value ? .refused(unserved) : .http(unserved)
                        }
                    }
                )
            )
            configuration.enablePipelining = false  // the NIOAsyncChannel serves requests in order
            configuration.enableErrorHandling = false  // Hummingbird answers malformed requests
            configuration.enableResponseHeaderValidation = false  // HTTPTypes has validated them
            configuration.decoderConfiguration.maxHeaderFieldSize = decoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = decoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = decoder.maxHeaderFieldCount
            let upgrade = try sync.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(upgrade: upgrade, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgrade.get() {
            case .webSocket:
                // The connection's handler serves it from here; this task ends.
                return
            case .http(let unserved):
                let http = unserved.serve()
                let peer = value.channel.remoteAddress?.ipAddress.flatMap { IPAddress($0)?.unmapped }
                await PeerAddress.$current.withValue(peer) {
                    await handleHTTP(asyncChannel: http, logger: logger)
                }
            case .refused(let unserved):
                try await unserved.serve().executeThenClose { _, outbound in
                    let refusal = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                    try await outbound.write(contentsOf: [.head(refusal), .end(nil)])
                }
            }
        } catch {
            logger.debug("Connection ended before it was served", metadata: ["error": "\(error)"])
        }
    }

    /// A WebSocket upgrade can only be the first request of a connection: a later one is sent
    /// to a new connection (307 to the same URL, then close), where the upgrade path runs.
    private static func refusingLateUpgrades(_ responder: @escaping Responder) -> Responder {
        { (request: Request, writer: consuming ResponseWriter, channel: any Channel) in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            var location = request.uri.path
            if let query = request.uri.query { location += "?\(query)" }
            try await writer.writeResponse(
                HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location])
            )
            throw LateUpgrade()
        }
    }

    private struct LateUpgrade: Error {}
}
