import ArgumentParser
import BedsideBenchCore
import BedsideCore
import BedsideProtocol
import BedsideStore
import BedsideTestSupport
import Foundation
import NIOCore
import NIOPosix

/// The slow consumer scenario.
extension BedsideBench {
    func slowConsumer(server: ServerUnderTest, loop: any EventLoop, model: FakeModel) async throws -> ScenarioReport {
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
}
