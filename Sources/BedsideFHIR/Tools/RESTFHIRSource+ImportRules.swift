import AsyncHTTPClient
import BedsideCore
import Foundation
import NIOCore
import NIOHTTP1

/// What an import may send to an external FHIR server, and the check that it replaces no other
/// patient's records there.
extension RESTFHIRSource {
    /// The Patient and the clinical types of its compartment that an import writes to an
    /// external server, each with `PUT Type/id`. Compartment types that are not clinical records
    /// (Account, Consent, Group, List, Schedule, Appointment, AuditEvent, …) are not sent.
    public static let importedClinicalTypes: Set<String> = [
        "Patient", "AdverseEvent", "AllergyIntolerance", "BodyStructure", "CarePlan", "CareTeam", "Claim", "ClaimResponse",
        "ClinicalImpression", "Condition", "Coverage", "DetectedIssue", "DeviceRequest", "DeviceUseStatement", "DiagnosticReport",
        "DocumentReference", "Encounter", "EpisodeOfCare", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
        "ImagingStudy", "Immunization", "ImmunizationEvaluation", "ImmunizationRecommendation", "Media", "MedicationAdministration",
        "MedicationDispense", "MedicationRequest", "MedicationStatement", "NutritionOrder", "Observation", "Procedure", "Provenance",
        "QuestionnaireResponse", "RelatedPerson", "RiskAssessment", "ServiceRequest", "Specimen", "SupplyDelivery",
    ]

    /// The shared types an import sends to an external server as conditional creates
    /// (`POST Type` with `ifNoneExist`): created when the server holds no match, never updated.
    public static let importedSharedTypes: Set<String> = [
        "Organization", "Practitioner", "PractitionerRole", "Location", "Medication", "Device", "Substance",
    ]

    /// Refuses, before anything is sent, an import holding a type outside both allow-lists.
    static func checkAllowedTypes(_ plan: ImportPlan, server: String) throws {
        for resource in plan.resources {
            let allowed = resource.shared ? importedSharedTypes : importedClinicalTypes
            guard !allowed.contains(resource.type) else { continue }
            throw FHIRImportError(
                .notSupported,
                "\(resource.type)/\(resource.id) cannot be imported into the FHIR server at \(server): Bedside sends it only "
                    + "\(importedClinicalTypes.sorted().joined(separator: ", ")), and creates "
                    + "\(importedSharedTypes.sorted().joined(separator: ", ")) only where the server holds none.",
                patients: [plan.patientID],
                resources: ["\(resource.type)/\(resource.id)"]
            )
        }
    }

    /// The `ifNoneExist` query of a shared resource's conditional create: its first identifier
    /// with a system and a value when it has one (a server that assigned its own id to an
    /// earlier copy still finds it), else its id.
    static func ifNoneExist(_ resource: JSONValue, id: String) -> String {
        if case .array(let identifiers)? = resource["identifier"] {
            for identifier in identifiers {
                if let system = identifier["system"]?.stringValue, let value = identifier["value"]?.stringValue,
                    !system.isEmpty, !value.isEmpty
                {
                    return "identifier=\(escape(system))|\(escape(value))"
                }
            }
        }
        return "_id=\(escape(id))"
    }

    /// Reads, in one batch, the compartment resources the import would replace, and refuses the
    /// import when one of them is another patient's (or no patient's) record on the server.
    ///
    /// A stored resource is the imported patient's when a compartment element names that
    /// Patient, or when it names no Patient and refers to a resource of the bundle that is the
    /// patient's. The server's answer is only as fresh as the read: a write by someone else
    /// between this read and the transaction is not seen.
    func checkServerOwners(_ plan: ImportPlan) async throws {
        let replaced = plan.resources.filter { !$0.shared && $0.type != "Patient" }
        guard !replaced.isEmpty else { return }
        let owned = Set(plan.resources.filter { $0.patientID == plan.patientID }.map { "\($0.type)/\($0.id)" })
        let entries = replaced.map { resource -> JSONValue in
            .object([
                "request": .object([
                    "method": .string("GET"), "url": .string("\(Self.pathSegment(resource.type))/\(Self.pathSegment(resource.id))"),
                ])
            ])
        }
        let bundle = JSONValue.object(["resourceType": .string("Bundle"), "type": .string("batch"), "entry": .array(entries)])
        let (status, body) = try await post(bundle)
        guard (200..<300).contains(status) else {
            try check(status, body)  // 401, 403: Bedside's credentials
            throw FHIRImportError(
                status: 502,
                .init(rawValue: "processing"),
                "The FHIR server at \(configuration.baseURL) did not answer the batch read that checks whose records the import replaces (\(status))."
            )
        }
        let answer: JSONValue
        do {
            answer = try FHIRJSON.parse(Data(body.readableBytesView))
        } catch {
            throw FHIRServerError(message: "The FHIR server sent something that is not JSON.")
        }
        guard case .array(let answers)? = answer["entry"], answers.count == replaced.count else {
            throw FHIRImportError(
                status: 502,
                .init(rawValue: "processing"),
                "The FHIR server at \(configuration.baseURL) answered the batch read with \(answer["entry"]?.arrayValue?.count ?? 0) entries for \(replaced.count) requests."
            )
        }
        for (resource, entry) in zip(replaced, answers) {
            let key = "\(resource.type)/\(resource.id)"
            let code = entry["response"]?["status"]?.stringValue?.prefix(3) ?? ""
            if code == "404" || code == "410" { continue }
            guard code.hasPrefix("2"), let existing = entry["resource"] else {
                throw FHIRImportError(
                    status: 502,
                    .init(rawValue: "processing"),
                    "The FHIR server at \(configuration.baseURL) did not say whether it holds \(key) (status '\(code)'), so the import cannot tell whose record it would replace."
                )
            }
            let named = Set(
                PatientCompartment.patientLinks(of: existing, type: resource.type).map(\.patientID)
                    + [ImportPlan.patientReference(of: existing)].compactMap { $0 }
            )
            let other = named.first { $0 != plan.patientID }
            if other == nil, named.contains(plan.patientID) { continue }
            if named.isEmpty, PatientCompartment.references(in: existing).contains(where: owned.contains) { continue }
            throw FHIRImportError(
                .conflict,
                "\(key) is already on the FHIR server at \(configuration.baseURL) as \(other == nil ? "a record of no patient" : "another patient's record"), not Patient/\(plan.patientID)'s: an import may replace only the imported patient's own resources.",
                patients: [plan.patientID] + (other.map { [$0] } ?? []),
                resources: [key]
            )
        }
    }

    /// POSTs a Bundle to the base URL with Bedside's credentials.
    func post(_ bundle: JSONValue) async throws -> (Int, ByteBuffer) {
        var request = HTTPClientRequest(url: configuration.baseURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/fhir+json")
        request.headers.add(name: "Accept", value: "application/fhir+json")
        if let authorization = try await authorizationHeader() { request.headers.add(name: "Authorization", value: authorization) }
        request.body = .bytes(ByteBuffer(string: FHIRJSON.text(bundle)))
        return try await send(request, to: configuration.baseURL)
    }

    /// `value` with every `reference` to a key of `targets` (`Type/id`, or `Type/id/_history/n`)
    /// replaced by its target.
    static func replacingReferences(in value: JSONValue, _ targets: [String: String]) -> JSONValue {
        switch value {
        case .object(var members):
            for (key, member) in members {
                if key == "reference", let text = member.stringValue {
                    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
                    if parts.count >= 2, let target = targets["\(parts[0])/\(parts[1])"] { members[key] = .string(target) }
                } else if case .object = member {
                    members[key] = replacingReferences(in: member, targets)
                } else if case .array = member {
                    members[key] = replacingReferences(in: member, targets)
                }
            }
            return .object(members)
        case .array(let elements):
            return .array(elements.map { replacingReferences(in: $0, targets) })
        default:
            return value
        }
    }
}
