import BedsideCore
public import Foundation
import GRDB

/// The outcome of a successful import.
public struct ImportResult: Sendable, Equatable {
    /// The id of the imported Patient.
    public let patientID: String
    /// How many resources of each type the input held (and the store now has from it).
    public let counts: [String: Int]

    public init(patientID: String, counts: [String: Int]) {
        self.patientID = patientID
        self.counts = counts
    }
}

extension FHIRStore {
    /// The default size limit of one import: 16 MiB, ten times the largest Synthea patient Bedside ships.
    public static let defaultMaxImportBytes = 16 << 20

    /// Imports a `Patient`, or a transaction, batch or collection `Bundle` holding exactly one Patient.
    ///
    /// All or nothing: the resources are written in one transaction, after every reference has been
    /// resolved (`urn:uuid:` references become `Type/id`). Every resource of the Patient
    /// compartment must belong to the bundle's Patient (see ``PatientCompartment``) and may replace
    /// only a stored resource of that same patient: importing the same patient again replaces its
    /// resources and their search rows, but an id that is another patient's is refused (422
    /// `conflict`). Shared resources (Organization, Practitioner, Location, …) are stored when new
    /// and never replaced: the stored one keeps its content. Throws ``FHIRImportError`` and
    /// stores nothing when the input is refused.
    @discardableResult
    public func importPatient(_ json: Data, maxBytes: Int = FHIRStore.defaultMaxImportBytes) async throws -> ImportResult {
        let plans = try await write(lastUpdated: FHIRDate.iso(Int64(now().timeIntervalSince1970.rounded(.down)))) {
            [try ImportPlan.prepare(json, maxBytes: maxBytes)]
        }
        return ImportResult(patientID: plans[0].patientID, counts: plans[0].counts)
    }

    /// Plans and writes imports in one transaction; a refused input or a reference the store cannot
    /// resolve rolls all of it back.
    ///
    /// Planning runs inside the write, on GRDB's writer queue: it is CPU work (parsing, rewriting,
    /// indexing) that should not hold a Swift concurrency thread, and writes are serial anyway.
    /// Readers are not blocked (WAL).
    @discardableResult
    func write(lastUpdated: String, plans makePlans: @escaping @Sendable () throws -> [ImportPlan]) async throws -> [ImportPlan] {
        try await Self.run {
            try await writer.write { db in
                let plans = try makePlans()
                for plan in plans {
                    try Self.checkReferences(plan, in: db)
                    let owner = try db.cachedStatement(sql: "SELECT patient_id FROM resource WHERE type = ? AND id = ?")
                    for resource in plan.resources {
                        if let stored = try Row.fetchOne(owner, arguments: [resource.type, resource.id]) {
                            if resource.shared { continue }  // shared resources keep their first content
                            try Self.checkOwner(stored["patient_id"], of: resource, importing: plan.patientID)
                        }
                        try Self.store(resource, lastUpdated: lastUpdated, in: db)
                    }
                }
                return plans
            }
        }
    }

    private static func checkReferences(_ plan: ImportPlan, in db: Database) throws {
        let exists = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM resource WHERE type = ? AND id = ?)")
        for reference in plan.externalReferences {
            guard try Bool.fetchOne(exists, arguments: [reference.type, reference.id]) == true else {
                throw FHIRImportError(
                    .notFound,
                    "\(reference.from) refers to \(reference.reference), which is neither in the bundle nor in the store."
                )
            }
        }
    }

    /// Refuses to replace a stored compartment resource that is not the imported patient's. The
    /// message does not name the other patient: who owns an id is not the importer's to learn.
    private static func checkOwner(_ stored: String?, of resource: ImportPlan.Resource, importing patientID: String) throws {
        guard stored != patientID else { return }
        let key = "\(resource.type)/\(resource.id)"
        throw FHIRImportError(
            .conflict,
            "\(key) is already stored as \(stored == nil ? "a record of no patient" : "another patient's record"), not Patient/\(patientID)'s: an import may replace only the imported patient's own resources.",
            patients: [patientID] + (stored.map { [$0] } ?? []),
            resources: [key]
        )
    }

    private static func store(_ resource: ImportPlan.Resource, lastUpdated: String, in db: Database) throws {
        let key: StatementArguments = [resource.type, resource.id]
        for table in ["search_token", "search_string", "search_date"] {
            try db.cachedStatement(sql: "DELETE FROM \(table) WHERE type = ? AND id = ?").execute(arguments: key)
        }
        try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO resource (type, id, patient_id, json, last_updated) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [resource.type, resource.id, resource.patientID, resource.json, lastUpdated])
        let token = try db.cachedStatement(sql: "INSERT INTO search_token (type, id, param, system, code) VALUES (?, ?, ?, ?, ?)")
        for row in resource.index.tokens {
            try token.execute(arguments: [resource.type, resource.id, row.param, row.system, row.code])
        }
        let text = try db.cachedStatement(sql: "INSERT INTO search_string (type, id, param, value, raw) VALUES (?, ?, ?, ?, ?)")
        for row in resource.index.texts {
            try text.execute(arguments: [resource.type, resource.id, row.param, row.normalized, row.raw])
        }
        let date = try db.cachedStatement(sql: #"INSERT INTO search_date (type, id, param, start, "end") VALUES (?, ?, ?, ?, ?)"#)
        for row in resource.index.dates {
            try date.execute(arguments: [resource.type, resource.id, row.param, row.start, row.end])
        }
    }
}
