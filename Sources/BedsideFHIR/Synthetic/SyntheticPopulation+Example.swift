import BedsideCore

extension SyntheticPopulation {
    /// A first question to ask, naming a synthetic patient with an active condition, e.g.
    /// "What conditions does Liam Núñez have?"; nil when the store holds no such patient.
    ///
    /// Only synthetic patients (those with Bedside's synthetic record-number system) are named,
    /// so an imported real patient never appears in the output that shows the question.
    public static func exampleQuestion(in store: FHIRStore) async throws -> String? {
        let patients = try await store.search(
            type: "Patient",
            parameters: [("identifier", "\(SyntheticCatalog.mrnSystem)|"), ("_count", "20")]
        )
        for json in patients.resources {
            let patient = try FHIRJSON.parse(json)
            guard let id = patient["id"]?.stringValue,
                case .array(let names)? = patient["name"], let name = names.first,
                case .array(let given)? = name["given"], let first = given.first?.stringValue,
                let family = name["family"]?.stringValue
            else { continue }
            let active = try await store.search(
                type: "Condition",
                parameters: [("patient", id), ("clinical-status", "active"), ("_count", "0")]
            )
            if active.total > 0 { return "What conditions does \(first) \(family) have?" }
        }
        return nil
    }
}
