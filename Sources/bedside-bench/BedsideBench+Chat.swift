import ArgumentParser
import BedsideBenchCore
import BedsideCore
import BedsideProtocol
import BedsideStore
import BedsideTestSupport
import Foundation
import NIOCore
import NIOPosix

/// One chat run's clients and what it cost.
struct ChatPhase {
    var run: Run
    /// The bench process's own CPU during the turns.
    var client: ClientCPU
    /// The server's CPU seconds during the turns, when it can be read.
    var serverCPU: Double?
    var wall: Double
    var sessions: Int
    var turns: Int
}

/// The chat scenario.
extension BedsideBench {
    /// Runs `sessions` sessions of `turns` turns (by default the options'), plus `slow` extra
    /// non-reading connections.
    func chatPhase(
        server: ServerUnderTest,
        loop: any EventLoop,
        label: String,
        sessions: Int? = nil,
        turns: Int? = nil,
        slow: Int = 0
    ) async throws -> ChatPhase {
        let sessions = sessions ?? self.sessions
        let turns = turns ?? self.turns
        let run = Run(loop: loop, host: server.host, port: server.port)
        run.turnsPerSession = turns
        let tag = runTag
        let names = (0..<sessions).map { "bench-\(label)-\(tag)-\($0)" }
        let drivers = names.map { Client(run: run, role: .driver, session: $0) }
        do {
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
            return ChatPhase(run: run, client: client, serverCPU: serverCPU, wall: wall, sessions: sessions, turns: turns)
        } catch {
            _ = try? await run.closeAll().get()
            throw error
        }
    }

    func chatRows(_ phase: ChatPhase, model: FakeModel, server: ServerUnderTest, prefix: String = "") -> [Row] {
        let (sessions, turns) = (phase.sessions, phase.turns)
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
            Row(
                metric: prefix + "throughput",
                value: Double(turnCount) / phase.wall,
                unit: "turns/s",
                clientCPU: client.text,
                compared: true
            ),
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
                    clientCPU: client.text,
                    compared: true
                )
            )
        }
        rows += percentileRows(prefix + "time to first delta", &run.firstDelta, client: client)
        rows += percentileRows(
            prefix + "delivery latency",
            &run.latency,
            client: client,
            checked: ("p99", 5, "≤ 5 ms"),
            compared: ["p99"]
        )
        rows.append(Row(metric: prefix + "frames", value: Double(run.frames) / phase.wall, unit: "frames/s", clientCPU: client.text))
        if let cpu = phase.serverCPU, turnCount > 0 {
            let perTurn = cpu / Double(turnCount) * 1000
            rows.append(
                Row(
                    metric: prefix + "server CPU per turn",
                    value: perTurn,
                    unit: "ms",
                    target: runsFloor ? "≤ 2 ms, ≤ ×1.5 floor" : "≤ 2 ms",
                    met: perTurn <= 2,
                    clientCPU: client.text,
                    compared: true,
                    ratioLimit: 1.5
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

    func byType(_ run: Run) -> [String: Samples.Summary] {
        var result: [String: Samples.Summary] = [:]
        for (type, samples) in run.latencyByType {
            var samples = samples
            result[type] = samples.summary()
        }
        return result
    }

    func parameters(_ model: FakeModel) -> [String: String] {
        [
            "sessions": "\(sessions)", "turns": "\(turns)", "tokens": "\(tokens)", "token_interval_ms": "\(tokenIntervalMs)",
            "server": url ?? "child process",
        ]
    }

    func chat(server: ServerUnderTest, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
        let phase = try await chatPhase(server: server, loop: loop, label: "chat")
        let rows = chatRows(phase, model: model, server: server)
        var notes = [String]()
        if !phase.run.errors.isEmpty { notes.append("errors received: \(phase.run.errors)") }
        _ = try await phase.run.closeAll().get()
        return ScenarioReport(scenario: "chat", parameters: parameters(model), rows: rows, latencyByType: byType(phase.run), notes: notes)
    }
}
