import BedsideCore

/// Builds one synthetic patient's transaction Bundle, entry by entry, with `urn:uuid:` references.
///
/// The bundle is shaped like Synthea's so that it takes the same import path as a real one.
struct SyntheticBundle {
    typealias Code = SyntheticCatalog.Code
    typealias Measure = SyntheticCatalog.Measure

    private(set) var entries: [JSONValue] = []
    var random: SplitMix64
    let patientURL: String

    init(random: SplitMix64, patientID: String) {
        self.random = random
        patientURL = "urn:uuid:\(patientID)"
    }

    var value: JSONValue {
        .object(["resourceType": .string("Bundle"), "type": .string("transaction"), "entry": .array(entries)])
    }

    /// Adds a resource under a fresh id and returns its `urn:uuid:` reference.
    @discardableResult
    mutating func add(_ type: String, _ members: [String: JSONValue], id: String? = nil) -> String {
        let id = id ?? random.uuid()
        var resource = members
        resource["resourceType"] = .string(type)
        resource["id"] = .string(id)
        let url = "urn:uuid:\(id)"
        entries.append(
            .object([
                "fullUrl": .string(url),
                "resource": .object(resource),
                "request": .object(["method": .string("PUT"), "url": .string("\(type)/\(id)")]),
            ])
        )
        return url
    }

    static func reference(_ url: String) -> JSONValue { .object(["reference": .string(url)]) }

    static func concept(_ code: Code) -> JSONValue {
        .object([
            "coding": .array([.object(["system": .string(code.system), "code": .string(code.code), "display": .string(code.display)])]),
            "text": .string(code.display),
        ])
    }

    static func concept(system: String, code: String, display: String? = nil) -> JSONValue {
        var coding: [String: JSONValue] = ["system": .string(system), "code": .string(code)]
        if let display { coding["display"] = .string(display) }
        return .object(["coding": .array([.object(coding)])])
    }

    static func quantity(_ value: Double, _ measure: Measure) -> JSONValue {
        .object([
            "value": .number(value),
            "unit": .string(measure.unit),
            "system": .string(SyntheticCatalog.ucum),
            "code": .string(measure.unit),
        ])
    }

    static func measureConcept(_ measure: Measure) -> JSONValue {
        .object([
            "coding": .array([
                .object(["system": .string(SyntheticCatalog.loinc), "code": .string(measure.code), "display": .string(measure.display)])
            ]),
            "text": .string(measure.display),
        ])
    }

    static func clinicalStatus(_ code: String, allergy: Bool = false) -> JSONValue {
        let system =
            allergy
            ? "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
            : "http://terminology.hl7.org/CodeSystem/condition-clinical"
        return concept(system: system, code: code)
    }

    static func verified(allergy: Bool = false) -> JSONValue {
        let system =
            allergy
            ? "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
            : "http://terminology.hl7.org/CodeSystem/condition-ver-status"
        return concept(system: system, code: "confirmed")
    }

    /// A finished ambulatory encounter of 20 to 40 minutes starting at `start`.
    mutating func encounter(_ type: Code, start: Int64, reason: Code? = nil) -> String {
        var members: [String: JSONValue] = [
            "status": .string("finished"),
            "class": .object(["system": .string("http://terminology.hl7.org/CodeSystem/v3-ActCode"), "code": .string("AMB")]),
            "type": .array([Self.concept(type)]),
            "subject": Self.reference(patientURL),
            "period": .object([
                "start": .string(FHIRDate.iso(start)), "end": .string(FHIRDate.iso(start + Int64(random.int(20...40)) * 60)),
            ]),
        ]
        if let reason { members["reasonCode"] = .array([Self.concept(reason)]) }
        return add("Encounter", members)
    }

    mutating func condition(_ code: Code, encounter: String, onset: Int64, abatement: Int64? = nil) {
        var members: [String: JSONValue] = [
            "clinicalStatus": Self.clinicalStatus(abatement == nil ? "active" : "resolved"),
            "verificationStatus": Self.verified(),
            "category": .array([
                Self.concept(
                    system: "http://terminology.hl7.org/CodeSystem/condition-category",
                    code: "encounter-diagnosis",
                    display: "Encounter Diagnosis"
                )
            ]),
            "code": Self.concept(code),
            "subject": Self.reference(patientURL),
            "encounter": Self.reference(encounter),
            "onsetDateTime": .string(FHIRDate.iso(onset)),
            "recordedDate": .string(FHIRDate.iso(onset)),
        ]
        if let abatement { members["abatementDateTime"] = .string(FHIRDate.iso(abatement)) }
        add("Condition", members)
    }

    mutating func medication(_ code: Code, encounter: String, authored: Int64, active: Bool, reason: Code) {
        add(
            "MedicationRequest",
            [
                "status": .string(active ? "active" : "completed"),
                "intent": .string("order"),
                "medicationCodeableConcept": Self.concept(code),
                "subject": Self.reference(patientURL),
                "encounter": Self.reference(encounter),
                "authoredOn": .string(FHIRDate.iso(authored)),
                "reasonCode": .array([Self.concept(reason)]),
                "dosageInstruction": .array([
                    .object(["sequence": .integer(1), "text": .string(active ? "Take as directed, daily." : "Take as needed.")])
                ]),
            ]
        )
    }

    /// An Observation with a quantity value, or with components when `components` is not empty.
    mutating func observation(
        _ measure: Measure,
        category: String,
        value: Double?,
        components: [(Measure, Double)] = [],
        encounter: String,
        at time: Int64
    ) {
        var members: [String: JSONValue] = [
            "status": .string("final"),
            "category": .array([
                Self.concept(
                    system: "http://terminology.hl7.org/CodeSystem/observation-category",
                    code: category,
                    display: category == "laboratory" ? "laboratory" : "vital-signs"
                )
            ]),
            "code": Self.measureConcept(measure),
            "subject": Self.reference(patientURL),
            "encounter": Self.reference(encounter),
            "effectiveDateTime": .string(FHIRDate.iso(time)),
            "issued": .string(FHIRDate.iso(time + (category == "laboratory" ? 3 * 3600 : 0))),
        ]
        if let value { members["valueQuantity"] = Self.quantity(value, measure) }
        if !components.isEmpty {
            members["component"] = .array(
                components.map { part, number in
                    .object(["code": Self.measureConcept(part), "valueQuantity": Self.quantity(number, part)])
                }
            )
        }
        add("Observation", members)
    }

    mutating func immunization(_ code: Code, encounter: String, at time: Int64) {
        add(
            "Immunization",
            [
                "status": .string("completed"),
                "vaccineCode": Self.concept(code),
                "patient": Self.reference(patientURL),
                "encounter": Self.reference(encounter),
                "occurrenceDateTime": .string(FHIRDate.iso(time)),
                "primarySource": .bool(true),
            ]
        )
    }

    mutating func allergy(_ code: Code, category: String, criticality: String, recorded: Int64) {
        add(
            "AllergyIntolerance",
            [
                "clinicalStatus": Self.clinicalStatus("active", allergy: true),
                "verificationStatus": Self.verified(allergy: true),
                "type": .string("allergy"),
                "category": .array([.string(category)]),
                "criticality": .string(criticality),
                "code": Self.concept(code),
                "patient": Self.reference(patientURL),
                "recordedDate": .string(FHIRDate.iso(recorded)),
            ]
        )
    }
}
