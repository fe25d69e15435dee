import BedsideCore
import BedsideMCP
import BedsideTestSupport
import Foundation
import Hummingbird
import Logging
import MCP
import Synchronization
import Testing

/// A legacy HTTP+SSE MCP server (protocol 2024-11-05, as Aidbox serves it) written for the
/// test: `GET /sse` announces `/messages?sessionId=…` in an `endpoint` event, POSTs there are
/// answered 202, and the answers arrive on the event stream. Behind it an in-process MCP
/// server does the work.
final class LegacySSEServer: Sendable {
    let port: Int
    let posts: Counter
    private let server: LoopbackServer

    final class Counter: Sendable {
        private let value = Mutex(0)
        func add() { value.withLock { $0 += 1 } }
        var count: Int { value.withLock { $0 } }
    }

    private init(port: Int, posts: Counter, server: LoopbackServer) {
        self.port = port
        self.posts = posts
        self.server = server
    }

    static func start() async throws -> LegacySSEServer {
        let (clientSide, serverSide) = await InMemoryTransport.createConnectedPair()
        let mcp = await InMemoryClientTests.makeServer()
        try await mcp.start(transport: serverSide)
        try await clientSide.connect()
        let posts = Counter()
        let router = Router()
        router.get("/sse") { _, _ -> Response in
            let (events, continuation) = AsyncStream<ByteBuffer>.makeStream()
            continuation.yield(ByteBuffer(string: ": hello\n\nevent: endpoint\ndata: /messages?sessionId=s-1\n\n"))
            let pump = Task {
                for try await message in await clientSide.receive() {
                    continuation.yield(ByteBuffer(string: "event: message\ndata: \(String(decoding: message, as: UTF8.self))\n\n"))
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: .init(asyncSequence: events))
        }
        router.post("/messages") { request, _ -> Response in
            guard request.uri.queryParameters["sessionId"] == "s-1" else { return Response(status: .notFound) }
            let body = try await request.body.collect(upTo: 1 << 20)
            posts.add()
            try await clientSide.send(Data(body.readableBytesView))
            return Response(status: .accepted)
        }
        let server = try await LoopbackServer.start(router: router, label: "legacy-sse")
        return LegacySSEServer(port: server.port, posts: posts, server: server)
    }

    func stop() async {
        await server.stop()
    }
}

@Suite("MCP client over HTTP")
struct HTTPClientTests {
    @Test("legacy HTTP+SSE: waits for the endpoint event, posts there, reads answers off the stream")
    func legacySSE() async throws {
        let server = try await LegacySSEServer.start()
        let servers = try MCPServerConfiguration.parse(#"{"mcpServers": {"legacy": {"url": "http://127.0.0.1:\#(server.port)/sse"}}}"#)
        #expect(servers.first?.transport.kind == "sse")
        let tools = MCPToolset(servers: servers, logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await tools.waitUntilReady())
            #expect(try await tools.definitions().map(\.name) == ["legacy__lookup"])
            let output = try await tools.call("legacy__lookup", arguments: .object(["id": .string("x-9")]))
            #expect(output == ToolOutput(content: "found x-9"))
            #expect(server.posts.count >= 3)  // initialize, initialized, tools/list, tools/call
        }
        await server.stop()
    }

    @Test("legacy HTTP+SSE: a server that is down is reported, and its tools answer with an error")
    func legacyDown() async throws {
        let servers = try MCPServerConfiguration.parse(#"{"mcpServers": {"gone": {"type": "sse", "url": "http://127.0.0.1:9/sse"}}}"#)
        let tools = MCPToolset(servers: servers, reconnectDelay: .milliseconds(50), logger: Fixture.logger)
        try await withRunning(tools) { () async throws in
            #expect(await eventually { await tools.toolSourceStatuses().first?.lastError?.contains("cannot reach") == true })
            let output = try await tools.call("gone__lookup", arguments: .object([:]))
            #expect(output.isError && output.content.contains("gone"))
        }
    }
}
