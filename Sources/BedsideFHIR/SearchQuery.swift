/// A value bound to one `?` marker of a search's SQL.
///
/// Kept apart from GRDB's `DatabaseValue` so that a search is planned without the database
/// (the store binds it in `FHIRStore+Search.swift`; the fuzz target `fhir-search` plans alone).
enum SearchArgument: Sendable, Equatable {
    case text(String)
    case integer(Int64)
}

/// A FHIR search turned into SQL over the `resource` table and its search rows.
///
/// Repeating a parameter ANDs its conditions; commas inside one value OR them, as FHIR specifies.
struct SearchQuery: Sendable {
    static let defaultCount = 50
    static let maximumCount = 500

    let type: String
    private(set) var conditions: [String] = []
    /// The values bound to the `?` markers of ``whereClause``, in order.
    private(set) var arguments: [SearchArgument] = []
    private(set) var order: [String] = []
    private(set) var count = defaultCount
    private(set) var offset = 0
    private let catalog: SearchParameterCatalog

    init(type: String, parameters: [(name: String, value: String)]) throws {
        guard let first = type.first, first.isUppercase, type.allSatisfy({ $0.isLetter && $0.isASCII }) else {
            throw FHIRStoreError(.invalidValue, "'\(type)' is not a FHIR resource type.")
        }
        self.type = type
        catalog = SearchParameterCatalog.of(type)
        conditions.append("r.type = ?")
        arguments.append(.text(type))
        for (name, value) in parameters {
            try add(name: name, value: value)
        }
    }

    private mutating func add(name: String, value: String) throws {
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        let base = parts.first ?? name
        let modifier = parts.count > 1 ? parts[1] : nil
        switch base {
        case "_count":
            count = min(try Self.integer(name, value), Self.maximumCount)
        case "_offset":
            offset = try Self.integer(name, value)
        case "_sort":
            order = try value.split(separator: ",").map { try sortTerm(String($0)) }
        case "_id":
            try noModifier(name, modifier)
            let ids = Self.values(value)
            conditions.append("r.id IN (\(Self.marks(ids.count)))")
            arguments += ids.map(SearchArgument.text)
        case "_lastUpdated":
            try noModifier(name, modifier)
            let comparison = try DateComparison(value, parameter: name)
            conditions.append(comparison.sql(start: "r.last_updated", end: "r.last_updated"))
            arguments += comparison.lexicalArguments
        case "patient" where type != "Patient", "subject" where type != "Patient":
            try noModifier(name, modifier)
            let ids = Self.values(value).map { $0.hasPrefix("Patient/") ? String($0.dropFirst(8)) : $0 }
            if Self.values(value).contains(where: { $0.contains("/") && !$0.hasPrefix("Patient/") }) {
                conditions.append("0")  // Group or Device subjects are never stored as a patient_id
            } else {
                conditions.append("r.patient_id IN (\(Self.marks(ids.count)))")
                arguments += ids.map(SearchArgument.text)
            }
        default:
            guard let parameter = catalog.parameter(named: base) else {
                let known = ["_id", "_lastUpdated", "_count", "_offset", "_sort"] + (type == "Patient" ? [] : ["patient", "subject"])
                throw FHIRStoreError(
                    .unknownParameter,
                    "\(type) has no search parameter '\(name)'. Supported: \((known + catalog.names).joined(separator: ", "))."
                )
            }
            try add(parameter, modifier: modifier, name: name, value: value)
        }
    }

    private mutating func add(_ parameter: SearchParameter, modifier: String?, name: String, value: String) throws {
        let values = Self.values(value)
        guard !values.isEmpty else { throw FHIRStoreError(.invalidValue, "The parameter '\(name)' has no value.") }
        switch parameter.kind {
        case .string:
            // FHIR string search: "starts with" on the normalized form unless a modifier says otherwise.
            let test: String
            let pattern: (String) -> String
            switch modifier {
            case nil: (test, pattern) = ("s.value LIKE ? ESCAPE '\\'", { Self.likeEscaped(FHIRText.normalize($0)) + "%" })
            case "contains": (test, pattern) = ("s.value LIKE ? ESCAPE '\\'", { "%" + Self.likeEscaped(FHIRText.normalize($0)) + "%" })
            case "exact": (test, pattern) = ("s.raw = ?", { $0 })
            default: throw Self.badModifier(name, modifier)
            }
            conditions.append(
                "EXISTS (SELECT 1 FROM search_string s WHERE s.type = r.type AND s.id = r.id AND s.param = ? AND (\(Array(repeating: test, count: values.count).joined(separator: " OR "))))"
            )
            arguments.append(.text(parameter.name))
            arguments += values.map { .text(pattern($0)) }
        case .token:
            try noModifier(name, modifier)
            var tests: [String] = []
            for value in values {
                guard let bar = value.firstIndex(of: "|") else {
                    tests.append("t.code = ?")
                    arguments.append(.text(value))
                    continue
                }
                let system = String(value[..<bar])
                let code = String(value[value.index(after: bar)...])
                switch (system.isEmpty, code.isEmpty) {
                case (true, _):
                    tests.append("(t.system IS NULL AND t.code = ?)")
                    arguments.append(.text(code))
                case (false, true):
                    tests.append("t.system = ?")
                    arguments.append(.text(system))
                case (false, false):
                    tests.append("(t.system = ? AND t.code = ?)")
                    arguments += [.text(system), .text(code)]
                }
            }
            conditions.append(
                "EXISTS (SELECT 1 FROM search_token t WHERE t.type = r.type AND t.id = r.id AND t.param = '\(parameter.name)' AND (\(tests.joined(separator: " OR "))))"
            )
        case .date:
            try noModifier(name, modifier)
            let comparisons = try values.map { try DateComparison($0, parameter: name) }
            conditions.append(
                "EXISTS (SELECT 1 FROM search_date d WHERE d.type = r.type AND d.id = r.id AND d.param = '\(parameter.name)' AND (\(comparisons.map { $0.sql(start: "d.start", end: "d.\"end\"") }.joined(separator: " OR "))))"
            )
            for comparison in comparisons { arguments += comparison.arguments }
        }
    }

    private func sortTerm(_ term: String) throws -> String {
        let descending = term.hasPrefix("-")
        let name = descending ? String(term.dropFirst()) : term
        let direction = descending ? "DESC" : "ASC"
        switch name {
        case "_id": return "r.id \(direction)"
        case "_lastUpdated": return "r.last_updated \(direction)"
        default:
            guard let parameter = catalog.parameter(named: name) else {
                throw FHIRStoreError(.unknownParameter, "\(type) cannot be sorted by '\(name)'.")
            }
            let key =
                switch parameter.kind {
                case .date: "(SELECT MIN(start) FROM search_date d WHERE d.type = r.type AND d.id = r.id AND d.param = '\(parameter.name)')"
                case .string:
                    "(SELECT MIN(value) FROM search_string s WHERE s.type = r.type AND s.id = r.id AND s.param = '\(parameter.name)')"
                case .token:
                    "(SELECT MIN(code) FROM search_token t WHERE t.type = r.type AND t.id = r.id AND t.param = '\(parameter.name)')"
                }
            // Resources without the value sort last either way.
            return "\(key) IS NULL, \(key) \(direction)"
        }
    }

    var whereClause: String { conditions.joined(separator: " AND ") }

    /// The `_offset` of the page after this one when `total` resources match; nil on the last page.
    ///
    /// `_offset` may be any whole number, `Int.max` included: a page that ends past the largest
    /// offset is the last one.
    func nextOffset(total: Int) -> Int? {
        let (next, overflow) = offset.addingReportingOverflow(count)
        return count > 0 && !overflow && next < total ? next : nil
    }
    var orderClause: String { (order + ["r.id ASC"]).joined(separator: ", ") }

    private func noModifier(_ name: String, _ modifier: String?) throws {
        if modifier != nil { throw Self.badModifier(name, modifier) }
    }

    private static func badModifier(_ name: String, _ modifier: String?) -> FHIRStoreError {
        FHIRStoreError(.unknownParameter, "The modifier ':\(modifier ?? "")' of '\(name)' is not supported.")
    }

    private static func integer(_ name: String, _ value: String) throws -> Int {
        guard let number = Int(value), number >= 0 else {
            throw FHIRStoreError(.invalidValue, "\(name) must be a whole number of 0 or more, not '\(value)'.")
        }
        return number
    }

    /// The comma-separated alternatives of a value; `\,` is a literal comma.
    static func values(_ value: String) -> [String] {
        var result: [String] = []
        var current = ""
        var escaped = false
        for character in value {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "," {
                result.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        result.append(current)
        return result.filter { !$0.isEmpty }
    }

    private static func marks(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    private static func likeEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
