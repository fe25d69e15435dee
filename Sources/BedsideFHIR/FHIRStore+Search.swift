import GRDB

extension FHIRStore {
    /// Searches resources of `type`, FHIR REST style.
    ///
    /// Supports `_id`, `_lastUpdated`, `patient`/`subject` (clinical types), the type's own
    /// parameters (see `SearchParameterCatalog`), `_count` (default 50, at most 500), `_offset`
    /// and `_sort`. An unknown parameter or unreadable value throws ``FHIRStoreError``.
    ///
    /// ```swift
    /// let page = try await store.search(type: "Observation", parameters: [("patient", id), ("code", "http://loinc.org|4548-4"), ("_sort", "-date")])
    /// ```
    public func search(type: String, parameters: [(name: String, value: String)]) async throws -> FHIRSearchResult {
        let query = try SearchQuery(type: type, parameters: parameters)
        return try await Self.run {
            try await writer.read { db in
                let arguments = StatementArguments(query.arguments.map(\.databaseValue))
                // The SQL depends only on the query's shape (its values are bound): common
                // shapes are prepared once per connection and kept; a query with many values
                // (long OR lists) is prepared for itself, so that no client can grow the cache.
                func statement(_ sql: String) throws -> Statement {
                    query.arguments.count <= Self.cachedShapeArguments ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
                }
                let total = try Int.fetchOne(
                    statement("SELECT COUNT(*) FROM resource r WHERE \(query.whereClause)"),
                    arguments: arguments
                )!
                var resources: [String] = []
                if query.count > 0 {
                    resources = try String.fetchAll(
                        statement(
                            "SELECT r.json FROM resource r WHERE \(query.whereClause) ORDER BY \(query.orderClause) LIMIT ? OFFSET ?"
                        ),
                        arguments: arguments + [query.count, query.offset]
                    )
                }
                return FHIRSearchResult(resources: resources, total: total, nextOffset: query.nextOffset(total: total))
            }
        }
    }
}

extension FHIRStore {
    /// Searches with at most this many bound values keep their prepared statements.
    static let cachedShapeArguments = 6
}

extension SearchArgument {
    /// The value GRDB binds to the argument's marker.
    fileprivate var databaseValue: DatabaseValue {
        switch self {
        case .text(let text): text.databaseValue
        case .integer(let number): number.databaseValue
        }
    }
}
