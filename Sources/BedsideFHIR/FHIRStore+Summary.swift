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
        var conditions: [PatientSummary.Item] = []
        var medications: [PatientSummary.Item] = []
        var allergies: [PatientSummary.Item] = []
        var vitals: [PatientSummary.Measurement] = []
        var labs: [PatientSummary.Measurement] = []
        var seenVitals = Set<String>()
        var seenLabs = Set<String>()
        for row in rows {
            let type = row[0]
            let resource = try Self.parseStored(row[1])
            switch type {
            case "Condition" where Self.isActive(resource["clinicalStatus"]):
                conditions.append(Self.item(resource, code: "code", date: resource["onsetDateTime"] ?? resource["recordedDate"]))
            case "MedicationRequest" where resource["status"]?.stringValue == "active":
                medications.append(Self.item(resource, code: "medicationCodeableConcept", date: resource["authoredOn"]))
            case "AllergyIntolerance" where resource["clinicalStatus"] == nil || Self.isActive(resource["clinicalStatus"]):
                allergies.append(Self.item(resource, code: "code", date: resource["recordedDate"]))
            case "Observation":
                let categories = ResourceIndex.select("category", in: resource).flatMap(ResourceIndex.codes).map(\.1)
                guard let measurement = Self.measurement(resource) else { continue }
                // Rows come newest first, so the first of each code is its latest value.
                if categories.contains("vital-signs"), seenVitals.insert(measurement.code).inserted {
                    vitals.append(measurement)
                } else if categories.contains("laboratory"), seenLabs.insert(measurement.code).inserted {
                    labs.append(measurement)
                }
            default:
                continue
            }
        }
        return PatientSummary(
            patientID: patientID,
            name: Self.displayName(patient),
            gender: patient["gender"]?.stringValue,
            birthDate: patient["birthDate"]?.stringValue,
            deceased: patient["deceasedDateTime"]?.stringValue ?? (patient["deceasedBoolean"] == .bool(true) ? "true" : nil),
            activeConditions: conditions.sorted { $0.display < $1.display },
            activeMedications: medications.sorted { $0.display < $1.display },
            allergies: allergies.sorted { $0.display < $1.display },
            latestVitals: vitals.sorted { $0.display < $1.display },
            latestLabs: labs.sorted { $0.display < $1.display }
        )
    }

    static func parseStored(_ json: String) throws -> JSONValue {
        do {
            return try FHIRJSON.parse(json)
        } catch {
            throw FHIRStoreError(.database, "A stored resource is not JSON: \(error)", underlying: error)
        }
    }

    private static func isActive(_ status: JSONValue?) -> Bool {
        guard let status else { return false }
        return ResourceIndex.codes(in: status).contains { ["active", "recurrence", "relapse"].contains($0.1) }
    }

    private static func item(_ resource: JSONValue, code key: String, date: JSONValue?) -> PatientSummary.Item {
        let concept = resource[key]
        let coding = concept?["coding"]?.arrayValue?.first
        return PatientSummary.Item(
            id: resource["id"]?.stringValue ?? "",
            system: coding?["system"]?.stringValue,
            code: coding?["code"]?.stringValue,
            display: concept?["text"]?.stringValue ?? coding?["display"]?.stringValue ?? coding?["code"]?.stringValue ?? "(uncoded)",
            date: date?.stringValue,
            criticality: resource["criticality"]?.stringValue
        )
    }

    private static func measurement(_ resource: JSONValue, date: String? = nil) -> PatientSummary.Measurement? {
        guard let coding = resource["code"]?["coding"]?.arrayValue?.first, let code = coding["code"]?.stringValue else { return nil }
        let quantity = resource["valueQuantity"]
        let text =
            resource["valueString"]?.stringValue
            ?? resource["valueCodeableConcept"].map {
                $0["text"]?.stringValue ?? $0["coding"]?.arrayValue?.first?["display"]?.stringValue ?? ""
            }
        return PatientSummary.Measurement(
            code: code,
            display: resource["code"]?["text"]?.stringValue ?? coding["display"]?.stringValue ?? code,
            value: quantity?["value"]?.doubleValue,
            text: text,
            unit: quantity?["unit"]?.stringValue ?? quantity?["code"]?.stringValue,
            date: date ?? resource["effectiveDateTime"]?.stringValue ?? resource["effectivePeriod"]?["start"]?.stringValue,
            components: (resource["component"]?.arrayValue ?? []).compactMap { measurement($0, date: nil) }
        )
    }

    private static func displayName(_ patient: JSONValue) -> String {
        let names = patient["name"]?.arrayValue ?? []
        let name = names.first { $0["use"]?.stringValue == "official" } ?? names.first
        guard let name else { return "(no name)" }
        if let text = name["text"]?.stringValue { return text }
        let given = (name["given"]?.arrayValue ?? []).compactMap(\.stringValue)
        return (given + [name["family"]?.stringValue].compactMap { $0 }).joined(separator: " ")
    }
}
