import BedsideCore

extension ImportPlan {
    /// The patient each resource of an import belongs to, or a refusal when one belongs to
    /// another patient or to none.
    ///
    /// A resource of the Patient compartment (``PatientCompartment``) belongs to the imported
    /// patient when one of its compartment elements refers to that Patient, or, when none refers
    /// to any Patient, when it refers to a resource of the same bundle that belongs to the patient
    /// (an Observation whose only link is its Encounter). A compartment element, or the
    /// `subject`/`patient`/`beneficiary` of any resource, that names another Patient refuses the
    /// import. Shared resources (outside the compartment) belong to nobody unless their
    /// `subject`/`patient`/`beneficiary` names the imported patient.
    ///
    /// Whether an id is already another patient's in the store is checked in the write
    /// transaction, not here.
    static func owners(of resources: [Keyed], patientID: String) throws -> [String?] {
        var owners = [String?](repeating: nil, count: resources.count)
        var owned = Set<String>()
        var pending: [Int] = []
        for (position, entry) in resources.enumerated() {
            let key = "\(entry.type)/\(entry.id)"
            let links = PatientCompartment.patientLinks(of: entry.resource, type: entry.type)
            if let other = links.first(where: { $0.patientID != patientID }) {
                throw foreign(key, other.patientID, other.element, patientID)
            }
            if let named = patientReference(of: entry.resource), named != patientID, entry.type != "Patient" {
                throw foreign(key, named, "subject, patient or beneficiary", patientID)
            }
            if entry.type == "Patient" {
                owners[position] = patientID
                owned.insert(key)
            } else if !PatientCompartment.contains(entry.type) {
                owners[position] = patientReference(of: entry.resource)
            } else if !links.isEmpty {
                owners[position] = patientID
                owned.insert(key)
            } else {
                pending.append(position)
            }
        }
        // Resources linked only through others of the bundle: a chain may run in any order.
        let references = pending.map { PatientCompartment.references(in: resources[$0].resource) }
        var unresolved = Array(pending.indices)
        var progressed = true
        while progressed, !unresolved.isEmpty {
            progressed = false
            unresolved.removeAll { index in
                guard references[index].contains(where: owned.contains) else { return false }
                let position = pending[index]
                owners[position] = patientID
                owned.insert("\(resources[position].type)/\(resources[position].id)")
                progressed = true
                return true
            }
        }
        if let index = unresolved.first {
            let entry = resources[pending[index]]
            let elements = PatientCompartment.elements[entry.type, default: []].joined(separator: ", ")
            throw FHIRImportError(
                .businessRule,
                "\(entry.type)/\(entry.id) does not belong to the imported Patient/\(patientID): none of its \(elements) refers to that Patient, and it refers to no resource of the bundle that does.",
                patients: [patientID],
                resources: ["\(entry.type)/\(entry.id)"]
            )
        }
        return owners
    }

    private static func foreign(_ key: String, _ other: String, _ element: String, _ patientID: String) -> FHIRImportError {
        FHIRImportError(
            .businessRule,
            "\(key) belongs to Patient/\(other) (its \(element)), not to the imported Patient/\(patientID): an import may hold only that patient's records.",
            patients: [patientID, other],
            resources: [key]
        )
    }
}
