import GRDB

extension FHIRStore {
    /// `Patient/$everything`: the patient first, then every resource in their compartment.
    ///
    /// `types` keeps only those resource types (`_type`). `start` and `end` (partial dates allowed)
    /// keep the clinical resources whose `date` overlaps that span; resources without a date, such
    /// as the Patient or a Claim, are always included. Throws ``FHIRStoreError`` with code
    /// `notFound` when the store has no such patient.
    public func everything(patientID: String, types: [String]? = nil, start: String? = nil, end: String? = nil) async throws -> [String] {
        var conditions = ["r.patient_id = ?"]
        var arguments: [DatabaseValue] = [patientID.databaseValue]
        if let types {
            conditions.append("r.type IN (\(types.map { _ in "?" }.joined(separator: ", ")))")
            arguments += types.map(\.databaseValue)
        }
        if start != nil || end != nil {
            let lower = try start.map { try Self.dateBound($0, parameter: "start").lowerBound } ?? FHIRDate.minimum
            let upper = try end.map { try Self.dateBound($0, parameter: "end").upperBound } ?? FHIRDate.maximum
            conditions.append(
                """
                (NOT EXISTS (SELECT 1 FROM search_date d WHERE d.type = r.type AND d.id = r.id AND d.param = 'date')
                 OR EXISTS (SELECT 1 FROM search_date d WHERE d.type = r.type AND d.id = r.id AND d.param = 'date'
                            AND d."end" >= ? AND d.start <= ?))
                """
            )
            arguments += [lower.databaseValue, upper.databaseValue]
        }
        let filter = conditions.joined(separator: " AND ")
        return try await Self.run {
            try await writer.read { [arguments] db in
                guard
                    try Bool.fetchOne(
                        db,
                        sql: "SELECT EXISTS (SELECT 1 FROM resource WHERE type = 'Patient' AND id = ?)",
                        arguments: [patientID]
                    )!
                else {
                    throw FHIRStoreError(.notFound, "Patient/\(patientID) is not in the store.")
                }
                return try String.fetchAll(
                    db,
                    sql: """
                        SELECT r.json FROM resource r WHERE \(filter)
                        ORDER BY r.type <> 'Patient', r.type,
                            (SELECT MIN(start) FROM search_date d WHERE d.type = r.type AND d.id = r.id AND d.param = 'date'), r.id
                        """,
                    arguments: StatementArguments(arguments)
                )
            }
        }
    }

    /// How many resources of each type belong to the patient (the Patient itself counts once).
    public func counts(patientID: String) async throws -> [String: Int] {
        try await Self.run {
            try await writer.read { db in
                let rows = try Row.fetchAll(
                    db,
                    sql: "SELECT type, COUNT(*) FROM resource WHERE patient_id = ? GROUP BY type",
                    arguments: [patientID]
                )
                return Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as String, $0[1] as Int) })
            }
        }
    }

    static func dateBound(_ text: String, parameter: String) throws -> ClosedRange<Int64> {
        guard let range = FHIRDate.range(text) else {
            throw FHIRStoreError(.invalidValue, "'\(text)' is not a date for \(parameter): use yyyy, yyyy-MM, yyyy-MM-dd or a dateTime.")
        }
        return range
    }
}
