public import BedsideCore
import Foundation

/// The agent's read-only FHIR tools, over any ``FHIRDataSource``.
///
/// Each result is compact JSON made for a model: only the useful fields of each resource
/// (see ``CompactResource``), counts, and `more_available` when a page was cut. Every call that
/// reads patient data is written to the access audit of the session it runs for.
///
/// ```swift
/// let tools = FHIRTools(source: EmbeddedFHIRSource(store: store), audit: eventStore)
/// let output = try await tools.call("find_patients", arguments: ["name": "Margie Hettinger"])
/// ```
public struct FHIRTools: Toolset {
    public let source: any FHIRDataSource
    public let audit: (any AccessAudit)?

    /// The clinical types `search_clinical` accepts.
    public static let clinicalTypes = [
        "Condition", "Observation", "MedicationRequest", "AllergyIntolerance", "Procedure", "Immunization",
        "Encounter", "DiagnosticReport", "CarePlan",
    ]

    public init(source: any FHIRDataSource, audit: (any AccessAudit)? = nil) {
        self.source = source
        self.audit = audit
    }

    public func definitions() async throws -> [ToolDefinition] { Self.definitions }

    public func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        let reading: Reading
        do {
            let input = ToolArguments(arguments)
            switch name {
            case "find_patients": reading = try await findPatients(input)
            case "patient_summary": reading = try await patientSummary(input)
            case "search_clinical": reading = try await searchClinical(input)
            case "observation_trend": reading = try await observationTrend(input)
            case "read_resource": reading = try await readResource(input)
            default: return ToolOutput(content: "There is no tool named \(name).", isError: true)
            }
        } catch let problem as ToolArguments.Problem {
            return ToolOutput(content: problem.message, isError: true)
        }
        if let audit, let context = ToolCallContext.current, !reading.resources.isEmpty || !reading.patients.isEmpty {
            try await audit.record(
                AccessRecord(
                    sessionID: context.sessionID,
                    turnID: context.turnID,
                    toolCallID: context.toolCallID,
                    tool: name,
                    patientIDs: reading.patients,
                    resources: reading.resources,
                    timeMicros: Int64(Date().timeIntervalSince1970 * 1_000_000)
                )
            )
        }
        return ToolOutput(content: FHIRJSON.text(reading.result), isError: false)
    }

    /// A tool's answer and what it read, for the audit.
    struct Reading {
        var result: JSONValue
        var patients: [String]
        var resources: [String]
    }

    // MARK: - The tools

    func findPatients(_ input: ToolArguments) async throws -> Reading {
        var parameters: [(name: String, value: String)] = []
        if let name = try input.string("name") {
            // Each word must start some part of the name: "maria garcia" finds Maria619 Garcia12.
            for word in name.split(whereSeparator: { $0 == " " || $0 == "," }) { parameters.append(("name", String(word))) }
        }
        if let birthdate = try input.string("birthdate") { parameters.append(("birthdate", birthdate)) }
        if let gender = try input.string("gender") { parameters.append(("gender", gender.lowercased())) }
        if let identifier = try input.string("identifier") { parameters.append(("identifier", identifier)) }
        guard !parameters.isEmpty else {
            throw ToolArguments.Problem(message: "Give at least one of name, birthdate, gender or identifier.")
        }
        let count = try input.count(default: 10)
        parameters.append(("_count", String(count)))
        let page = try await source.page(type: "Patient", parameters: parameters)
        let patients = page.resources.map(Self.patientRow)
        let ids = page.resources.compactMap { $0["id"]?.stringValue }
        return Reading(
            result: .object([
                "count": .integer(Int64(patients.count)),
                "total": page.total.map { .integer(Int64($0)) } ?? .null,
                "more_available": .bool(page.hasMore),
                "patients": .array(patients),
            ]),
            patients: ids,
            resources: ids.map { "Patient/\($0)" }
        )
    }

    func patientSummary(_ input: ToolArguments) async throws -> Reading {
        let patientID = try input.patientID()
        guard let patient = try await source.resource(type: "Patient", id: patientID) else {
            throw ToolArguments.Problem(message: "There is no patient with id \(patientID). Use find_patients to look the id up.")
        }
        let scope: [(name: String, value: String)] = [("patient", patientID)]
        let conditions = try await source.page(
            type: "Condition",
            parameters: scope + [("clinical-status", "active"), ("_sort", "-date"), ("_count", "50")]
        )
        let medications = try await source.page(
            type: "MedicationRequest",
            parameters: scope + [("status", "active"), ("_sort", "-date"), ("_count", "50")]
        )
        let allergies = try await source.page(type: "AllergyIntolerance", parameters: scope + [("_count", "50")])
        let vitals = try await source.page(
            type: "Observation",
            parameters: scope + [("category", "vital-signs"), ("_sort", "-date"), ("_count", "200")]
        )
        let labs = try await source.page(
            type: "Observation",
            parameters: scope + [("category", "laboratory"), ("_sort", "-date"), ("_count", "300")]
        )
        let latestVitals = Self.latestPerCode(vitals.resources)
        let latestLabs = Self.latestPerCode(labs.resources)
        let read = [patient] + conditions.resources + medications.resources + allergies.resources + latestVitals + latestLabs
        return Reading(
            result: .object([
                "patient": Self.patientRow(patient),
                "active_conditions": .array(conditions.resources.map(CompactResource.row)),
                "active_medications": .array(medications.resources.map(CompactResource.row)),
                "allergies": .array(allergies.resources.map(CompactResource.row)),
                "latest_vitals": .array(latestVitals.map(CompactResource.row)),
                "latest_labs": .array(latestLabs.map(CompactResource.row)),
            ]),
            patients: [patientID],
            resources: read.compactMap(CompactResource.reference)
        )
    }

    func searchClinical(_ input: ToolArguments) async throws -> Reading {
        let patientID = try input.patientID()
        guard let type = try input.string("resource_type"), let canonical = Self.clinicalType(type) else {
            throw ToolArguments.Problem(message: "resource_type must be one of \(Self.clinicalTypes.joined(separator: ", ")).")
        }
        var parameters: [(name: String, value: String)] = [("patient", patientID)]
        if let code = try input.string("code") { parameters.append(("code", code)) }
        if let from = try input.string("date_from") { parameters.append(("date", "ge\(from)")) }
        if let to = try input.string("date_to") { parameters.append(("date", "le\(to)")) }
        if let status = try input.string("status") {
            let statusParameter = ["Condition", "AllergyIntolerance"].contains(canonical) ? "clinical-status" : "status"
            parameters.append((statusParameter, status))
        }
        if let category = try input.string("category") { parameters.append(("category", category)) }
        let count = try input.count(default: 20)
        parameters += [("_sort", "-date"), ("_count", String(count))]
        let page = try await source.page(type: canonical, parameters: parameters)
        return Reading(
            result: .object([
                "resource_type": .string(canonical),
                "count": .integer(Int64(page.resources.count)),
                "total": page.total.map { .integer(Int64($0)) } ?? .null,
                "more_available": .bool(page.hasMore),
                "records": .array(page.resources.map(CompactResource.row)),
            ]),
            patients: [patientID],
            resources: page.resources.compactMap(CompactResource.reference)
        )
    }

    func observationTrend(_ input: ToolArguments) async throws -> Reading {
        let patientID = try input.patientID()
        guard let code = try input.string("code") else {
            throw ToolArguments.Problem(message: "Give the observation code (LOINC, e.g. 4548-4 for HbA1c, or system|code).")
        }
        var parameters: [(name: String, value: String)] = [("patient", patientID), ("code", code)]
        if let from = try input.string("date_from") { parameters.append(("date", "ge\(from)")) }
        if let to = try input.string("date_to") { parameters.append(("date", "le\(to)")) }
        parameters += [("_sort", "date"), ("_count", "500")]
        let page = try await source.page(type: "Observation", parameters: parameters)
        let rows = page.resources.map(CompactResource.row)
        var result: [String: JSONValue] = [
            "code": .string(code),
            "count": .integer(Int64(rows.count)),
            "more_available": .bool(page.hasMore),
            "values": .array(rows),
        ]
        if let first = rows.first {
            result["display"] = first["display"]
            result["unit"] = first["unit"]
        }
        if let trend = Self.trend(rows) { result["trend"] = trend }
        return Reading(
            result: .object(result),
            patients: [patientID],
            resources: page.resources.compactMap(CompactResource.reference)
        )
    }

    func readResource(_ input: ToolArguments) async throws -> Reading {
        guard let name = try input.string("resource_type"), let id = try input.string("id") else {
            throw ToolArguments.Problem(message: "Give resource_type and id, e.g. Observation and its id.")
        }
        guard let type = FHIRResourceType.canonical(name) else {
            throw ToolArguments.Problem(
                message: "resource_type must be a FHIR R4 resource type such as Observation or Condition, not '\(name)'."
            )
        }
        guard FHIRIdentifier.isValid(id) else {
            throw ToolArguments.Problem(message: ToolArguments.idRule("id", id))
        }
        guard let resource = try await source.resource(type: type, id: id) else {
            throw ToolArguments.Problem(message: "There is no \(type) with id \(id).")
        }
        var trimmed = resource.objectValue ?? [:]
        trimmed["text"] = nil  // the narrative repeats the data as HTML
        let patient = Self.patientReference(of: resource) ?? (type == "Patient" ? id : nil)
        // A very large resource (a claim, a long report) is shown as its compact row instead.
        let whole = JSONValue.object(trimmed)
        let fits = FHIRJSON.text(whole).utf8.count <= 20_000
        return Reading(
            result: fits ? .object(["resource": whole]) : .object(["summary": CompactResource.row(resource), "cut": .bool(true)]),
            patients: patient.map { [$0] } ?? [],
            resources: ["\(type)/\(id)"]
        )
    }
}
