import BedsideCore
import Foundation

extension FHIRStore {
    /// One patient as `GET /patient/{id}` shows it, as JSON text: the stored `Patient`, how many
    /// resources of each type belong to them, and their ``PatientSummary`` (snake_case keys).
    /// Nil when the store does not hold `Patient/patientID`.
    ///
    /// ```json
    /// {"patient":{"resourceType":"Patient",…},"counts":{"Condition":10,…},"summary":{"active_conditions":[…],…}}
    /// ```
    public func patientRecordJSON(patientID: String) async throws -> String? {
        guard let patient = try await read(type: "Patient", id: patientID) else { return nil }
        return try Self.patientRecordJSON(
            patient: patient,
            counts: try await counts(patientID: patientID),
            summary: try await summary(patientID: patientID)
        )
    }

    /// The `GET /patient/{id}` document from its parts; `patient` is the resource's JSON text.
    static func patientRecordJSON(patient: String, counts: [String: Int], summary: PatientSummary) throws -> String {
        var countsJSON = JSONWriter()
        countsJSON.beginObject()
        for (type, count) in counts.sorted(by: { $0.key < $1.key }) { countsJSON.member(type, Int64(count)) }
        countsJSON.endObject()
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let summaryJSON: String
        do {
            summaryJSON = String(decoding: try encoder.encode(summary), as: UTF8.self)
        } catch {
            throw FHIRStoreError(.database, "The summary of Patient/\(summary.patientID) could not be encoded: \(error)", underlying: error)
        }
        return "{\"patient\":\(patient),\"counts\":\(countsJSON.text),\"summary\":\(summaryJSON)}"
    }
}
