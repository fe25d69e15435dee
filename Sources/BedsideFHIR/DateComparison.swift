/// A date search value (`ge2019-05`) as the FHIR R4 search specification compares ranges.
///
/// A stored value is a range [start, end] and so is the searched one, a partial date naming the
/// whole period it covers. `eq` asks the stored range to lie within the searched one; `gt` and
/// `lt` ask it to reach past either end; `ge` and `le` accept either; `sa` and `eb` ask for it to
/// start after or end before; `ap` (approximately) is read as "overlaps".
struct DateComparison {
    enum Prefix: String, CaseIterable { case eq, ne, gt, lt, ge, le, sa, eb, ap }

    let prefix: Prefix
    let range: ClosedRange<Int64>

    init(_ value: String, parameter: String) throws {
        let letters = String(value.prefix(2))
        if let prefix = Prefix(rawValue: letters) {
            self.prefix = prefix
        } else {
            prefix = .eq
        }
        let date = Prefix(rawValue: letters) == nil ? value : String(value.dropFirst(2))
        guard let range = FHIRDate.range(date) else {
            throw FHIRStoreError(
                .invalidValue,
                "'\(value)' is not a date for \(parameter): use an optional prefix (eq, ne, gt, lt, ge, le, sa, eb, ap) and yyyy, yyyy-MM, yyyy-MM-dd or a dateTime."
            )
        }
        self.range = range
    }

    /// The condition over the stored range's `start` and `end` columns; two arguments (searched start and end) per use.
    func sql(start: String, end: String) -> String {
        // Markers are positional: `order` says which is the searched start and which the end.
        let within = "(\(start) >= ? AND \(end) <= ?)"
        return switch prefix {
        case .eq: within
        case .ne: "NOT \(within)"
        case .gt: "\(end) > ?"
        case .lt: "\(start) < ?"
        case .ge: "(\(end) > ? OR \(within))"
        case .le: "(\(start) < ? OR \(within))"
        case .sa: "\(start) > ?"
        case .eb: "\(end) < ?"
        case .ap: "(\(start) <= ? AND \(end) >= ?)"
        }
    }

    /// The arguments for ``sql(start:end:)`` in marker order.
    var arguments: [SearchArgument] { order.map { .integer($0 ? range.lowerBound : range.upperBound) } }

    /// The arguments as ISO text, for comparing `last_updated`.
    var lexicalArguments: [SearchArgument] { order.map { .text(FHIRDate.iso($0 ? range.lowerBound : range.upperBound)) } }

    /// For each marker in the condition, whether it is the searched start (true) or end (false).
    private var order: [Bool] {
        switch prefix {
        case .eq, .ne: [true, false]
        case .gt: [false]
        case .lt: [true]
        case .ge: [false, true, false]
        case .le: [true, true, false]
        case .sa: [false]
        case .eb: [true]
        case .ap: [false, true]
        }
    }
}
