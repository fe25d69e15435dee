public import BedsideCore

/// The few fields of a FHIR resource that a model (or a person scanning a table) needs: its
/// reference, date, code and display, value and status. Everything else is left out.
public enum CompactResource {
    /// `Type/id` of a resource, or nil when it has no type or id.
    public static func reference(_ resource: JSONValue) -> String? {
        guard let type = resource["resourceType"]?.stringValue, let id = resource["id"]?.stringValue else { return nil }
        return "\(type)/\(id)"
    }

    /// One compact row: `ref`, `date`, `display`, `code` (`system|code`), `value`, `unit`, `status`,
    /// each only when the resource has it.
    public static func row(_ resource: JSONValue) -> JSONValue {
        let type = resource["resourceType"]?.stringValue ?? ""
        var row: [String: JSONValue] = [:]
        row["ref"] = reference(resource).map(JSONValue.string)
        if let date = date(of: resource, type: type) { row["date"] = .string(date) }
        if let end = endDate(of: resource, type: type) { row["end"] = .string(end) }
        if let concept = concept(of: resource, type: type) {
            if let display = display(concept) { row["display"] = .string(display) }
            if let code = code(concept) { row["code"] = .string(code) }
        }
        if let status = status(of: resource, type: type) { row["status"] = .string(status) }
        if type == "Observation" { addValue(of: resource, to: &row) }
        if type == "AllergyIntolerance", let criticality = resource["criticality"]?.stringValue {
            row["criticality"] = .string(criticality)
        }
        return .object(row)
    }

    /// The clinically relevant date of a resource of `type`, as written in it.
    public static func date(of resource: JSONValue, type: String) -> String? {
        func first(_ keys: [String]) -> String? {
            for key in keys {
                if let text = resource[key]?.stringValue { return text }
                if let start = resource[key]?["start"]?.stringValue { return start }
            }
            return nil
        }
        switch type {
        case "Observation", "DiagnosticReport": return first(["effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued"])
        case "Condition": return first(["onsetDateTime", "onsetPeriod", "recordedDate"])
        case "Encounter", "CarePlan": return first(["period"])
        case "MedicationRequest": return first(["authoredOn"])
        case "Procedure": return first(["performedDateTime", "performedPeriod"])
        case "Immunization": return first(["occurrenceDateTime"])
        case "AllergyIntolerance": return first(["onsetDateTime", "recordedDate"])
        case "Patient": return first(["birthDate"])
        default: return first(["date", "effectiveDateTime", "period", "created"])
        }
    }

    private static func endDate(of resource: JSONValue, type: String) -> String? {
        switch type {
        case "Condition": return resource["abatementDateTime"]?.stringValue
        case "Encounter", "CarePlan": return resource["period"]?["end"]?.stringValue
        default: return nil
        }
    }

    /// The CodeableConcept that says what the resource is about.
    static func concept(of resource: JSONValue, type: String) -> JSONValue? {
        switch type {
        case "MedicationRequest": return resource["medicationCodeableConcept"]
        case "Immunization": return resource["vaccineCode"]
        case "Encounter":
            if case .array(let types)? = resource["type"], let first = types.first { return first }
            return nil
        case "CarePlan":
            if case .array(let categories)? = resource["category"], let last = categories.last { return last }
            return nil
        default: return resource["code"]
        }
    }

    /// `text`, else the first coding's display.
    public static func display(_ concept: JSONValue) -> String? {
        if let text = concept["text"]?.stringValue, !text.isEmpty { return text }
        if case .array(let codings)? = concept["coding"] {
            for coding in codings { if let display = coding["display"]?.stringValue { return display } }
        }
        return nil
    }

    /// `system|code` of the first coding.
    public static func code(_ concept: JSONValue) -> String? {
        guard case .array(let codings)? = concept["coding"], let coding = codings.first,
            let code = coding["code"]?.stringValue
        else { return nil }
        return coding["system"]?.stringValue.map { "\($0)|\(code)" } ?? code
    }

    private static func status(of resource: JSONValue, type: String) -> String? {
        switch type {
        case "Condition", "AllergyIntolerance":
            return resource["clinicalStatus"].flatMap(firstCode)
        default:
            return resource["status"]?.stringValue
        }
    }

    private static func firstCode(_ concept: JSONValue) -> String? {
        guard case .array(let codings)? = concept["coding"] else { return nil }
        return codings.first?["code"]?.stringValue
    }

    /// An observation's value: a quantity as `value` and `unit`, a panel (blood pressure) as
    /// `value` "128/82" with the shared unit, a coded or text answer as `value` text.
    static func addValue(of resource: JSONValue, to row: inout [String: JSONValue]) {
        if let quantity = resource["valueQuantity"], let value = number(quantity["value"]) {
            row["value"] = .number(value)
            if let unit = quantity["unit"]?.stringValue ?? quantity["code"]?.stringValue { row["unit"] = .string(unit) }
        } else if let concept = resource["valueCodeableConcept"], let text = display(concept) {
            row["value"] = .string(text)
        } else if let text = resource["valueString"]?.stringValue {
            row["value"] = .string(text)
        } else if case .array(let components)? = resource["component"], !components.isEmpty {
            let values = components.compactMap { number($0["valueQuantity"]?["value"]) }
            if values.count == components.count {
                row["value"] = .string(values.map(format).joined(separator: "/"))
                if let unit = components.first?["valueQuantity"]?["unit"]?.stringValue { row["unit"] = .string(unit) }
            }
        }
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let integer)?: Double(integer)
        case .number(let number)?: number
        default: nil
        }
    }

    /// A number as a person writes it: no trailing `.0`, at most three decimals.
    public static func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
        var text = String((value * 1000).rounded() / 1000)
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }
}
