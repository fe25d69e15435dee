/// One line of a results table: Bedside's figure and, when the floor ran in the same run, the
/// floor's figure for the same metric beside it.
public struct Row: Codable, Sendable, Equatable {
    public var metric: String
    /// Bedside's figure; nil when it has none (a step only the floor ran).
    public var value: Double?
    public var unit: String
    /// The target Bedside's figure is held to, as text.
    public var target: String?
    /// Whether Bedside's figure meets the target (and, with ``ratioLimit``, the ratio its limit).
    public var met: Bool?
    /// The bench process's own CPU in the phase Bedside's figure comes from.
    public var clientCPU: String
    /// Whether the table shows Bedside / floor for this figure.
    public var compared: Bool
    /// The largest Bedside / floor ratio the target allows, when the target is one.
    public var ratioLimit: Double?
    /// The floor's figure for the same metric, measured in the same run.
    public var floor: Double?
    /// The bench process's own CPU in the phase the floor's figure comes from.
    public var floorClientCPU: String?
    /// Bedside's figure over the floor's, for compared figures both have (see ``FloorComparison/ratio(_:_:)``).
    public var ratio: Double?

    public init(
        metric: String,
        value: Double?,
        unit: String,
        target: String? = nil,
        met: Bool? = nil,
        clientCPU: String,
        compared: Bool = false,
        ratioLimit: Double? = nil
    ) {
        self.metric = metric
        self.value = value
        self.unit = unit
        self.target = target
        self.met = met
        self.clientCPU = clientCPU
        self.compared = compared
        self.ratioLimit = ratioLimit
    }
}

/// Puts the floor's figures beside Bedside's.
public enum FloorComparison {
    /// Bedside's rows, each with the floor's row of the same metric beside it (the ratio for
    /// compared figures, and the ratio's limit applied to `met`), then the rows only the floor has.
    public static func merge(_ bedside: [Row], floor: [Row]) -> [Row] {
        var floorRows: [String: Row] = [:]
        for row in floor where floorRows[row.metric] == nil { floorRows[row.metric] = row }
        let bedsideMetrics = Set(bedside.map(\.metric))
        var merged = bedside.map { row -> Row in
            var row = row
            guard let other = floorRows[row.metric] else { return row }
            row.floor = other.value
            row.floorClientCPU = other.clientCPU
            if row.compared {
                row.ratio = ratio(row.value, other.value)
                if let limit = row.ratioLimit {
                    let withinLimit = row.ratio.map { $0 <= limit } ?? false
                    row.met = (row.met ?? true) && withinLimit
                }
            }
            return row
        }
        var added = Set<String>()
        for row in floor where !bedsideMetrics.contains(row.metric) && added.insert(row.metric).inserted {
            var only = Row(metric: row.metric, value: nil, unit: row.unit, clientCPU: "", compared: row.compared)
            only.floor = row.value
            only.floorClientCPU = row.clientCPU
            merged.append(only)
        }
        return merged
    }

    /// Bedside's figure over the floor's; nil when either is missing or not finite, when the
    /// floor's is not above zero, or when Bedside's is below zero (a ratio of those says nothing).
    public static func ratio(_ bedside: Double?, _ floor: Double?) -> Double? {
        guard let bedside, let floor, bedside.isFinite, floor.isFinite, floor > 0, bedside >= 0 else { return nil }
        return bedside / floor
    }

    /// A ratio as the table prints it: `×1.42`, `×14.2`, `×142`, or `n/a`.
    public static func format(ratio: Double?) -> String {
        guard let ratio, ratio.isFinite else { return "n/a" }
        if ratio < 9.995 { return "×" + fixed(ratio, digits: 2) }
        if ratio < 99.95 { return "×" + fixed(ratio, digits: 1) }
        return "×" + fixed(ratio, digits: 0)
    }

    /// A figure as the table prints it: whole numbers without a fraction, two decimals below 10,
    /// one above.
    public static func format(figure value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if value == value.rounded() { return fixed(value, digits: 0) }
        return fixed(value, digits: abs(value) < 10 ? 2 : 1)
    }

    /// `value` rounded half away from zero to `digits` decimals, without Foundation.
    static func fixed(_ value: Double, digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 9e15 else { return String(value) }
        let units = Int64(scaled)
        let whole = units / Int64(scale)
        var text = (value < 0 && units != 0 ? "-" : "") + String(whole)
        if digits > 0 {
            let fraction = String(units % Int64(scale))
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return text
    }
}
