/// FHIR's `id` datatype: 1 to 64 letters, digits, `-` and `.`, and never only dots.
///
/// The R4 pattern `[A-Za-z0-9\-\.]{1,64}` admits `.` and `..`; Bedside refuses every id made of
/// dots alone, because such an id used as a URL path segment (`Patient/..`) names another path.
enum FHIRIdentifier {
    /// Whether `text` is an id Bedside accepts.
    static func isValid(_ text: String) -> Bool {
        var onlyDots = true
        var count = 0
        for byte in text.utf8 {
            count += 1
            guard count <= 64 else { return false }
            switch byte {
            case 46: continue
            case 45, 48...57, 65...90, 97...122: onlyDots = false
            default: return false
            }
        }
        return count > 0 && !onlyDots
    }
}

/// The resource type names of FHIR R4 (4.0.1): what an import may hold and a REST read may name.
///
/// From the R4 `resource-types` value set; the abstract `Resource` and `DomainResource` are left
/// out, since no instance has them as its `resourceType`.
enum FHIRResourceType {
    /// Every concrete R4 resource type.
    static let all: Set<String> = [
        "Account", "ActivityDefinition", "AdverseEvent", "AllergyIntolerance", "Appointment", "AppointmentResponse",
        "AuditEvent", "Basic", "Binary", "BiologicallyDerivedProduct", "BodyStructure", "Bundle", "CapabilityStatement",
        "CarePlan", "CareTeam", "CatalogEntry", "ChargeItem", "ChargeItemDefinition", "Claim", "ClaimResponse",
        "ClinicalImpression", "CodeSystem", "Communication", "CommunicationRequest", "CompartmentDefinition", "Composition",
        "ConceptMap", "Condition", "Consent", "Contract", "Coverage", "CoverageEligibilityRequest",
        "CoverageEligibilityResponse", "DetectedIssue", "Device", "DeviceDefinition", "DeviceMetric", "DeviceRequest",
        "DeviceUseStatement", "DiagnosticReport", "DocumentManifest", "DocumentReference", "EffectEvidenceSynthesis",
        "Encounter", "Endpoint", "EnrollmentRequest", "EnrollmentResponse", "EpisodeOfCare", "EventDefinition", "Evidence",
        "EvidenceVariable", "ExampleScenario", "ExplanationOfBenefit", "FamilyMemberHistory", "Flag", "Goal",
        "GraphDefinition", "Group", "GuidanceResponse", "HealthcareService", "ImagingStudy", "Immunization",
        "ImmunizationEvaluation", "ImmunizationRecommendation", "ImplementationGuide", "InsurancePlan", "Invoice", "Library",
        "Linkage", "List", "Location", "Measure", "MeasureReport", "Media", "Medication", "MedicationAdministration",
        "MedicationDispense", "MedicationKnowledge", "MedicationRequest", "MedicationStatement", "MedicinalProduct",
        "MedicinalProductAuthorization", "MedicinalProductContraindication", "MedicinalProductIndication",
        "MedicinalProductIngredient", "MedicinalProductInteraction", "MedicinalProductManufactured",
        "MedicinalProductPackaged", "MedicinalProductPharmaceutical", "MedicinalProductUndesirableEffect", "MessageDefinition",
        "MessageHeader", "MolecularSequence", "NamingSystem", "NutritionOrder", "Observation", "ObservationDefinition",
        "OperationDefinition", "OperationOutcome", "Organization", "OrganizationAffiliation", "Parameters", "Patient",
        "PaymentNotice", "PaymentReconciliation", "Person", "PlanDefinition", "Practitioner", "PractitionerRole", "Procedure",
        "Provenance", "Questionnaire", "QuestionnaireResponse", "RelatedPerson", "RequestGroup", "ResearchDefinition",
        "ResearchElementDefinition", "ResearchStudy", "ResearchSubject", "RiskAssessment", "RiskEvidenceSynthesis", "Schedule",
        "SearchParameter", "ServiceRequest", "Slot", "Specimen", "SpecimenDefinition", "StructureDefinition", "StructureMap",
        "Subscription", "Substance", "SubstanceNucleicAcid", "SubstancePolymer", "SubstanceProtein",
        "SubstanceReferenceInformation", "SubstanceSourceMaterial", "SubstanceSpecification", "SupplyDelivery",
        "SupplyRequest", "Task", "TerminologyCapabilities", "TestReport", "TestScript", "ValueSet", "VerificationResult",
        "VisionPrescription",
    ]

    /// Whether `name` is an R4 resource type, spelled exactly.
    static func isKnown(_ name: String) -> Bool { all.contains(name) }

    /// The R4 type spelled `name` in any letter case (`observation` → `Observation`), if any.
    static func canonical(_ name: String) -> String? {
        if all.contains(name) { return name }
        let lowered = name.lowercased()
        return byLowercasedName[lowered]
    }

    private static let byLowercasedName = Dictionary(uniqueKeysWithValues: all.map { ($0.lowercased(), $0) })
}
