import BedsideCore
import Foundation

extension RESTFHIRSource {
    /// The types counted for `GET /patient/{id}` on an external server, besides the Patient.
    public static let countedTypes = [
        "AllergyIntolerance", "CarePlan", "Condition", "DiagnosticReport", "Encounter", "Immunization",
        "MedicationRequest", "Observation", "Procedure",
    ]

    /// The body of `GET /patient/{id}` read from the server, in the shape of
    /// ``FHIRStore/patientRecordJSON(patientID:)``: the Patient, counts per type (the server's
    /// search totals of the clinical types) and the summary; nil when the server has no such patient.
    public func patientRecordJSON(patientID: String) async throws -> String? {
        guard let patient = try await resource(type: "Patient", id: patientID) else { return nil }
        var counts: [String: Int] = ["Patient": 1]
        for type in Self.countedTypes {
            let page = try await page(type: type, parameters: [("patient", patientID), ("_count", "0")])
            if let total = page.total, total > 0 { counts[type] = total }
        }
        var resources: [(type: String, resource: JSONValue)] = []
        for type in ["Condition", "MedicationRequest", "AllergyIntolerance", "Observation"] {
            var parameters: [(name: String, value: String)] = [("patient", patientID), ("_count", "500")]
            if type != "AllergyIntolerance" { parameters.append(("_sort", "-date")) }
            let page = try await page(type: type, parameters: parameters)
            resources += page.resources.map { (type, $0) }
        }
        let summary = PatientSummary.build(patientID: patientID, patient: patient, resources: resources)
        return try FHIRStore.patientRecordJSON(patient: FHIRJSON.text(patient), counts: counts, summary: summary)
    }
}
