import BedsideCore

/// The FHIR R4 Patient compartment: which resource types hold one patient's records, and which of
/// their elements name that patient.
///
/// The table follows `CompartmentDefinition/patient` of FHIR R4 (4.0.1,
/// https://hl7.org/fhir/R4/compartmentdefinition-patient.html). The definition names search
/// parameters; each row here lists the elements those parameters read in R4 (`Condition`'s
/// `patient` parameter is `Condition.subject`, `Claim`'s `payee` is `Claim.payee.party`).
/// Parameters that test the target's type (`Provenance.target.where(resolve() is Patient)`) are
/// written as the plain element: only references to `Patient/…` count here in any case.
///
/// Types absent from the table are never in a patient's compartment (Organization, Practitioner,
/// PractitionerRole, Location, Medication, Device, Substance, …): many patients' records share
/// them, so an import creates them when new and never replaces them.
enum PatientCompartment {
    /// The elements of each compartment type that can refer to the patient, by compartment parameter.
    static let elements: [String: [String]] = [
        "Account": ["subject"],  // subject
        "AdverseEvent": ["subject"],  // subject
        "AllergyIntolerance": ["patient", "recorder", "asserter"],  // patient, recorder, asserter
        "Appointment": ["participant.actor"],  // actor
        "AppointmentResponse": ["actor"],  // actor
        "AuditEvent": ["agent.who", "entity.what"],  // patient
        "Basic": ["subject", "author"],  // patient, author
        "BodyStructure": ["patient"],  // patient
        "CarePlan": ["subject", "activity.detail.performer"],  // patient, performer
        "CareTeam": ["subject", "participant.member"],  // patient, participant
        "ChargeItem": ["subject"],  // subject
        "Claim": ["patient", "payee.party"],  // patient, payee
        "ClaimResponse": ["patient"],  // patient
        "ClinicalImpression": ["subject"],  // subject
        "Communication": ["subject", "sender", "recipient"],  // subject, sender, recipient
        "CommunicationRequest": ["subject", "sender", "recipient", "requester"],  // subject, sender, recipient, requester
        "Composition": ["subject", "author", "attester.party"],  // subject, author, attester
        "Condition": ["subject", "asserter"],  // patient, asserter
        "Consent": ["patient"],  // patient
        "Coverage": ["policyHolder", "subscriber", "beneficiary", "payor"],  // policy-holder, subscriber, beneficiary, payor
        "CoverageEligibilityRequest": ["patient"],  // patient
        "CoverageEligibilityResponse": ["patient"],  // patient
        "DetectedIssue": ["patient"],  // patient
        "DeviceRequest": ["subject", "performer"],  // subject, performer
        "DeviceUseStatement": ["subject"],  // subject
        "DiagnosticReport": ["subject"],  // subject
        "DocumentManifest": ["subject", "author", "recipient"],  // subject, author, recipient
        "DocumentReference": ["subject", "author"],  // subject, author
        "Encounter": ["subject"],  // patient
        "EnrollmentRequest": ["candidate"],  // subject
        "EpisodeOfCare": ["patient"],  // patient
        "ExplanationOfBenefit": ["patient", "payee.party"],  // patient, payee
        "FamilyMemberHistory": ["patient"],  // patient
        "Flag": ["subject"],  // patient
        "Goal": ["subject"],  // patient
        "Group": ["member.entity"],  // member
        "ImagingStudy": ["subject"],  // patient
        "Immunization": ["patient"],  // patient
        "ImmunizationEvaluation": ["patient"],  // patient
        "ImmunizationRecommendation": ["patient"],  // patient
        "Invoice": ["subject", "recipient"],  // subject, patient, recipient
        "List": ["subject", "source"],  // subject, source
        "MeasureReport": ["subject"],  // patient
        "Media": ["subject"],  // subject
        "MedicationAdministration": ["subject", "performer.actor"],  // patient, performer, subject
        "MedicationDispense": ["subject", "receiver"],  // subject, patient, receiver
        "MedicationRequest": ["subject"],  // subject
        "MedicationStatement": ["subject"],  // subject
        "MolecularSequence": ["patient"],  // patient
        "NutritionOrder": ["patient"],  // patient
        "Observation": ["subject", "performer"],  // subject, performer
        "Patient": ["link.other"],  // link
        "Person": ["link.target"],  // patient
        "Procedure": ["subject", "performer.actor"],  // patient, performer
        "Provenance": ["target"],  // patient
        "QuestionnaireResponse": ["subject", "author"],  // subject, author
        "RelatedPerson": ["patient"],  // patient
        "RequestGroup": ["subject", "action.participant"],  // subject, participant
        "ResearchSubject": ["individual"],  // individual
        "RiskAssessment": ["subject"],  // subject
        "Schedule": ["actor"],  // actor
        "ServiceRequest": ["subject", "performer"],  // subject, performer
        "Specimen": ["subject"],  // subject
        "SupplyDelivery": ["patient"],  // patient
        "SupplyRequest": ["deliverTo"],  // subject
        "VisionPrescription": ["patient"],  // patient
    ]

    /// Whether resources of `type` belong to a patient's compartment.
    static func contains(_ type: String) -> Bool { elements[type] != nil }

    /// A reference to a Patient found in a compartment element: the element and the patient's id.
    struct PatientLink: Equatable {
        let element: String
        let patientID: String
    }

    /// The `Patient/…` references in the compartment elements of `resource` (of `type`), in
    /// table order; empty for types outside the compartment.
    static func patientLinks(of resource: JSONValue, type: String) -> [PatientLink] {
        guard let elements = elements[type] else { return [] }
        var links: [PatientLink] = []
        for element in elements {
            for node in ResourceIndex.select(element, in: resource) {
                if let id = patientID(in: node) { links.append(PatientLink(element: element, patientID: id)) }
            }
        }
        return links
    }

    /// The patient a Reference node names as `Patient/id` (or `Patient/id/_history/n`), if it does.
    static func patientID(in reference: JSONValue) -> String? {
        guard let text = reference["reference"]?.stringValue, text.hasPrefix("Patient/") else { return nil }
        let id = text.dropFirst(8).prefix { $0 != "/" }
        return id.isEmpty ? nil : String(id)
    }

    /// Every `Type/id` the resource refers to, anywhere in it; contained (`#x`) and absolute
    /// references are left out, since they name nothing in this store or bundle.
    static func references(in value: JSONValue) -> [String] {
        var found: [String] = []
        collect(value, into: &found)
        return found
    }

    private static func collect(_ value: JSONValue, into found: inout [String]) {
        switch value {
        case .object(let members):
            for (key, member) in members {
                if key == "reference", let text = member.stringValue {
                    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
                    if parts.count >= 2, !text.hasPrefix("#"), !text.contains(":") {
                        found.append("\(parts[0])/\(parts[1])")
                    }
                } else {
                    collect(member, into: &found)
                }
            }
        case .array(let elements):
            for element in elements { collect(element, into: &found) }
        default:
            break
        }
    }
}
