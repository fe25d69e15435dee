import BedsideAgent
import BedsideCore
import BedsideMCP
import Foundation
import Logging
import Synchronization

/// The stdio MCP server the package builds for the tests (`bedside-mcp-fixture`).
enum Fixture {
    static var executable: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [".build/debug/bedside-mcp-fixture", ".build/release/bedside-mcp-fixture"] {
            let path = root.appendingPathComponent(candidate).path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        // Next to the test bundle, wherever the build put it.
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        return bundle.appendingPathComponent("bedside-mcp-fixture").path
    }

    /// A stdio server entry running the fixture, logging cancellations to `log`.
    static func server(
        _ name: String = "fixture",
        log: String,
        allowTools: Set<String> = [],
        timeout: Duration = .seconds(120)
    ) -> MCPServerConfiguration {
        MCPServerConfiguration(
            name: name,
            transport: .stdio(
                command: executable,
                arguments: [],
                environment: ["BEDSIDE_FIXTURE_LOG": log],
                workingDirectory: nil
            ),
            allowTools: allowTools,
            callTimeout: timeout
        )
    }

    static func temporaryFile() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("bedside-mcp-\(UUID().uuidString).log").path
    }

    static func lines(of path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static let logger = Logger(label: "bedside.mcp.tests")
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
func eventually(_ limit: Duration = .seconds(60), _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Runs `body` with the toolset connected (its run loop in a child task), then stops it.
func withRunning<T: Sendable>(_ tools: MCPToolset, _ body: () async throws -> T) async throws -> T {
    let running = Task { await tools.run() }
    defer { running.cancel() }
    let result = try await body()
    running.cancel()
    await running.value
    return result
}

/// A model that, for each user message, calls the next tool of its script with `{}` (or the
/// given arguments), then answers with the text of the tool's result.
final class ToolCallingModel: LanguageModel {
    let modelName = "gpt-test"
    let providerName = "scripted"
    private let script: Mutex<[(name: String, arguments: String)]>

    init(_ script: [(name: String, arguments: String)]) {
        self.script = Mutex(script)
    }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        var events: [ModelStreamEvent] = []
        switch request.messages.last {
        case .tool(_, let content, let isError):
            events = [.textDelta("\(isError ? "error" : "ok"): \(content)"), .finish(.stop)]
        default:
            if let next = script.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                events = [
                    .toolCallDelta(ToolCallDelta(index: 0, id: "call_\(UUID().uuidString.prefix(8))", name: next.name)),
                    .toolCallDelta(ToolCallDelta(index: 0, argumentsFragment: next.arguments)),
                    .finish(.toolCalls),
                ]
            } else {
                events = [.textDelta("nothing to call"), .finish(.stop)]
            }
        }
        return AsyncThrowingStream { continuation in
            for event in events { continuation.yield(event) }
            continuation.finish()
        }
    }
}

/// The tool events of one turn, and how it ended.
struct TurnRecord: Sendable {
    var events: [AgentEvent]
    var end: AgentMachine.TurnEnd

    var results: [AgentMachine.ToolResultReport] {
        events.compactMap { if case .toolCallEnded(let report) = $0 { report } else { nil } }
    }

    var callServers: [String?] {
        events.compactMap { if case .toolCallStarted(_, _, _, let server) = $0 { server } else { nil } }
    }
}

/// Runs one agent turn over `tools` with `model`, collecting its events.
func runTurn(
    _ message: String,
    model: any LanguageModel,
    tools: any Toolset,
    toolTimeout: Duration = .seconds(30),
    cancelAfter: Duration? = nil
) async -> TurnRecord {
    let driver = AgentDriver(
        configuration: AgentMachine.Configuration(model: model.modelName),
        model: model,
        tools: tools,
        toolTimeout: toolTimeout
    )
    let events = Mutex<[AgentEvent]>([])
    let turn = Task {
        await driver.run(history: [], userMessage: message, messageID: "m1") { event in
            events.withLock { $0.append(event) }
        }
    }
    if let cancelAfter {
        // Counted from the first tool call's start: on a busy machine the model round before it
        // can take longer than `cancelAfter` itself.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !events.withLock({ $0.contains(where: \.isToolCallStart) }) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        try? await Task.sleep(for: cancelAfter)
        turn.cancel()
    }
    let end = await turn.value
    return TurnRecord(events: events.withLock { $0 }, end: end)
}

extension AgentEvent {
    var isToolCallStart: Bool {
        if case .toolCallStarted = self { return true }
        return false
    }
}
