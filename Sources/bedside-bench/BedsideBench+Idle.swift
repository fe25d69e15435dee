import ArgumentParser
import BedsideBenchCore
import BedsideCore
import BedsideProtocol
import BedsideStore
import BedsideTestSupport
import Foundation
import NIOCore
import NIOPosix

/// The idle scenario.
extension BedsideBench {
    func idle(server: ServerUnderTest, loop: any EventLoop) async throws -> ScenarioReport {
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
                    clientCPU: holdCPU.text,
                    compared: true
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
}
