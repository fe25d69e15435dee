import BedsideBenchCore
import Foundation

/// The CPU the benchmark process itself (WebSocket clients and fake model) spent in a phase.
struct ClientCPU: Codable, Sendable {
    var seconds: Double
    var wallSeconds: Double

    var text: String {
        guard wallSeconds > 0 else { return String(format: "%.2f s", seconds) }
        return String(format: "%.2f s (%.0f%% of a core)", seconds, 100 * seconds / wallSeconds)
    }
}

/// One line of the results table.
struct Row: Codable, Sendable {
    var metric: String
    var value: Double?
    var unit: String
    var target: String?
    var met: Bool?
    /// The bench process's own CPU in the phase this figure comes from.
    var clientCPU: String
}

/// One scenario's results.
struct ScenarioReport: Codable, Sendable {
    var scenario: String
    var parameters: [String: String]
    var rows: [Row]
    var latencyByType: [String: Samples.Summary]?
    var notes: [String]

    var targetsMet: Bool { rows.allSatisfy { $0.met != false } }

    func printTable() {
        print("\n== \(scenario)  " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        let header = ["metric", "value", "target", "met", "bench CPU (client + fake model)"]
        let lines = rows.map { row -> [String] in
            [
                row.metric,
                row.value.map { format($0) + (row.unit.isEmpty ? "" : " \(row.unit)") } ?? "n/a",
                row.target ?? "",
                row.met.map { $0 ? "yes" : "NO" } ?? "",
                row.clientCPU,
            ]
        }
        var widths = header.map(\.count)
        for line in lines { for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) } }
        func show(_ cells: [String]) {
            print(
                cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(
                    separator: " | "
                )
            )
        }
        show(header)
        print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "-|-"))
        for line in lines { show(line) }
        if let latencyByType, !latencyByType.isEmpty {
            print("delivery latency by event type (ms): type count p50 p95 p99 max")
            for (type, summary) in latencyByType.sorted(by: { $0.key < $1.key }) {
                print(
                    "  \(type.padding(toLength: 16, withPad: " ", startingAt: 0)) \(summary.count) "
                        + [summary.p50, summary.p95, summary.p99, summary.max].map { format(Double($0) / 1000) }.joined(separator: " ")
                )
            }
        }
        for note in notes { print("note: \(note)") }
    }

    private func format(_ value: Double) -> String {
        if value == value.rounded() { return String(format: "%.0f", value) }
        return String(format: abs(value) < 10 ? "%.2f" : "%.1f", value)
    }
}

/// Adds p50/p95/p99/max rows (in ms) of `samples`; the target, when given, applies to `checked`.
func percentileRows(
    _ name: String,
    _ samples: inout Samples,
    client: ClientCPU,
    checked: (percentile: String, limitMs: Double, label: String)? = nil
) -> [Row] {
    guard let summary = samples.summary() else {
        return [Row(metric: "\(name) (no samples)", value: nil, unit: "", clientCPU: client.text)]
    }
    let values: [(String, Int64)] = [("p50", summary.p50), ("p95", summary.p95), ("p99", summary.p99), ("max", summary.max)]
    return values.map { label, micros in
        let ms = Double(micros) / 1000
        var row = Row(metric: "\(name) \(label)", value: ms, unit: "ms", clientCPU: client.text)
        if let checked, checked.percentile == label {
            row.target = checked.label
            row.met = ms <= checked.limitMs
        }
        return row
    }
}
