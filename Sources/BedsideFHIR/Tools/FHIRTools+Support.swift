import BedsideCore
import Foundation

extension FHIRTools {
    /// A patient as a model needs them: id, name, gender, birth date, and death when recorded.
    static func patientRow(_ patient: JSONValue) -> JSONValue {
        var row: [String: JSONValue] = [:]
        row["id"] = patient["id"]
        row["name"] = .string(patientName(patient))
        row["gender"] = patient["gender"]
        row["birth_date"] = patient["birthDate"]
        if let deceased = patient["deceasedDateTime"] {
            row["deceased"] = deceased
        } else if patient["deceasedBoolean"] == .bool(true) {
            row["deceased"] = .bool(true)
        }
        return .object(row)
    }

    /// The official (else first) name as "Given Family".
    static func patientName(_ patient: JSONValue) -> String {
        guard case .array(let names)? = patient["name"], !names.isEmpty else { return "(no name)" }
        let name = names.first { $0["use"]?.stringValue == "official" } ?? names[0]
        if let text = name["text"]?.stringValue { return text }
        var parts: [String] = []
        if case .array(let given)? = name["given"] { parts += given.compactMap(\.stringValue) }
        if let family = name["family"]?.stringValue { parts.append(family) }
        return parts.isEmpty ? "(no name)" : parts.joined(separator: " ")
    }

    /// The patient id a resource refers to through `subject` or `patient`.
    static func patientReference(of resource: JSONValue) -> String? {
        for key in ["subject", "patient"] {
            if let reference = resource[key]?["reference"]?.stringValue, reference.hasPrefix("Patient/") {
                return String(reference.dropFirst("Patient/".count))
            }
        }
        return nil
    }

    /// The newest resource of each code, from resources sorted newest first.
    static func latestPerCode(_ resources: [JSONValue]) -> [JSONValue] {
        var seen: Set<String> = []
        var latest: [JSONValue] = []
        for resource in resources {
            let key = resource["code"].flatMap(CompactResource.code) ?? resource["id"]?.stringValue ?? ""
            if seen.insert(key).inserted { latest.append(resource) }
        }
        return latest
    }

    /// First, last, lowest and highest numeric value of rows sorted oldest first, the change
    /// and its direction; nil with fewer than one numeric value.
    static func trend(_ rows: [JSONValue]) -> JSONValue? {
        let points = rows.compactMap { row -> (Double, JSONValue)? in
            guard let value = CompactResource.number(row["value"]) else { return nil }
            return (value, row)
        }
        guard let first = points.first, let last = points.last else { return nil }
        let values = points.map(\.0)
        let change = last.0 - first.0
        let scale = max(abs(first.0), 1e-9)
        let direction: String
        if points.count < 2 {
            direction = "single value"
        } else if abs(change) / scale < 0.05 {
            direction = "stable"
        } else {
            direction = change > 0 ? "rising" : "falling"
        }
        return .object([
            "first": .object(["value": .number(first.0), "date": first.1["date"] ?? .null]),
            "last": .object(["value": .number(last.0), "date": last.1["date"] ?? .null]),
            "min": .number(values.min() ?? first.0),
            "max": .number(values.max() ?? first.0),
            "change": .number((change * 1000).rounded() / 1000),
            "direction": .string(direction),
        ])
    }

    /// The canonical spelling of a clinical type, accepting any letter case.
    static func clinicalType(_ name: String) -> String? {
        clinicalTypes.first { $0.lowercased() == name.lowercased() }
    }
}

/// A tool call's arguments, read with messages a model can act on.
struct ToolArguments {
    let value: JSONValue

    init(_ value: JSONValue) {
        self.value = value
    }

    /// A problem with the arguments, reported to the model as the tool's (error) result.
    struct Problem: Error {
        var message: String
    }

    /// The trimmed string `key`, nil when absent, null or empty; throws when it is not a string.
    func string(_ key: String) throws -> String? {
        switch value[key] {
        case nil, .null?: return nil
        case .string(let text)?:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            return trimmed.isEmpty ? nil : trimmed
        case .integer(let number)?: return String(number)
        case let other?: throw Problem(message: "\(key) must be a string, not a \(other.typeName).")
        }
    }

    /// `patient_id`, required; a `Patient/` prefix is accepted.
    func patientID() throws -> String {
        guard var id = try string("patient_id") else {
            throw Problem(message: "Give patient_id (find it with find_patients).")
        }
        if id.hasPrefix("Patient/") { id.removeFirst("Patient/".count) }
        guard FHIRIdentifier.isValid(id) else { throw Problem(message: Self.idRule("patient_id", id)) }
        return id
    }

    /// The message for an argument that is no FHIR id.
    static func idRule(_ key: String, _ value: String) -> String {
        "\(key) must be a FHIR id (1 to 64 letters, digits, '-' and '.', not dots alone), not '\(value.prefix(80))'."
    }

    /// `count` between 1 and 100, else `fallback`.
    func count(default fallback: Int) throws -> Int {
        guard let raw = value["count"], raw != .null else { return fallback }
        guard let count = raw.integerValue, (1...100).contains(count) else {
            throw Problem(message: "count must be a whole number from 1 to 100.")
        }
        return Int(count)
    }
}
