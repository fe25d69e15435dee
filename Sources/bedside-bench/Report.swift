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

/// One scenario's results: Bedside's figures, with the floor's beside them when it ran.
struct ScenarioReport: Codable, Sendable {
    var scenario: String
    var parameters: [String: String]
    var rows: [Row]
    var latencyByType: [String: Samples.Summary]?
    var notes: [String]
    /// Whether the floor server ran in the same run (its figures are in ``rows``).
    var floorRan = false
    /// The floor's delivery latency by event type.
    var floorLatencyByType: [String: Samples.Summary]?

    var targetsMet: Bool { rows.allSatisfy { $0.met != false } }

    /// This report (Bedside's) with `floor`'s figures beside each of its rows.
    func comparing(floor: ScenarioReport) -> ScenarioReport {
        var merged = self
        merged.rows = FloorComparison.merge(rows, floor: floor.rows)
        merged.floorRan = true
        merged.floorLatencyByType = floor.latencyByType
        merged.notes += floor.notes.filter { !notes.contains($0) }.map { "floor: \($0)" }
        return merged
    }

    func printTable() {
        print("\n== \(scenario)  " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
        let header =
            floorRan
            ? ["metric", "Bedside", "floor", "Bedside/floor", "target", "met", "bench CPU (Bedside run)", "bench CPU (floor run)"]
            : ["metric", "value", "target", "met", "bench CPU (client + fake model)"]
        let lines = rows.map { row -> [String] in
            let value = figure(row.value, row.unit)
            let verdict = [row.target ?? "", row.met.map { $0 ? "yes" : "NO" } ?? ""]
            guard floorRan else { return [row.metric, value] + verdict + [row.clientCPU] }
            let ratio = row.compared && row.value != nil && row.floor != nil ? FloorComparison.format(ratio: row.ratio) : ""
            return [row.metric, value, figure(row.floor, row.unit), ratio] + verdict + [row.clientCPU, row.floorClientCPU ?? ""]
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
        for (label, byType) in [("", latencyByType), ("floor's ", floorLatencyByType)] {
            guard let byType, !byType.isEmpty else { continue }
            print("\(label)delivery latency by event type (ms): type count p50 p95 p99 max")
            for (type, summary) in byType.sorted(by: { $0.key < $1.key }) {
                print(
                    "  \(type.padding(toLength: 16, withPad: " ", startingAt: 0)) \(summary.count) "
                        + [summary.p50, summary.p95, summary.p99, summary.max].map { FloorComparison.format(figure: Double($0) / 1000) }
                        .joined(separator: " ")
                )
            }
        }
        for note in notes { print("note: \(note)") }
    }

    private func figure(_ value: Double?, _ unit: String) -> String {
        guard let value else { return "" }
        return FloorComparison.format(figure: value) + (unit.isEmpty ? "" : " \(unit)")
    }
}

/// Adds p50/p95/p99/max rows (in ms) of `samples`; the target, when given, applies to `checked`,
/// and the percentiles in `compared` are shown against the floor's.
func percentileRows(
    _ name: String,
    _ samples: inout Samples,
    client: ClientCPU,
    checked: (percentile: String, limitMs: Double, label: String)? = nil,
    compared: Set<String> = []
) -> [Row] {
    guard let summary = samples.summary() else {
        return [Row(metric: "\(name) (no samples)", value: nil, unit: "", clientCPU: client.text)]
    }
    let values: [(String, Int64)] = [("p50", summary.p50), ("p95", summary.p95), ("p99", summary.p99), ("max", summary.max)]
    return values.map { label, micros in
        let ms = Double(micros) / 1000
        var row = Row(metric: "\(name) \(label)", value: ms, unit: "ms", clientCPU: client.text, compared: compared.contains(label))
        if let checked, checked.percentile == label {
            row.target = checked.label
            row.met = ms <= checked.limitMs
        }
        return row
    }
}
