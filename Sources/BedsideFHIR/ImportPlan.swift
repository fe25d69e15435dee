import BedsideCore
import Foundation

/// A patient import worked out in memory: ids assigned, references rewritten, rows extracted.
///
/// Everything that needs no database happens here, before the write transaction opens, so the
/// transaction only checks references to the store and writes.
struct ImportPlan: Sendable {
    struct Resource: Sendable {
        let type: String
        let id: String
        /// The patient whose record this is: the imported patient for every resource of the
        /// Patient compartment; for a shared resource, the patient its `subject`, `patient` or
        /// `beneficiary` names (the imported one, or nil).
        let patientID: String?
        /// Outside every patient's compartment (Organization, Practitioner, …): stored only when
        /// the store does not hold it yet, never replaced.
        let shared: Bool
        let json: String
        let index: ResourceIndex
    }

    /// A resource of the input with its id assigned and its references rewritten.
    struct Keyed {
        let type: String
        let id: String
        let resource: JSONValue
    }

    /// A `Type/id` reference to something outside the input, which the store must already hold.
    struct ExternalReference: Sendable, Hashable {
        let type: String
        let id: String
        let reference: String
        let from: String
    }

    let patientID: String
    let resources: [Resource]
    let counts: [String: Int]
    let externalReferences: [ExternalReference]

    /// Plans the import of a parsed `Patient` or `Bundle`; `newID` names resources that have no id.
    init(_ root: JSONValue, newID: () -> String) throws {
        guard let type = root["resourceType"]?.stringValue else {
            throw FHIRImportError(.structure, "The body is not a FHIR resource: it has no resourceType.")
        }
        let entries: [(fullUrl: String?, resource: [String: JSONValue])]
        switch type {
        case "Patient":
            entries = [(nil, root.objectValue!)]
        case "Bundle":
            entries = try Self.entries(of: root)
        default:
            throw FHIRImportError(
                .invalid,
                "resourceType '\(type)' cannot be imported: send a Patient or a Bundle (transaction, batch or collection)."
            )
        }

        var keyed: [(type: String, id: String, resource: [String: JSONValue])] = []
        var targets: [String: String] = [:]  // fullUrl -> Type/id
        var known = Set<String>()
        var counts: [String: Int] = [:]
        for (position, entry) in entries.enumerated() {
            let resource = entry.resource
            let type = resource["resourceType"]!.stringValue!
            let id: String
            if let given = resource["id"] {
                guard let text = given.stringValue, FHIRIdentifier.isValid(text) else {
                    throw FHIRImportError(
                        .invalid,
                        "Entry \(position) (\(type)) has an invalid id: \(FHIRJSON.text(given)) (an id is 1 to 64 letters, digits, '-' and '.', not dots alone)."
                    )
                }
                id = text
            } else if let uuid = entry.fullUrl.flatMap(Self.uuid), FHIRIdentifier.isValid(uuid) {
                id = uuid
            } else {
                id = newID()
            }
            guard known.insert("\(type)/\(id)").inserted else {
                throw FHIRImportError(.invalid, "\(type)/\(id) appears more than once in the bundle.")
            }
            if let fullUrl = entry.fullUrl { targets[fullUrl] = "\(type)/\(id)" }
            counts[type, default: 0] += 1
            keyed.append((type, id, resource))
        }
        let patients = keyed.filter { $0.type == "Patient" }
        guard patients.count == 1 else {
            throw FHIRImportError(
                .invalid,
                patients.isEmpty
                    ? "The bundle holds no Patient: an import needs exactly one."
                    : "The bundle holds \(patients.count) Patients (\(patients.map(\.id).joined(separator: ", "))): an import needs exactly one."
            )
        }
        patientID = patients[0].id

        var rewriter = ReferenceRewriter(targets: targets, known: known)
        var rewritten: [Keyed] = []
        rewritten.reserveCapacity(keyed.count)
        for (type, id, members) in keyed {
            var members = members
            members["id"] = .string(id)
            rewriter.source = "\(type)/\(id)"
            rewritten.append(Keyed(type: type, id: id, resource: try rewriter.rewrite(.object(members))))
        }
        let owners = try Self.owners(of: rewritten, patientID: patientID)
        resources = zip(rewritten, owners).map { entry, owner in
            Resource(
                type: entry.type,
                id: entry.id,
                patientID: owner,
                shared: !PatientCompartment.contains(entry.type),
                json: FHIRJSON.text(entry.resource),
                index: ResourceIndex(type: entry.type, resource: entry.resource)
            )
        }
        self.counts = counts
        externalReferences = rewriter.external
    }

    private static func entries(of bundle: JSONValue) throws -> [(fullUrl: String?, resource: [String: JSONValue])] {
        let kind = bundle["type"]?.stringValue ?? "(none)"
        guard ["transaction", "batch", "collection"].contains(kind) else {
            throw FHIRImportError(.invalid, "Bundle.type '\(kind)' cannot be imported: use transaction, batch or collection.")
        }
        guard let entries = bundle["entry"]?.arrayValue else {
            throw FHIRImportError(.invalid, "The bundle has no entries, so no Patient: an import needs exactly one.")
        }
        return try entries.enumerated().map { position, entry in
            guard let resource = entry["resource"]?.objectValue else {
                throw FHIRImportError(.structure, "Bundle.entry[\(position)] has no resource.")
            }
            guard let type = resource["resourceType"]?.stringValue, !type.isEmpty else {
                throw FHIRImportError(.structure, "Bundle.entry[\(position)].resource has no resourceType.")
            }
            guard FHIRResourceType.isKnown(type) else {
                throw FHIRImportError(
                    .invalid,
                    "Bundle.entry[\(position)].resource has the resourceType '\(type)', which is not a FHIR R4 resource type."
                )
            }
            return (entry["fullUrl"]?.stringValue, resource)
        }
    }

    private static func uuid(_ fullUrl: String) -> String? {
        fullUrl.hasPrefix("urn:uuid:") ? String(fullUrl.dropFirst(9)) : nil
    }

    /// The patient a resource belongs to, from `subject`, `patient` or `beneficiary`.
    static func patientReference(of resource: JSONValue) -> String? {
        for key in ["subject", "patient", "beneficiary"] {
            guard let reference = resource[key]?["reference"]?.stringValue, reference.hasPrefix("Patient/") else { continue }
            let id = reference.dropFirst(8).prefix { $0 != "/" }
            if !id.isEmpty { return String(id) }
        }
        return nil
    }
}

extension ImportPlan {
    /// Checks the size, parses the JSON and plans the import; throws ``FHIRImportError``.
    static func prepare(_ json: Data, maxBytes: Int) throws -> ImportPlan {
        guard json.count <= maxBytes else {
            throw FHIRImportError(status: 413, .tooCostly, "The import is \(json.count) bytes, over the limit of \(maxBytes) bytes.")
        }
        let root: JSONValue
        do {
            root = try FHIRJSON.parse(json)
        } catch {
            throw FHIRImportError(status: 400, .invalid, "The body is not valid JSON: \(error.localizedDescription)")
        }
        guard root.objectValue != nil else {
            throw FHIRImportError(.structure, "The body is JSON \(root.typeName), not a FHIR resource object.")
        }
        return try ImportPlan(root, newID: { UUID().uuidString.lowercased() })
    }
}
