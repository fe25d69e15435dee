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
    public func patientRecordJSON(patientID: String) throws -> String? {
        guard let patient = try read(type: "Patient", id: patientID) else { return nil }
        let counts = try counts(patientID: patientID)
        let summary = try summary(patientID: patientID)
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
            throw FHIRStoreError(.database, "The summary of Patient/\(patientID) could not be encoded: \(error)", underlying: error)
        }
        return "{\"patient\":\(patient),\"counts\":\(countsJSON.text),\"summary\":\(summaryJSON)}"
    }
}
