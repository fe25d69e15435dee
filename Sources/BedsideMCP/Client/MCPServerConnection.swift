import AsyncHTTPClient
import BedsideCore
import Foundation
import Logging
import MCP
import Synchronization
import Tracing

/// One configured MCP server: keeps a connection to it, its current tool list, and its state.
///
/// ``run()`` connects, lists the tools, and waits for the connection to end; then it retries
/// with exponential backoff and jitter, forever, until cancelled. Tools are listed again on
/// every connection and on `notifications/tools/list_changed`.
actor MCPServerConnection {
    let configuration: MCPServerConfiguration
    private let httpClient: HTTPClient
    private let logger: Logger
    private let backoff: Backoff
    private let tracer: any Tracer
    private let transportFactory: (@Sendable () -> any Transport)?
    private var state: ToolSourceStatus.State = .connecting
    private var lastError: String?
    private var client: Client?
    private var lifetime: TransportLifetime?
    private var offered: [String: Tool] = [:]
    private var hiddenCount = 0

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
        tracer: any Tracer = InstrumentationSystem.tracer,
        transportFactory: (@Sendable () -> any Transport)? = nil,
        logger: Logger
    ) {
        self.configuration = configuration
        self.tracer = tracer
        self.transportFactory = transportFactory
        self.httpClient = httpClient
        self.backoff = backoff
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
                let lifetime = try await connect()
                attempt = 0
                let reason = await withTaskCancellationHandler {
                    await lifetime.ended()
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
                try await Task.sleep(for: delay)
            } catch {
                break
            }
            if state == .failed { state = .reconnecting }
        }
        await dropClient()
    }

    private func connect() async throws -> TransportLifetime {
        let transport = makeTransport()
        let client = Client(name: "bedside", version: "1.0")
        await client.onNotification(ToolListChangedNotification.self) { [weak self] _ in
            Task { await self?.refreshTools() }
        }
        do {
            try await withTimeout(.seconds(30), what: "connecting", lifetime: transport.lifetime) {
                _ = try await client.connect(transport: transport)
            }
        } catch {
            await client.disconnect()
            await transport.disconnect()
            throw error
        }
        self.client = client
        self.lifetime = transport.lifetime
        try await listTools(client, lifetime: transport.lifetime)
        state = .ready
        lastError = nil
        logger.info("MCP server ready", metadata: ["mcp.tools": "\(offered.count)", "mcp.hidden_tools": "\(hiddenCount)"])
        return transport.lifetime
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
                logger: logger
            )
        case .streamableHTTP(let url, let headers):
            StreamableHTTPTransport(url: url, headers: headers, client: httpClient, logger: logger)
        case .legacySSE(let url, let headers):
            LegacySSETransport(url: url, headers: headers, client: httpClient, logger: logger)
        }
    }

    private func listTools(_ client: Client, lifetime: TransportLifetime?) async throws {
        var tools: [Tool] = []
        var cursor: String?
        repeat {
            let page = try await withTimeout(.seconds(30), what: "listing tools", lifetime: lifetime) { [cursor] in
                try await client.listTools(cursor: cursor)
            }
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
            try await listTools(client, lifetime: lifetime)
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
        await client?.disconnect()
    }

    /// Calls the tool offered as `offeredName`. Failures the model should see (a server that
    /// is down or dies, a timeout) come back as error outputs naming the server.
    func call(_ offeredName: String, arguments: JSONValue) async throws -> ToolOutput {
        let server = configuration.name
        if state == .ready, offered[offeredName] == nil { throw NoTools.ToolUnavailable(name: offeredName) }
        guard let tool = offered[offeredName], let client, let lifetime, state == .ready else {
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
            let outcome = await Self.race(context: context, lifetime: lifetime, timeout: timeout, client: client)
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

    enum Outcome: Sendable {
        case result(CallTool.Result)
        case failed(String)
        case died(String)
        case timedOut
        case cancelled
    }

    /// Waits for the answer, the server's death, the timeout or cancellation, whichever comes
    /// first. Timeouts and cancellation send `notifications/cancelled` for the request.
    private static func race(
        context: RequestContext<CallTool.Result>,
        lifetime: TransportLifetime,
        timeout: Duration,
        client: Client
    ) async -> Outcome {
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
            { .died(await lifetime.ended()) },
            {
                try? await Task.sleep(for: timeout)
                return .timedOut
            },
        ]
        let outcome = await withTaskCancellationHandler {
            await firstOf(racers)
        } onCancel: {
            Task { try? await client.cancelRequest(id, reason: "The turn was cancelled.") }
        }
        // The run loop may see the death first and disconnect, failing the request: say what happened.
        if case .failed = outcome, let reason = lifetime.endReason { return .died(reason) }
        if case .timedOut = outcome {
            try? await client.cancelRequest(id, reason: "Timed out after \(timeout).")
        }
        if Task.isCancelled { return .cancelled }
        return outcome
    }

    private static func output(_ outcome: Outcome, server: String, tool: String, timeout: Duration) -> ToolOutput {
        switch outcome {
        case .result(let result):
            return ToolOutput(content: result.modelText, isError: result.isError ?? false)
        case .failed(let message):
            return ToolOutput(content: "The MCP server \(server) could not run \(tool): \(message)", isError: true)
        case .died(let reason):
            return ToolOutput(
                content: "The MCP server \(server) stopped while running \(tool) (\(reason)); Bedside is reconnecting.",
                isError: true
            )
        case .timedOut:
            return ToolOutput(
                content: "The MCP server \(server) did not answer \(tool) within \(timeout.seconds) s; the call was cancelled.",
                isError: true
            )
        case .cancelled:
            return ToolOutput(content: "The call to \(tool) on \(server) was cancelled.", isError: true)
        }
    }
}

struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

extension Duration {
    var seconds: String {
        let (whole, fraction) = components
        let value = Double(whole) + Double(fraction) / 1e18
        return value == value.rounded() ? String(Int64(value)) : String(format: "%.1f", value)
    }
}

/// Runs `work`, failing with a ``TransportError`` when it takes longer than `limit`. The work
/// is left to finish on its own: what it waits for may not answer cancellation.
/// When `lifetime` ends first, fails with its reason.
func withTimeout<T: Sendable>(
    _ limit: Duration,
    what: String,
    lifetime: TransportLifetime? = nil,
    _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    var racers: [@Sendable () async -> Result<T, any Error>?] = [
        {
            do {
                return .success(try await work())
            } catch {
                return .failure(error)
            }
        },
        {
            try? await Task.sleep(for: limit)
            return nil
        },
    ]
    if let lifetime {
        racers.append {
            let reason = await lifetime.ended()
            return .failure(TransportError(description: "\(what) failed: \(reason)"))
        }
    }
    let result = await firstOf(racers)
    guard let result else { throw TransportError(description: "\(what) took longer than \(limit.seconds) s") }
    return try result.get()
}

/// The value of whichever of `racers` finishes first; the others are cancelled and left to end
/// on their own, so one racer that ignores cancellation cannot hold up the answer.
func firstOf<T: Sendable>(_ racers: [@Sendable () async -> T]) async -> T {
    let race = Race()
    let value = await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
        for racer in racers {
            race.add(
                Task {
                    let value = await racer()
                    if race.finish() { continuation.resume(returning: value) }
                }
            )
        }
    }
    race.cancelAll()
    return value
}

/// The shared state of one ``firstOf(_:)`` race.
private final class Race: Sendable {
    private let state = Mutex<(done: Bool, tasks: [Task<Void, Never>])>((false, []))

    func add(_ task: Task<Void, Never>) {
        state.withLock { $0.tasks.append(task) }
    }

    /// Whether the caller is the first to finish.
    func finish() -> Bool {
        state.withLock { state in
            defer { state.done = true }
            return !state.done
        }
    }

    func cancelAll() {
        for task in state.withLock({ $0.tasks }) { task.cancel() }
    }
}
