import AsyncHTTPClient
import BedsideCore
import BedsideMCP
import BedsideStore
import BedsideTestSupport
import Foundation
import Logging
import Synchronization
import Testing
import Tracing

/// A tool served by an MCP server: its `tools/call` client span sits beneath the tool's
/// `execute_tool` span, the HTTP request beneath that, and the MCP server receives the trace in
/// `traceparent`, both as the HTTP header and in the request's `_meta`.
@Suite struct TracingMCPTests {
    /// An ``MCPEndpoint`` that remembers what each POST carried before passing it on.
    final class RecordingEndpoint: MCPEndpoint {
        let inner: any MCPEndpoint
        let posts = Mutex<[(traceparent: String?, body: String)]>([])

        init(_ inner: any MCPEndpoint) { self.inner = inner }

        func handle(_ request: EndpointRequest) async -> EndpointResponse {
            if request.method == "POST" {
                let body = String(decoding: request.body, as: UTF8.self)
                posts.withLock { $0.append((request.headers["traceparent"], body)) }
            }
            return await inner.handle(request)
        }

        func shutdown() async { await inner.shutdown() }

        /// The `traceparent` header and body of the POST that called a tool.
        var toolCall: (traceparent: String?, body: String)? {
            // JSONEncoder may write the method as `tools\/call`.
            posts.withLock { $0.first { $0.body.contains(#""tools/call""#) || $0.body.contains(#""tools\/call""#) } }
        }
    }

    /// A tool box filled in while the rig starts (the toolset needs the rig's client and tracer).
    final class Box: Sendable {
        let toolset = Mutex<MCPToolset?>(nil)
    }

    @Test func anMCPToolCallIsAClientSpanBeneathTheToolAndCarriesTheTrace() async throws {
        let store = InMemoryEventStore()
        let endpoint = RecordingEndpoint(
            MCPToolServer(
                tools: MCPEndpointTests.AuditingTools(audit: store),
                version: "test",
                logger: MCPEndpointTests.logger
            )
        )
        let remote = try await LiveServer.start(store: store, mcpEndpoint: endpoint)
        let receiver = try await OTLPReceiver()
        let servers = try MCPServerConfiguration.parse(
            #"{"mcpServers": {"chart": {"url": "http://127.0.0.1:\#(remote.port)/mcp"}}}"#
        )
        let box = Box()
        let rig = try await TraceRig.start(
            [
                .stream([
                    toolChunk(index: 0, id: "call_m", name: "chart__count_conditions", arguments: #"{"patient":"p-7"}"#),
                    finishChunk("tool_calls"), usageChunk(prompt: 20, completion: 5),
                ]),
                .stream([textChunk("One condition."), finishChunk("stop"), usageChunk(prompt: 30, completion: 3)]),
            ],
            tracesURL: "\(receiver.endpoint)/v1/traces",
            tools: { client, tracer in
                let toolset = MCPToolset(servers: servers, httpClient: client, tracer: tracer, logger: MCPEndpointTests.logger)
                box.toolset.withLock { $0 = toolset }
                return toolset
            }
        )
        let mcp = try #require(box.toolset.withLock { $0 })
        let connection = Task { await mcp.run() }
        #expect(await mcp.waitUntilReady())

        let (_, events) = try await rig.turn("How many conditions has p-7?")
        let result = try #require(events.first { $0.type == "tool_result" })
        #expect(result["server"]?.stringValue == "chart")
        #expect(result["is_error"] == .bool(false))
        #expect(result["result"]?.stringValue?.contains("p-7") == true)

        let traceID = try #require(events.last?["trace_id"]?.stringValue)
        let toolSpanID = try #require(result["span_id"]?.stringValue)
        let spans = try await receiver.spans(atLeast: 7, within: .seconds(30)) { $0.traceID == traceID }
        let tool = try #require(spans.first { $0.spanID == toolSpanID })
        #expect(tool.name == "execute_tool chart__count_conditions")
        let call = try #require(spans.first { $0.name == "tools/call count_conditions" })
        #expect(call.parentSpanID == tool.spanID)
        #expect(call.kind == .client)
        let post = try #require(spans.first { $0.parentSpanID == call.spanID })
        #expect(post.name == "POST")
        #expect(post.kind == .client)

        // The MCP server saw the trace: the HTTP header names the POST span, `_meta` the call's.
        let seen = try #require(endpoint.toolCall)
        let header = try #require(seen.traceparent).split(separator: "-").map(String.init)
        #expect(header.count == 4)
        #expect(header[1] == traceID)
        #expect(header[2] == post.spanID)
        #expect(seen.body.contains(#""traceparent":"00-\#(traceID)-\#(call.spanID)-"#))

        connection.cancel()
        await connection.value
        try await rig.stop()
        await receiver.stop()
        try await remote.stop()
    }
}
