import BedsideCore

extension PatientSummary {
    /// The summary of `patient` from their Condition, MedicationRequest, AllergyIntolerance and
    /// Observation resources, each type listed newest first (the first of each code is its latest).
    static func build(patientID: String, patient: JSONValue, resources: [(type: String, resource: JSONValue)]) -> PatientSummary {
        var conditions: [Item] = []
        var medications: [Item] = []
        var allergies: [Item] = []
        var vitals: [Measurement] = []
        var labs: [Measurement] = []
        var seenVitals = Set<String>()
        var seenLabs = Set<String>()
        for (type, resource) in resources {
            switch type {
            case "Condition" where isActive(resource["clinicalStatus"]):
                conditions.append(item(resource, code: "code", date: resource["onsetDateTime"] ?? resource["recordedDate"]))
            case "MedicationRequest" where resource["status"]?.stringValue == "active":
                medications.append(item(resource, code: "medicationCodeableConcept", date: resource["authoredOn"]))
            case "AllergyIntolerance" where resource["clinicalStatus"] == nil || isActive(resource["clinicalStatus"]):
                allergies.append(item(resource, code: "code", date: resource["recordedDate"]))
            case "Observation":
                let categories = ResourceIndex.select("category", in: resource).flatMap(ResourceIndex.codes).map(\.1)
                guard let measurement = measurement(resource) else { continue }
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
            name: displayName(patient),
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

    private static func isActive(_ status: JSONValue?) -> Bool {
        guard let status else { return false }
        return ResourceIndex.codes(in: status).contains { ["active", "recurrence", "relapse"].contains($0.1) }
    }

    private static func item(_ resource: JSONValue, code key: String, date: JSONValue?) -> Item {
        let concept = resource[key]
        let coding = concept?["coding"]?.arrayValue?.first
        return Item(
            id: resource["id"]?.stringValue ?? "",
            system: coding?["system"]?.stringValue,
            code: coding?["code"]?.stringValue,
            display: concept?["text"]?.stringValue ?? coding?["display"]?.stringValue ?? coding?["code"]?.stringValue ?? "(uncoded)",
            date: date?.stringValue,
            criticality: resource["criticality"]?.stringValue
        )
    }

    private static func measurement(_ resource: JSONValue, date: String? = nil) -> Measurement? {
        guard let coding = resource["code"]?["coding"]?.arrayValue?.first, let code = coding["code"]?.stringValue else { return nil }
        let quantity = resource["valueQuantity"]
        let text =
            resource["valueString"]?.stringValue
            ?? resource["valueCodeableConcept"].map {
                $0["text"]?.stringValue ?? $0["coding"]?.arrayValue?.first?["display"]?.stringValue ?? ""
            }
        return Measurement(
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
