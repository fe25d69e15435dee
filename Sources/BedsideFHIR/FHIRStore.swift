public import Foundation
import GRDB

/// An embedded FHIR R4 store: resources kept as JSON text in SQLite, next to indexed search rows.
///
/// Every resource type is stored and readable by id and by patient; the types in
/// `SearchParameterCatalog` also answer the search parameters it lists. A file-backed store is a
/// GRDB `DatabasePool` in WAL mode, so searches run while an import writes. The store does not
/// validate resources against FHIR profiles and keeps no version history: a re-import replaces.
///
/// ```swift
/// let store = try FHIRStore(path: "/data/fhir.sqlite")
/// let imported = try await store.importPatient(bundleData)
/// let labs = try await store.search(type: "Observation", parameters: [("patient", imported.patientID), ("category", "laboratory")])
/// ```
public final class FHIRStore: Sendable {
    let writer: any DatabaseWriter
    /// Stamps `last_updated` on imported resources; injected so tests control time.
    let now: @Sendable () -> Date

    /// Opens (creating if needed) the store at `path` in WAL mode.
    public convenience init(path: String, now: @escaping @Sendable () -> Date = Date.init) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            try self.init(writer: DatabasePool(path: path, configuration: configuration), now: now)
        } catch let error as FHIRStoreError {
            throw error
        } catch {
            throw FHIRStoreError(.database, "Cannot open the FHIR database at \(path): \(error)", underlying: error)
        }
    }

    /// A store that lives in memory and disappears with the value: for tests and demos.
    public static func inMemory(now: @escaping @Sendable () -> Date = Date.init) throws -> FHIRStore {
        try FHIRStore(writer: DatabaseQueue(), now: now)
    }

    private init(writer: any DatabaseWriter, now: @escaping @Sendable () -> Date) throws {
        self.writer = writer
        self.now = now
        do {
            try Self.migrator.migrate(writer)
        } catch {
            throw Self.translate(error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-fhir") { db in
            try db.execute(
                sql: """
                    CREATE TABLE resource (
                        type TEXT NOT NULL,
                        id TEXT NOT NULL,
                        patient_id TEXT,
                        json TEXT NOT NULL,
                        last_updated TEXT NOT NULL,
                        PRIMARY KEY (type, id)
                    ) WITHOUT ROWID;
                    CREATE INDEX resource_patient ON resource (patient_id, type);
                    CREATE TABLE search_token (
                        type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, system TEXT, code TEXT NOT NULL
                    );
                    CREATE INDEX search_token_resource ON search_token (type, id, param);
                    CREATE INDEX search_token_code ON search_token (type, param, code);
                    CREATE TABLE search_string (
                        type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, value TEXT NOT NULL, raw TEXT NOT NULL
                    );
                    CREATE INDEX search_string_resource ON search_string (type, id, param);
                    CREATE INDEX search_string_value ON search_string (type, param, value);
                    CREATE TABLE search_date (
                        type TEXT NOT NULL, id TEXT NOT NULL, param TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL
                    );
                    CREATE INDEX search_date_resource ON search_date (type, id, param);
                    CREATE INDEX search_date_start ON search_date (type, param, start);
                    """
            )
        }
        return migrator
    }

    /// The JSON text of `type/id`, or nil when the store does not hold it.
    public func read(type: String, id: String) async throws -> String? {
        try await Self.run {
            try await writer.read { db in
                try String.fetchOne(db, sql: "SELECT json FROM resource WHERE type = ? AND id = ?", arguments: [type, id])
            }
        }
    }

    /// How many patients the store holds.
    public func patientCount() async throws -> Int {
        try await Self.run {
            try await writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM resource WHERE type = 'Patient'") ?? 0
            }
        }
    }

    /// True when the store holds no resource at all: the server seeds synthetic patients only then.
    public var isEmpty: Bool {
        get async throws {
            try await Self.run {
                try await writer.read { db in try !Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM resource)")! }
            }
        }
    }

    /// Runs database work, turning GRDB's errors into ``FHIRStoreError`` and letting the store's own through.
    static func run<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch {
            throw translate(error)
        }
    }

    static func translate(_ error: any Error) -> any Error {
        switch error {
        case is FHIRStoreError, is FHIRImportError: error
        default: FHIRStoreError(.database, "The FHIR database failed: \(error)", underlying: error)
        }
    }
}

/// Row counts of the store's tables: for health checks, metrics and tests.
public struct FHIRStoreStatistics: Sendable, Equatable {
    public let resources: Int
    public let tokenRows: Int
    public let stringRows: Int
    public let dateRows: Int
}

extension FHIRStore {
    /// How many resources and search rows the store holds.
    public func statistics() async throws -> FHIRStoreStatistics {
        try await Self.run {
            try await writer.read { db in
                func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
                return FHIRStoreStatistics(
                    resources: try count("resource"),
                    tokenRows: try count("search_token"),
                    stringRows: try count("search_string"),
                    dateRows: try count("search_date")
                )
            }
        }
    }
}
