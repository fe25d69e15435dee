import ArgumentParser
import BedsideBenchCore
import BedsideCore
import BedsideProtocol
import BedsideStore
import BedsideTestSupport
import Foundation
import NIOCore
import NIOPosix

/// `bedside-bench`: measures Bedside under load (see BENCHMARKS.md).
struct BedsideBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bedside-bench",
        abstract: "Measure Bedside under load: chat, idle, slow-consumer, capacity and replay scenarios.",
        discussion: """
            By default starts the bedside executable next to this one as a child process (own SQLite files in a \
            temporary directory, --llm openai against an in-process fake OpenAI server), so that the server's CPU \
            and memory are read apart from the benchmark's. --url targets a running Bedside instead. Every scenario \
            but replay then runs again, in the same run and against the same fake model, on the floor: a minimal \
            server on SwiftNIO (this executable, started as its own process) that speaks the same protocol and makes \
            the same model requests with nothing else; each figure is printed beside the floor's (--no-floor skips it).
            """
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case chat, idle
        case slowConsumer = "slow-consumer"
        case capacity
        case replay
    }

    @Argument(help: "chat, idle, slow-consumer, capacity or replay.")
    var scenario: Scenario

    @Option(help: "chat, slow-consumer: sessions running turns at once.")
    var sessions = 200
    @Option(help: "chat, slow-consumer: turns per session.")
    var turns = 10
    @Option(help: "Text tokens of the fake model's answer (after its one tool call).")
    var tokens = 40
    @Option(help: "Milliseconds between two of the fake model's tokens.")
    var tokenIntervalMs = 5
    @Option(help: "idle: connections to hold.")
    var connections = 20_000
    @Option(help: "idle: sessions the connections are spread over (default: one session each).")
    var idleSessions: Int?
    @Option(help: "idle: seconds to hold them.")
    var holdSeconds = 10
    @Option(help: "slow-consumer: share of sessions that get an extra connection which stops reading.")
    var slowShare = 0.25
    @Option(help: "slow-consumer: --outbox-capacity of Bedside and of the floor (frames queued per connection).")
    var outboxCapacity = 256
    @Option(help: "replay: events in the replayed session.")
    var events = 10_000
    @Option(help: "replay: reconnects measured.")
    var replays = 5
    @Option(help: "A running Bedside to measure, e.g. ws://127.0.0.1:8000, instead of starting one (the floor is still started).")
    var url: String?
    @Option(help: "With --url: the server's process id, to read its CPU and memory.")
    var serverPid: Int32?
    @Option(help: "The bedside executable to start (default: the one next to bedside-bench).")
    var serverBinary: String?
    @Option(parsing: .singleValue, help: "An extra argument for the started bedside, not the floor (repeatable).")
    var serverArg: [String] = []
    @Option(parsing: .singleValue, help: "An environment variable NAME=VALUE for the started bedside, not the floor (repeatable).")
    var serverEnv: [String] = []
    @Option(help: "A command the started bedside (not the floor) runs under, e.g. \"perf record -e cpu-clock -g\" (split at spaces).")
    var serverWrapper: String?
    @Option(
        help: """
            capacity: the session counts tried, up to the first that misses turn p50 ≤ model + 30 ms \
            (default 20,50,100,150,200,300,400,600,800,1000,1500,2000); the gap to the last that passed is then halved.
            """
    )
    var capacitySteps: String?
    @Option(help: "capacity: turns per session at each step.")
    var capacityTurns = 5
    @Option(help: "capacity: seconds each server's search may take; it stops before a step that would start later.")
    var capacitySeconds = 180
    @Flag(inversion: .prefixedNo, help: "Run each scenario but replay on the floor server too, and print its figures beside Bedside's.")
    var floor = true
    @Option(help: "Write the results as JSON to this file.")
    var out: String?
    @Flag(help: "Exit with status 1 when a target is not met.")
    var checkTargets = false

    func validate() throws {
        guard sessions > 0, turns > 0, tokens >= 0, tokenIntervalMs >= 0, connections > 0, holdSeconds >= 0, events > 0, replays > 0
        else { throw ValidationError("Sizes must be positive.") }
        guard (0...1).contains(slowShare) else { throw ValidationError("--slow-share must be between 0 and 1.") }
        guard capacityTurns > 0, capacitySeconds > 0, !capacityLadder.isEmpty else {
            throw ValidationError(
                "--capacity-steps takes positive session counts, e.g. 20,50,100; --capacity-turns and --capacity-seconds must be positive."
            )
        }
    }

    /// The session counts the capacity search climbs.
    var capacityLadder: [Int] {
        guard let capacitySteps else { return CapacitySearch.defaultLadder }
        let steps = capacitySteps.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return steps.contains(nil) ? [] : steps.compactMap { $0 }.filter { $0 > 0 }
    }

    /// Whether this run measures the floor too.
    var runsFloor: Bool { floor && scenario != .replay }

    func run() async throws {
        // Per process: the server (which inherits the limit) and this client each hold one
        // descriptor per connection.
        let needed = scenario == .idle ? connections + 1024 : (scenario == .capacity ? capacityLadder.max() ?? 0 : sessions) * 4 + 1024
        let limitNote = raiseOpenFileLimit(to: needed)
        print("bedside-bench \(scenario.rawValue): \(limitNote)")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let model = FakeModel(
            tokens: tokens,
            interval: .milliseconds(tokenIntervalMs),
            toolName: "find_patients",
            toolArguments: #"{"name":"Smith","count":5}"#
        )
        let fake = try await model.start()
        var report: ScenarioReport
        do {
            if scenario == .replay, url == nil { try await seedReplay(directory: directory) }
            if scenario == .capacity {
                report = try await capacity(directory: directory, modelURL: fake.baseURL, loop: loop, model: model)
            } else {
                report = try await withServer(floor: false, directory: directory, modelURL: fake.baseURL, loop: loop) {
                    try await measure(server: $0, loop: loop, model: model)
                }
                if runsFloor {
                    let floorReport = try await withServer(floor: true, directory: directory, modelURL: fake.baseURL, loop: loop) {
                        try await measure(server: $0, loop: loop, model: model)
                    }
                    report = report.comparing(floor: floorReport)
                }
            }
            report.notes.insert(limitNote, at: 0)
            report.parameters["floor"] = runsFloor ? "in the same run" : "not run"
        } catch {
            await fake.stop()
            try? await group.shutdownGracefully()
            throw error
        }
        await fake.stop()
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(at: directory)
        report.printTable()
        if let out {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: out))
            print("wrote \(out)")
        }
        let foreign = report.rows.filter { $0.metric.hasSuffix("foreign events") }.reduce(0) { $0 + ($1.value ?? 0) + ($1.floor ?? 0) }
        if foreign != 0 { throw ExitCode(2) }
        if checkTargets, !report.targetsMet { throw ExitCode(1) }
    }

    /// Starts Bedside (or, with `floor`, the floor server), runs `body` against it and stops it.
    func withServer<Result>(
        floor: Bool,
        directory: URL,
        modelURL: String,
        loop: any EventLoop,
        _ body: (ServerUnderTest) async throws -> Result
    ) async throws -> Result {
        let server =
            floor
            ? try await ServerUnderTest.launchFloor(
                directory: directory,
                modelURL: modelURL,
                // Bedside's own default unless the scenario sets Bedside's.
                outboxCapacity: scenario == .slowConsumer ? outboxCapacity : 4096,
                loop: loop
            )
            : try await startServer(directory: directory, modelURL: modelURL, loop: loop)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }

    func startServer(directory: URL, modelURL: String, loop: any EventLoop) async throws -> ServerUnderTest {
        if let url { return try ServerUnderTest.remote(url: url, pid: serverPid) }
        let binary =
            serverBinary
            ?? URL(
                fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
            )
            .deletingLastPathComponent().appendingPathComponent("bedside").path
        var arguments = serverArg
        if scenario == .slowConsumer { arguments += ["--outbox-capacity", "\(outboxCapacity)"] }
        return try await ServerUnderTest.launch(
            binary: binary,
            directory: directory,
            modelURL: modelURL,
            extraArguments: arguments,
            extraEnvironment: Self.liftedLimits + serverEnv,
            wrapper: serverWrapper.map { $0.split(separator: " ").map(String.init) } ?? [],
            loop: loop
        )
    }

    func measure(server: ServerUnderTest, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
        switch scenario {
        case .chat: return try await chat(server: server, loop: loop, model: model)
        case .idle: return try await idle(server: server, loop: loop)
        case .slowConsumer: return try await slowConsumer(server: server, loop: loop, model: model)
        case .capacity: throw BenchError("capacity runs through capacity(directory:modelURL:loop:model:)")
        case .replay: return try await replay(server: server, loop: loop)
        }
    }

    var runTag: String { String(UInt32.random(in: 0...UInt32.max), radix: 16) }

    /// The server's per-client limits, lifted (0: unlimited): every benchmark client is one
    /// address, and the scenarios open 20,000 sockets, run 200 sessions' turns at once and
    /// replay on purpose. `--server-env` and `--server-arg` still override them; a server
    /// reached with `--url` must be started with them lifted.
    static let liftedLimits = [
        "BEDSIDE_MAX_CONNECTIONS", "BEDSIDE_MAX_CONNECTIONS_PER_ADDRESS", "BEDSIDE_MAX_CONNECTIONS_PER_SESSION",
        "BEDSIDE_MAX_MESSAGES_PER_SECOND", "BEDSIDE_MAX_RESUMES_PER_SECOND", "BEDSIDE_MAX_TURNS_PER_MINUTE",
        "BEDSIDE_MAX_CONCURRENT_TURNS", "BEDSIDE_MAX_MCP_SESSIONS",
    ].map { "\($0)=0" }
}
