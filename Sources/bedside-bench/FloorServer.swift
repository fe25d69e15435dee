import ArgumentParser
import BedsideCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// `bedside-bench floor-server`: the benchmark's floor (BENCHMARKS.md). A minimal server built
/// directly on SwiftNIO that accepts the same `/ws?session_id=…&last_seq=…` WebSockets as
/// Bedside, makes the same two streaming model requests per turn with the same HTTP client, and
/// writes the same frames, with no persistence, no hub, no agent machine, no FHIR search and
/// no authentication or limits. The benchmark starts it as its own process, like `bedside`;
/// what Bedside spends beyond it is what Bedside itself costs. Not listed in `--help`.
struct FloorServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floor-server",
        abstract: "The benchmark's floor: a minimal server speaking Bedside's WebSocket protocol.",
        shouldDisplay: false
    )

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"
    @Option(help: "The port to listen on (0: a free one; the URL is printed at start).")
    var port = 0
    @Option(help: "The OpenAI-compatible base URL, e.g. http://127.0.0.1:9000/v1 (default: $OPENAI_BASE_URL).")
    var modelURL: String?
    @Option(help: "The model name sent in each request.")
    var model = "gpt-4o-mini"
    @Option(help: "Frames a connection may queue while its socket is not writable; one more closes it with 1013.")
    var outboxCapacity = 4096

    func run() async throws {
        guard let base = modelURL ?? ProcessInfo.processInfo.environment["OPENAI_BASE_URL"] else {
            throw ValidationError("Give the model's base URL with --model-url or OPENAI_BASE_URL.")
        }
        let hub = FloorHub(model: FloorModel(baseURL: base, name: model))
        let channel = try await FloorServer.bind(host: host, port: port, hub: hub, outboxCapacity: max(1, outboxCapacity))
        // Unbuffered, so that whoever started the server reads the line at once.
        let line = "Bedside floor is running at http://\(host):\(channel.localAddress?.port ?? port)/ (Ctrl-C to stop)\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        try await channel.closeFuture.get()
    }
}

/// The floor's listening socket and each connection's pipeline: HTTP/1.1 until the upgrade,
/// then NIO's WebSocket codec, its frame aggregator and one ``FloorConnection``.
enum FloorServer {
    static func bind(host: String, port: Int, hub: FloorHub, outboxCapacity: Int) async throws -> any Channel {
        let group = MultiThreadedEventLoopGroup.singleton
        var pingers: [ObjectIdentifier: FloorPinger] = [:]
        for loop in group.makeIterator() { pingers[ObjectIdentifier(loop)] = FloorPinger(loop: loop) }
        let loopPingers = pingers
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: 1 << 20,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(FloorTarget(head.uri) == nil ? nil : HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    guard let target = FloorTarget(head.uri), let pinger = loopPingers[ObjectIdentifier(channel.eventLoop)] else {
                        throw FloorRefusal()
                    }
                    let connection = FloorConnection(
                        loop: channel.eventLoop,
                        sessionID: target.session,
                        lastSeq: target.lastSeq,
                        hub: hub,
                        pinger: pinger,
                        outboxCapacity: outboxCapacity
                    )
                    let operations = channel.pipeline.syncOperations
                    try operations.addHandler(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 1,
                            maxAccumulatedFrameCount: 1024,
                            maxAccumulatedFrameSize: 1 << 20
                        )
                    )
                    try operations.addHandler(connection)
                }
            }
        )
        return try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 4096)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let refusal = FloorRefusalHandler()
                    let operations = channel.pipeline.syncOperations
                    try operations.configureHTTPServerPipeline(
                        withServerUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.syncOperations.removeHandler(refusal, promise: nil)
                            }
                        )
                    )
                    try operations.addHandler(refusal)
                }
            }
            .bind(host: host, port: port).get()
    }
}

/// The session and resume point of a `/ws?session_id=…[&last_seq=…]` request; nil for any other.
struct FloorTarget {
    var session: SessionID
    var lastSeq: Int64?

    init?(_ uri: String) {
        let parts = uri.split(separator: "?", maxSplits: 1)
        guard parts.first == "/ws", parts.count == 2 else { return nil }
        var session: SessionID?
        for pair in parts[1].split(separator: "&") {
            let field = pair.split(separator: "=", maxSplits: 1)
            guard field.count == 2 else { continue }
            switch field[0] {
            case "session_id": session = SessionID(field[1])
            case "last_seq":
                guard let value = Int64(field[1]), value >= 0 else { return nil }
                lastSeq = value
            default: continue
            }
        }
        guard let session else { return nil }
        self.session = session
    }
}

struct FloorRefusal: Error {}

/// Answers every request that is not an accepted upgrade with a bare 400 and hangs up, as
/// Bedside answers a refused upgrade.
final class FloorRefusalHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .end = unwrapInboundIn(data) else { return }
        let head = HTTPResponseHead(
            version: .http1_1,
            status: .badRequest,
            headers: ["Connection": "close", "Content-Length": "0"]
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
