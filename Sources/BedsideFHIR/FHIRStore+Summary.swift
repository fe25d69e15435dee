import BedsideCore
import GRDB

extension FHIRStore {
    /// The summary of one patient; throws ``FHIRStoreError`` (`notFound`) for an unknown patient.
    public func summary(patientID: String) async throws -> PatientSummary {
        let (patientJSON, rows) = try await Self.run {
            try await writer.read { db -> (String?, [[String]]) in
                let patient = try String.fetchOne(
                    db,
                    sql: "SELECT json FROM resource WHERE type = 'Patient' AND id = ?",
                    arguments: [patientID]
                )
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT r.type, r.json FROM resource r
                        WHERE r.patient_id = ? AND r.type IN ('Condition', 'MedicationRequest', 'AllergyIntolerance', 'Observation')
                        ORDER BY r.type,
                            (SELECT MAX(start) FROM search_date d WHERE d.type = r.type AND d.id = r.id AND d.param = 'date') DESC,
                            r.id
                        """,
                    arguments: [patientID]
                )
                return (patient, rows.map { [$0[0], $0[1]] })
            }
        }
        guard let patientJSON else { throw FHIRStoreError(.notFound, "Patient/\(patientID) is not in the store.") }
        let patient = try Self.parseStored(patientJSON)
        let resources = try rows.map { (type: $0[0], resource: try Self.parseStored($0[1])) }
        return PatientSummary.build(patientID: patientID, patient: patient, resources: resources)
    }

    static func parseStored(_ json: String) throws -> JSONValue {
        do {
            return try FHIRJSON.parse(json)
        } catch {
            throw FHIRStoreError(.database, "A stored resource is not JSON: \(error)", underlying: error)
        }
    }
}
