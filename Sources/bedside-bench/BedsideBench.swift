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
@main
struct BedsideBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bedside-bench",
        abstract: "Measure Bedside under load: chat, idle, slow-consumer and replay scenarios.",
        discussion: """
            By default starts the bedside executable next to this one as a child process (own SQLite files in a \
            temporary directory, --llm openai against an in-process fake OpenAI server), so that the server's CPU \
            and memory are read apart from the benchmark's. --url targets a running Bedside instead.
            """
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case chat, idle
        case slowConsumer = "slow-consumer"
        case replay
    }

    @Argument(help: "chat, idle, slow-consumer or replay.")
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
    @Option(help: "slow-consumer: the server's --outbox-capacity (frames queued per connection).")
    var outboxCapacity = 256
    @Option(help: "replay: events in the replayed session.")
    var events = 10_000
    @Option(help: "replay: reconnects measured.")
    var replays = 5
    @Option(help: "A running Bedside to measure, e.g. ws://127.0.0.1:8000, instead of starting one.")
    var url: String?
    @Option(help: "With --url: the server's process id, to read its CPU and memory.")
    var serverPid: Int32?
    @Option(help: "The bedside executable to start (default: the one next to bedside-bench).")
    var serverBinary: String?
    @Option(parsing: .singleValue, help: "An extra argument for the started server (repeatable).")
    var serverArg: [String] = []
    @Option(parsing: .singleValue, help: "An environment variable NAME=VALUE for the started server (repeatable).")
    var serverEnv: [String] = []
    @Option(help: "A command the started server runs under, e.g. \"valgrind --tool=callgrind\" (split at spaces).")
    var serverWrapper: String?
    @Option(help: "Write the results as JSON to this file.")
    var out: String?
    @Flag(help: "Exit with status 1 when a target is not met.")
    var checkTargets = false

    func validate() throws {
        guard sessions > 0, turns > 0, tokens >= 0, tokenIntervalMs >= 0, connections > 0, holdSeconds >= 0, events > 0, replays > 0
        else { throw ValidationError("Sizes must be positive.") }
        guard (0...1).contains(slowShare) else { throw ValidationError("--slow-share must be between 0 and 1.") }
    }

    func run() async throws {
        // Per process: the server (which inherits the limit) and this client each hold one
        // descriptor per connection.
        let needed = scenario == .idle ? connections + 1024 : sessions * 4 + 1024
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
            let server = try await startServer(directory: directory, modelURL: fake.baseURL, loop: loop)
            do {
                report = try await measure(server: server, loop: loop, model: model)
                report.notes.insert(limitNote, at: 0)
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()
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
        let foreign = report.rows.first { $0.metric == "foreign events" }?.value ?? 0
        if foreign != 0 { throw ExitCode(2) }
        if checkTargets, !report.targetsMet { throw ExitCode(1) }
    }

    private func startServer(directory: URL, modelURL: String, loop: any EventLoop) async throws -> ServerUnderTest {
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
            extraEnvironment: serverEnv,
            wrapper: serverWrapper.map { $0.split(separator: " ").map(String.init) } ?? [],
            loop: loop
        )
    }

    private func measure(server: ServerUnderTest, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
        switch scenario {
        case .chat: return try await chat(server: server, loop: loop, model: model)
        case .idle: return try await idle(server: server, loop: loop)
        case .slowConsumer: return try await slowConsumer(server: server, loop: loop, model: model)
        case .replay: return try await replay(server: server, loop: loop)
        }
    }

    private var runTag: String { String(UInt32.random(in: 0...UInt32.max), radix: 16) }

    // MARK: chat

    /// Runs `sessions` sessions of `turns` turns, plus `slow` extra non-reading connections.
    private func chatPhase(
        server: ServerUnderTest,
        loop: any EventLoop,
        label: String,
        slow: Int = 0
    ) async throws -> (run: Run, client: ClientCPU, serverCPU: Double?, wall: Double) {
        let run = Run(loop: loop, host: server.host, port: server.port)
        run.turnsPerSession = turns
        let tag = runTag
        let names = (0..<sessions).map { "bench-\(label)-\(tag)-\($0)" }
        let drivers = names.map { Client(run: run, role: .driver, session: $0) }
        let opened = try await run.open(drivers).get()
        guard opened == sessions else { throw BenchError("only \(opened) of \(sessions) connections opened") }
        // The slow ones join sessions that are being driven, then stop reading.
        let slowClients = names.prefix(slow).map { Client(run: run, role: .slow, session: $0) }
        _ = try await run.open(slowClients, receiveBuffer: 4096).get()
        let serverBefore = server.stats()
        let clientBefore = ProcessStats.ownCPUSeconds()
        let started = ContinuousClock.now
        try await run.chat(timeout: .seconds(Int64(120 + turns * 30))).get()
        let wall = (ContinuousClock.now - started).seconds
        let client = ClientCPU(seconds: ProcessStats.ownCPUSeconds() - clientBefore, wallSeconds: wall)
        let serverCPU = server.stats().flatMap { after in serverBefore.map { after.cpuSeconds - $0.cpuSeconds } }
        return (run, client, serverCPU, wall)
    }

    private func chatRows(
        _ phase: (run: Run, client: ClientCPU, serverCPU: Double?, wall: Double),
        model: FakeModel,
        server: ServerUnderTest,
        prefix: String = ""
    ) -> [Row] {
        let run = phase.run
        let client = phase.client
        let turnCount = run.turnsCompleted + run.turnsFailed
        let modelMs = Double(model.ownTime.milliseconds)
        var rows = [
            Row(
                metric: prefix + "turns completed",
                value: Double(run.turnsCompleted),
                unit: "of \(sessions * turns)",
                clientCPU: client.text
            ),
            Row(
                metric: prefix + "turns failed or cut",
                value: Double(sessions * turns - run.turnsCompleted),
                unit: "",
                target: "0",
                met: run.turnsCompleted == sessions * turns,
                clientCPU: client.text
            ),
            Row(metric: prefix + "throughput", value: Double(turnCount) / phase.wall, unit: "turns/s", clientCPU: client.text),
            Row(metric: prefix + "fake model's own time per turn", value: modelMs, unit: "ms", clientCPU: client.text),
        ]
        rows += percentileRows(
            prefix + "turn time",
            &run.turnTimes,
            client: client,
            checked: ("p50", modelMs + 30, "≤ \(Int(modelMs + 30)) ms (model + 30)")
        )
        if let p50 = run.turnTimes.percentile(50) {
            rows.append(
                Row(
                    metric: prefix + "turn p50 over the model's time",
                    value: Double(p50) / 1000 - modelMs,
                    unit: "ms",
                    target: "≤ 30 ms",
                    met: Double(p50) / 1000 - modelMs <= 30,
                    clientCPU: client.text
                )
            )
        }
        rows += percentileRows(prefix + "time to first delta", &run.firstDelta, client: client)
        rows += percentileRows(prefix + "delivery latency", &run.latency, client: client, checked: ("p99", 5, "≤ 5 ms"))
        rows.append(Row(metric: prefix + "frames", value: Double(run.frames) / phase.wall, unit: "frames/s", clientCPU: client.text))
        if let cpu = phase.serverCPU, turnCount > 0 {
            let perTurn = cpu / Double(turnCount) * 1000
            rows.append(
                Row(
                    metric: prefix + "server CPU per turn",
                    value: perTurn,
                    unit: "ms",
                    target: "≤ 2 ms",
                    met: perTurn <= 2,
                    clientCPU: client.text
                )
            )
            rows.append(Row(metric: prefix + "server CPU", value: cpu, unit: "s", clientCPU: client.text))
        }
        if let stats = server.stats() {
            rows.append(
                Row(metric: prefix + "server peak RSS", value: Double(stats.peakRSSKiB) / 1024, unit: "MiB", clientCPU: client.text)
            )
        }
        rows.append(
            Row(
                metric: prefix + "bench CPU per turn",
                value: client.seconds / Double(max(turnCount, 1)) * 1000,
                unit: "ms",
                clientCPU: client.text
            )
        )
        rows.append(
            Row(
                metric: prefix + "foreign events",
                value: Double(run.foreign),
                unit: "",
                target: "0",
                met: run.foreign == 0,
                clientCPU: client.text
            )
        )
        for (code, count) in (run.closes["driver"] ?? [:]).sorted(by: { $0.key < $1.key }) {
            // Before the benchmark hangs up, a driver's connection ends only when the server ends it.
            rows.append(
                Row(
                    metric: prefix + "driver connections closed by the server (\(code))",
                    value: Double(count),
                    unit: "",
                    clientCPU: client.text
                )
            )
        }
        if run.unparsed > 0 {
            rows.append(Row(metric: prefix + "unreadable frames", value: Double(run.unparsed), unit: "", clientCPU: client.text))
        }
        return rows
    }

    private func byType(_ run: Run) -> [String: Samples.Summary] {
        var result: [String: Samples.Summary] = [:]
        for (type, samples) in run.latencyByType {
            var samples = samples
            result[type] = samples.summary()
        }
        return result
    }

    private func parameters(_ model: FakeModel) -> [String: String] {
        [
            "sessions": "\(sessions)", "turns": "\(turns)", "tokens": "\(tokens)", "token_interval_ms": "\(tokenIntervalMs)",
            "server": url ?? "child process",
        ]
    }

    private func chat(server: ServerUnderTest, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
        let phase = try await chatPhase(server: server, loop: loop, label: "chat")
        let rows = chatRows(phase, model: model, server: server)
        var notes = [String]()
        if !phase.run.errors.isEmpty { notes.append("errors received: \(phase.run.errors)") }
        _ = try await phase.run.closeAll().get()
        return ScenarioReport(scenario: "chat", parameters: parameters(model), rows: rows, latencyByType: byType(phase.run), notes: notes)
    }

    // MARK: slow consumer

    private func slowConsumer(server: ServerUnderTest, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
        let slowCount = Int((Double(sessions) * slowShare).rounded())
        let baseline = try await chatPhase(server: server, loop: loop, label: "base")
        _ = try await baseline.run.closeAll().get()
        let loaded = try await chatPhase(server: server, loop: loop, label: "slow", slow: slowCount)
        // Let the slow ones read again: whatever the server still sends, and how it closed them.
        let slowBefore = loaded.run.framesByRole["slow"] ?? 0
        _ = try await loop.submit { for client in loaded.run.clients where client.role == .slow { client.socket?.setReading(true) } }.get()
        try await Task.sleep(for: .seconds(3))
        let (slowFrames, closes, stillOpen) = try await loop.submit { () -> (Int, [String: Int], Int) in
            let open = loaded.run.clients.filter { $0.role == .slow && !$0.isClosed }.count
            return (loaded.run.framesByRole["slow"] ?? 0, loaded.run.closes["slow"] ?? [:], open)
        }.get()
        _ = try await loaded.run.closeAll().get()

        var rows = chatRows(baseline, model: model, server: server, prefix: "without slow: ")
        rows += chatRows(loaded, model: model, server: server, prefix: "with slow: ")
        if let before = baseline.run.latency.percentile(99), let after = loaded.run.latency.percentile(99), before > 0 {
            let change = 100 * Double(after - before) / Double(before)
            rows.append(
                Row(
                    metric: "delivery p99 change with slow consumers",
                    value: change,
                    unit: "%",
                    target: "< 10 %",
                    met: change < 10,
                    clientCPU: loaded.client.text
                )
            )
        }
        rows.append(Row(metric: "slow connections", value: Double(slowCount), unit: "", clientCPU: loaded.client.text))
        for (code, count) in closes.sorted(by: { $0.key < $1.key }) {
            rows.append(
                Row(metric: "slow connections closed with \(code)", value: Double(count), unit: "", clientCPU: loaded.client.text)
            )
        }
        rows.append(Row(metric: "slow connections still open", value: Double(stillOpen), unit: "", clientCPU: loaded.client.text))
        rows.append(
            Row(metric: "frames the slow ones read while stalled", value: Double(slowBefore), unit: "", clientCPU: loaded.client.text)
        )
        rows.append(Row(metric: "frames the slow ones read in all", value: Double(slowFrames), unit: "", clientCPU: loaded.client.text))
        var notes = [
            "slow connections join driven sessions, set a 4 KiB receive buffer and stop reading after their connection event;"
                + " after the run they read again for 3 s to see how the server closed them"
        ]
        for (label, phase) in [("without slow", baseline), ("with slow", loaded)] where !phase.run.errors.isEmpty {
            notes.append("\(label): error events received: \(phase.run.errors)")
        }
        var parameters = parameters(model)
        parameters["slow_share"] = "\(slowShare)"
        parameters["outbox_capacity"] = url == nil ? "\(outboxCapacity)" : "server's own"
        return ScenarioReport(
            scenario: "slow-consumer",
            parameters: parameters,
            rows: rows,
            latencyByType: nil,
            notes: notes
        )
    }

    // MARK: idle

    private func idle(server: ServerUnderTest, loop: any EventLoop) async throws -> ScenarioReport {
        let run = Run(loop: loop, host: server.host, port: server.port)
        var notes: [String] = []
        let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        if let range, range.count == 2, range[1] - range[0] + 1 < connections {
            notes.append(
                "only \(range[1] - range[0] + 1) loopback ports (net.ipv4.ip_local_port_range) for \(self.connections) connections"
            )
        }
        // Each socket is a descriptor here as well as in the server; keep some for /proc reads.
        let connections = min(self.connections, openFileLimit() - 128)
        if connections < self.connections {
            notes.append(
                "opening \(connections) instead of \(self.connections) connections: the open-file limit (\(openFileLimit())) "
                    + "holds no more in this process or the server's, and could not be raised"
            )
        }
        // One connection first, so that the server's one-off costs are in the baseline.
        _ = try await run.open([Client(run: run, role: .idle, session: "bench-idle-warmup")]).get()
        try await Task.sleep(for: .seconds(1))
        let before = server.stats()
        let clientBefore = ProcessStats.ownCPUSeconds()
        let started = ContinuousClock.now
        let tag = runTag
        let sessionCount = max(1, idleSessions ?? connections)
        let clients = (0..<connections).map { Client(run: run, role: .idle, session: "bench-idle-\(tag)-\($0 % sessionCount)") }
        let opened = try await run.open(clients, window: 512).get()
        let openWall = (ContinuousClock.now - started).seconds
        let openCPU = ClientCPU(seconds: ProcessStats.ownCPUSeconds() - clientBefore, wallSeconds: openWall)
        try await Task.sleep(for: .seconds(2))
        let loadedStats = server.stats()
        let holdCPUBefore = ProcessStats.ownCPUSeconds()
        try await Task.sleep(for: .seconds(holdSeconds))
        let after = server.stats()
        let holdCPU = ClientCPU(seconds: ProcessStats.ownCPUSeconds() - holdCPUBefore, wallSeconds: Double(holdSeconds))
        let held = try await loop.submit { clients.filter { $0.isReady && !$0.isClosed }.count }.get()
        let foreign = try await loop.submit { run.foreign }.get()
        _ = try await run.closeAll().get()

        var rows = [
            Row(metric: "connections opened", value: Double(opened), unit: "of \(connections)", clientCPU: openCPU.text),
            Row(metric: "time to open them", value: openWall, unit: "s", clientCPU: openCPU.text),
            Row(
                metric: "connections held after \(holdSeconds) s",
                value: Double(held),
                unit: "",
                target: "\(connections)",
                met: held == connections,
                clientCPU: holdCPU.text
            ),
        ]
        if let before, let loadedStats, let after {
            let perConnection = Double(max(loadedStats.rssKiB, after.rssKiB) - before.rssKiB) * 1024 / Double(max(opened, 1))
            rows += [
                Row(metric: "server RSS before", value: Double(before.rssKiB) / 1024, unit: "MiB", clientCPU: openCPU.text),
                Row(metric: "server RSS holding them", value: Double(after.rssKiB) / 1024, unit: "MiB", clientCPU: holdCPU.text),
                Row(
                    metric: "server RSS per connection",
                    value: perConnection / 1000,
                    unit: "KB",
                    target: "≤ 10 KB",
                    met: perConnection <= 10_000,
                    clientCPU: holdCPU.text
                ),
                Row(metric: "server peak RSS", value: Double(after.peakRSSKiB) / 1024, unit: "MiB", clientCPU: holdCPU.text),
                Row(
                    metric: "server CPU opening them",
                    value: loadedStats.cpuSeconds - before.cpuSeconds,
                    unit: "s",
                    clientCPU: openCPU.text
                ),
                Row(
                    metric: "server CPU while holding",
                    value: after.cpuSeconds - loadedStats.cpuSeconds,
                    unit: "s",
                    clientCPU: holdCPU.text
                ),
            ]
        }
        rows.append(
            Row(metric: "foreign events", value: Double(foreign), unit: "", target: "0", met: foreign == 0, clientCPU: holdCPU.text)
        )
        notes.append("RSS per connection = (RSS holding them − RSS before) / connections opened; KB = 1000 bytes")
        return ScenarioReport(
            scenario: "idle",
            parameters: [
                "connections": "\(connections)", "sessions": "\(min(connections, idleSessions ?? connections))",
                "hold_seconds": "\(holdSeconds)", "server": url ?? "child process",
            ],
            rows: rows,
            latencyByType: nil,
            notes: notes
        )
    }

    // MARK: replay

    private static let replaySession = "bench-replay-session"

    /// Writes `events` events of one session to the server's event store before it starts:
    /// one turn's worth of frames repeated, as the hub would have stored them.
    private func seedReplay(directory: URL) async throws {
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite").path)
        guard let session = SessionID(Self.replaySession) else { return }
        var batch: [StoredEvent] = []
        var stamp = Timestamp.now().microseconds - Int64(events) * 1000
        for seq in 1...Int64(events) {
            let turn = "turn-\((seq - 1) / 50)"
            let payload: EventPayload
            switch (seq - 1) % 50 {
            case 0: payload = .user(content: "Find the patients named Smith.", clientMessageID: "m-\(seq)")
            case 49:
                payload = .assistant(
                    AssistantEvent(
                        content: String(repeating: "The patient is stable. ", count: 8),
                        streaming: false,
                        messageID: "msg-\(turn)"
                    )
                )
            default: payload = .assistant(AssistantEvent(content: "stable ", streaming: true, messageID: "msg-\(turn)"))
            }
            stamp += 1000
            let event = ServerEvent(sessionID: session, seq: seq, timestamp: Timestamp(microseconds: stamp), turnID: turn, payload: payload)
            batch.append(event.stored(json: event.json))
            if batch.count == 1000 {
                try await store.append(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { try await store.append(batch) }
    }

    private func replay(server: ServerUnderTest, loop: any EventLoop) async throws -> ScenarioReport {
        var session = Self.replaySession
        var through = Int64(events)
        var notes: [String] = []
        if url != nil {
            // A running server: make the history by running turns in one session.
            let run = Run(loop: loop, host: server.host, port: server.port)
            session = "bench-replay-\(runTag)"
            let driver = Client(run: run, role: .driver, session: session)
            _ = try await run.open([driver]).get()
            run.turnsPerSession = max(1, (events + 49) / 50)
            try await run.chat(timeout: .seconds(Int64(60 + run.turnsPerSession * 10))).get()
            let made = try await loop.submit { run.highestSeq }.get()
            through = made
            notes.append("history made by running turns: \(made) events")
            _ = try await run.closeAll().get()
        }
        var times = Samples()
        var clientCPU = 0.0
        var serverCPU = 0.0
        var foreign = 0
        var wall = 0.0
        for _ in 0..<replays {
            let run = Run(loop: loop, host: server.host, port: server.port)
            run.recordsLatency = false
            let client = Client(run: run, role: .replay, session: session, lastSeq: 0)
            let serverBefore = server.stats()
            let clientBefore = ProcessStats.ownCPUSeconds()
            let micros = try await run.replay(client, through: through, timeout: .seconds(60)).get()
            clientCPU += ProcessStats.ownCPUSeconds() - clientBefore
            if let before = serverBefore, let after = server.stats() { serverCPU += after.cpuSeconds - before.cpuSeconds }
            wall += Double(micros) / 1_000_000
            times.record(micros)
            foreign += try await loop.submit { run.foreign }.get()
            _ = try await run.closeAll().get()
        }
        let client = ClientCPU(seconds: clientCPU, wallSeconds: wall)
        var rows = [Row(metric: "events replayed per reconnect", value: Double(through), unit: "", clientCPU: client.text)]
        rows += percentileRows("replay time (connect → last event)", &times, client: client, checked: ("p50", 100, "≤ 100 ms"))
        if let p50 = times.percentile(50), p50 > 0 {
            rows.append(
                Row(
                    metric: "replay rate at p50",
                    value: Double(through) / (Double(p50) / 1_000_000),
                    unit: "events/s",
                    clientCPU: client.text
                )
            )
        }
        if server.pid != nil {
            rows.append(Row(metric: "server CPU per replay", value: serverCPU / Double(replays) * 1000, unit: "ms", clientCPU: client.text))
        }
        rows.append(Row(metric: "foreign events", value: Double(foreign), unit: "", target: "0", met: foreign == 0, clientCPU: client.text))
        return ScenarioReport(
            scenario: "replay",
            parameters: ["events": "\(events)", "replays": "\(replays)", "server": url ?? "child process"],
            rows: rows,
            latencyByType: nil,
            notes: notes
        )
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
