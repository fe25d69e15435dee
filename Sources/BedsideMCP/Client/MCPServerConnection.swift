import AsyncHTTPClient
import BedsideCore
import Foundation
import Logging
import MCP
import Tracing

/// One configured MCP server: keeps a connection to it, its current tool list, and its state.
///
/// ``run()`` connects, lists the tools, and waits for the connection to end; then it retries
/// with exponential backoff and jitter, forever, until cancelled. Tools are listed again on
/// every connection and on `notifications/tools/list_changed`.
///
/// Everything it starts is a child of ``run()``: while a connection is up, the work its
/// callbacks ask for (listing tools again, cancelling a call that lost its race) runs as
/// ``Chore``s in the run loop's task group, so that nothing outlives the connection. Every
/// timeout and the backoff wait on the injected clock.
actor MCPServerConnection {
    let configuration: MCPServerConfiguration
    private let httpClient: HTTPClient
    private let logger: Logger
    private let backoff: Backoff
    private let clock: ElapsedClock
    private let tracer: any Tracer
    private let transportFactory: (@Sendable () -> any Transport)?
    private var state: ToolSourceStatus.State = .connecting
    private var lastError: String?
    private var client: Client?
    private var lifetime: TransportLifetime?
    private var offered: [String: Tool] = [:]
    private var hiddenCount = 0
    /// Where the current connection's chores go; nil between connections.
    private var chores: AsyncStream<Chore>.Continuation?

    /// Work a connection's callbacks hand to the run loop, which performs it while the
    /// connection lasts.
    enum Chore: Sendable {
        /// The server said its tools changed.
        case refreshTools
        /// A call lost its race (timed out, cancelled, or its server died): the request is
        /// cancelled, which also ends the wait for its answer.
        case cancelRequest(Client, ID, reason: String)
    }

    /// How long connecting, and each page of the tool list, may take.
    static let setupTimeout: Duration = .seconds(30)

    /// Reconnection delays: doubling from `initial` up to `maximum`, each scaled by a random
    /// factor in 0.5...1 so that many clients do not retry in step.
    struct Backoff: Sendable {
        var initial: Duration = .milliseconds(500)
        var maximum: Duration = .seconds(30)

        func delay(attempt: Int) -> Duration {
            let doubled = initial * (1 << min(attempt, 16))
            return min(doubled, maximum) * Double.random(in: 0.5...1)
        }
    }

    init(
        configuration: MCPServerConfiguration,
        httpClient: HTTPClient,
        backoff: Backoff,
        clock: ElapsedClock,
        tracer: any Tracer = InstrumentationSystem.tracer,
        transportFactory: (@Sendable () -> any Transport)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.tracer = tracer
        self.transportFactory = transportFactory
        self.httpClient = httpClient
        self.backoff = backoff
        self.clock = clock
        var logger = logger
        logger[metadataKey: "mcp.server"] = "\(configuration.name)"
        self.logger = logger
        if configuration.disabled { state = .disabled }
    }

    var status: ToolSourceStatus {
        ToolSourceStatus(
            name: configuration.name,
            transport: configuration.transport.kind,
            state: state,
            toolCount: state == .ready ? offered.count : 0,
            hiddenToolCount: hiddenCount,
            lastError: lastError
        )
    }

    /// The tools offered to the model, by their offered name, while the server is ready.
    var definitions: [ToolDefinition] {
        guard state == .ready else { return [] }
        return offered.keys.sorted().map { name in
            let tool = offered[name]!
            return ToolDefinition(
                name: name,
                description: tool.description ?? tool.title ?? tool.name,
                parameters: JSONValue(tool.inputSchema),
                server: configuration.name
            )
        }
    }

    func owns(offeredName: String) -> Bool { offered[offeredName] != nil }

    var isReady: Bool { state == .ready }

    /// Connects and reconnects until cancelled.
    func run() async {
        guard !configuration.disabled else { return }
        var attempt = 0
        while !Task.isCancelled {
            do {
                let (lifetime, chores) = try await connect()
                attempt = 0
                // Until the connection ends, its chores run beside the wait.
                let racers: [@Sendable () async -> String] = [
                    { await lifetime.ended() },
                    { [self] in
                        await perform(chores)
                        return ""
                    },
                ]
                let reason = await withTaskCancellationHandler {
                    await race(racers)
                } onCancel: {
                    lifetime.end("Bedside is shutting down")
                }
                if Task.isCancelled { break }
                lastError = "connection lost: \(reason)"
                logger.warning("MCP server connection lost", metadata: ["mcp.reason": "\(reason)"])
            } catch is CancellationError {
                break
            } catch {
                lastError = "\(error)"
                logger.warning("MCP server connection failed", metadata: ["error": "\(error)"])
            }
            state = attempt == 0 ? .reconnecting : .failed
            await dropClient()
            let delay = backoff.delay(attempt: attempt)
            attempt += 1
            do {
                try await clock.sleep(for: delay)
            } catch {
                break
            }
            if state == .failed { state = .reconnecting }
        }
        await dropClient()
    }

    /// Connects and lists the tools; returns the connection's lifetime and its chores. A
    /// server that does not answer within ``setupTimeout`` is disconnected.
    private func connect() async throws -> (TransportLifetime, AsyncStream<Chore>) {
        let transport = makeTransport()
        let client = Client(name: "bedside", version: "1.0")
        let (chores, choreQueue) = AsyncStream.makeStream(of: Chore.self)
        await client.onNotification(ToolListChangedNotification.self) { _ in
            choreQueue.yield(.refreshTools)
        }
        do {
            try await withTimeout(
                Self.setupTimeout,
                what: "connecting",
                lifetime: transport.lifetime,
                clock: clock,
                abandon: { await client.disconnect() },
                work: { _ = try await client.connect(transport: transport) }
            )
        } catch {
            await client.disconnect()
            await transport.disconnect()
            throw error
        }
        self.client = client
        self.lifetime = transport.lifetime
        self.chores = choreQueue
        try await listTools(client, lifetime: transport.lifetime) { _ in await client.disconnect() }
        state = .ready
        lastError = nil
        logger.info("MCP server ready", metadata: ["mcp.tools": "\(offered.count)", "mcp.hidden_tools": "\(hiddenCount)"])
        return (transport.lifetime, chores)
    }

    /// Performs the chores of one connection, each in a child task, until the run loop
    /// cancels it (the connection ended, or Bedside is shutting down).
    private func perform(_ chores: AsyncStream<Chore>) async {
        await withDiscardingTaskGroup { group in
            for await chore in chores {
                switch chore {
                case .refreshTools:
                    group.addTask { await self.refreshTools() }
                case .cancelRequest(let client, let id, let reason):
                    // Removes the waiting request at once, then tells the server.
                    group.addTask { try? await client.cancelRequest(id, reason: reason) }
                }
            }
        }
    }

    private func makeTransport() -> any Transport & LifetimeTransport {
        if let transportFactory { return WatchedTransport(transportFactory()) }
        return switch configuration.transport {
        case .stdio(let command, let arguments, let environment, let workingDirectory):
            StdioProcessTransport(
                command: command,
                arguments: arguments,
                environment: environment,
                workingDirectory: workingDirectory,
                clock: clock,
                logger: logger
            )
        case .streamableHTTP(let url, let headers):
            StreamableHTTPTransport(url: url, headers: headers, client: httpClient, logger: logger)
        case .legacySSE(let url, let headers):
            LegacySSETransport(url: url, headers: headers, client: httpClient, clock: clock, logger: logger)
        }
    }

    /// Lists the server's tools, page by page, each within ``setupTimeout``; `abandon` ends a
    /// page request that timed out or outlived the connection.
    private func listTools(
        _ client: Client,
        lifetime: TransportLifetime?,
        abandon: @escaping @Sendable (ID) async -> Void
    ) async throws {
        var tools: [Tool] = []
        var cursor: String?
        repeat {
            let request = cursor.map { ListTools.request(.init(cursor: $0)) } ?? ListTools.request(.init())
            let context = try await client.send(request)
            let page = try await withTimeout(
                Self.setupTimeout,
                what: "listing tools",
                lifetime: lifetime,
                clock: clock,
                abandon: { await abandon(context.requestID) },
                work: { try await context.value }
            )
            tools += page.tools
            cursor = page.nextCursor
        } while cursor != nil && tools.count < 10_000
        var offered: [String: Tool] = [:]
        var hidden = 0
        for tool in tools {
            if ToolExposure.isOffered(tool, allowTools: configuration.allowTools) {
                offered[ToolExposure.offeredName(server: configuration.name, tool: tool.name)] = tool
            } else {
                hidden += 1
            }
        }
        self.offered = offered
        self.hiddenCount = hidden
    }

    private func refreshTools() async {
        guard let client else { return }
        do {
            try await listTools(client, lifetime: lifetime) { id in
                try? await client.cancelRequest(id, reason: "Listing the tools took too long.")
            }
            logger.info("MCP server tools changed", metadata: ["mcp.tools": "\(offered.count)"])
        } catch {
            lastError = "listing tools after a change failed: \(error)"
        }
    }

    private func dropClient() async {
        let client = self.client
        self.client = nil
        self.lifetime = nil
        self.offered = [:]
        chores?.finish()
        chores = nil
        await client?.disconnect()
    }

    /// Calls the tool offered as `offeredName`. Failures the model should see (a server that
    /// is down or dies, a timeout) come back as error outputs naming the server.
    func call(_ offeredName: String, arguments: JSONValue) async throws -> ToolOutput {
        let server = configuration.name
        if state == .ready, offered[offeredName] == nil { throw NoTools.ToolUnavailable(name: offeredName) }
        guard let tool = offered[offeredName], let client, let lifetime, let chores, state == .ready else {
            let why = lastError.map { " (\($0))" } ?? ""
            return ToolOutput(
                content: "The MCP server \(server) is not connected\(why); Bedside is reconnecting. Try again later.",
                isError: true
            )
        }
        let members = arguments.objectValue?.mapValues(\.mcpValue) ?? [:]
        let timeout = configuration.callTimeout
        return try await tracer.withSpan("tools/call \(tool.name)", ofKind: .client) { span in
            span.attributes["mcp.server"] = server
            span.attributes["gen_ai.tool.name"] = tool.name
            var meta = Metadata()
            var carrier: [String: String] = [:]
            tracer.inject(span.context, into: &carrier, using: DictionaryInjector())
            if let traceparent = carrier["traceparent"] { meta.fields["traceparent"] = .string(traceparent) }
            if let tracestate = carrier["tracestate"] { meta.fields["tracestate"] = .string(tracestate) }
            let context: RequestContext<CallTool.Result> = try await client.callTool(
                name: tool.name,
                arguments: members,
                meta: meta.fields.isEmpty ? nil : meta
            )
            let outcome = await self.outcome(of: context, lifetime: lifetime, timeout: timeout, client: client, chores: chores)
            let output = Self.output(outcome, server: server, tool: tool.name, timeout: timeout)
            if output.isError { span.attributes["error.type"] = "tool_error" }
            if case .cancelled = outcome { throw CancellationError() }
            if case .died(let reason) = outcome {
                // The run loop reconnects; until then the server offers nothing.
                lastError = "connection lost: \(reason)"
                if self.lifetime === lifetime { state = .reconnecting }
            }
            return output
        }
    }

    /// Waits for the answer, the server's death, the timeout or cancellation, whichever comes
    /// first, and returns once every racer has ended. When the answer loses, the request is
    /// cancelled through the connection's chores (which sends `notifications/cancelled` and
    /// ends the wait for the answer); when the connection is gone, disconnecting ends it.
    private func outcome(
        of context: RequestContext<CallTool.Result>,
        lifetime: TransportLifetime,
        timeout: Duration,
        client: Client,
        chores: AsyncStream<Chore>.Continuation
    ) async -> Outcome {
        let clock = self.clock
        let id = context.requestID
        let racers: [@Sendable () async -> Outcome] = [
            {
                do {
                    return .result(try await context.value)
                } catch is CancellationError {
                    return .cancelled
                } catch {
                    return .failed("\(error)")
                }
            },
            {
                let reason = await lifetime.ended()
                return Task.isCancelled ? .cancelled : .died(reason)
            },
            {
                do {
                    try await clock.sleep(for: timeout)
                    return .timedOut
                } catch {
                    return .cancelled
                }
            },
        ]
        let outcome = await race(racers) { winner in
            let reason: String
            switch winner {
            case .result, .failed: return
            case .timedOut: reason = "Timed out after \(timeout)."
            case .cancelled: reason = "The turn was cancelled."
            case .died: reason = "The connection to the server ended."
            }
            chores.yield(.cancelRequest(client, id, reason: reason))
        }
        // The run loop may see the death first and disconnect, failing the request: say what happened.
        if case .failed = outcome, let reason = lifetime.endReason { return .died(reason) }
        if Task.isCancelled { return .cancelled }
        return outcome
    }
}
