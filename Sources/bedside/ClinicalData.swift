import ArgumentParser
import BedsideFHIR
import BedsideServer
import Foundation
import Logging

/// Where the embedded FHIR store lives and how large one import may be; shared by the server
/// and `bedside import`.
struct ClinicalDataOptions: ParsableArguments {
    @Option(help: "SQLite file of the embedded FHIR store. [env: BEDSIDE_FHIR_DATABASE] (default: ./bedside-fhir.sqlite)")
    var fhirDatabase: String?

    @Option(help: "Largest patient import in bytes. [env: BEDSIDE_MAX_IMPORT_BYTES] (default: 33554432, 32 MiB)")
    var maxImportBytes: Int?

    /// Applies flags, then `environment`, then defaults; `seedPatients` is the server's own option.
    func resolve(environment: [String: String], seedPatients: Int? = nil) throws -> ClinicalDataSettings {
        var settings = ClinicalDataSettings()
        settings.databasePath = fhirDatabase ?? environment["BEDSIDE_FHIR_DATABASE"] ?? settings.databasePath
        settings.maxImportBytes =
            try EnvironmentValue.integer(maxImportBytes, "BEDSIDE_MAX_IMPORT_BYTES", environment, minimum: 1) ?? settings.maxImportBytes
        settings.seedPatients =
            try EnvironmentValue.integer(seedPatients, "BEDSIDE_SEED_PATIENTS", environment, minimum: 0) ?? settings.seedPatients
        return settings
    }
}

/// The embedded FHIR store's settings.
struct ClinicalDataSettings: Equatable {
    /// `--fhir-database`, `BEDSIDE_FHIR_DATABASE`; default `./bedside-fhir.sqlite`.
    var databasePath = "./bedside-fhir.sqlite"
    /// Synthetic patients seeded into an empty store at start; 0 seeds none.
    /// `--seed-patients`, `BEDSIDE_SEED_PATIENTS`; default 100.
    var seedPatients = 100
    /// `--max-import-bytes`, `BEDSIDE_MAX_IMPORT_BYTES`; default 32 MiB.
    var maxImportBytes = ServerConfiguration.defaultMaxImportBytes
}

/// Opens the embedded FHIR store and, when it holds nothing yet, seeds it with synthetic patients.
func openClinicalData(_ settings: ClinicalDataSettings, logger: Logger) async throws -> FHIRStore {
    let store = try FHIRStore(path: settings.databasePath)
    guard settings.seedPatients > 0, try await store.isEmpty else { return store }
    let started = ContinuousClock.now
    try await SyntheticPopulation.seed(into: store, patients: settings.seedPatients)
    logger.info(
        "Seeded synthetic patients into the empty FHIR store",
        metadata: [
            "fhir.patients": "\(settings.seedPatients)",
            "fhir.database": "\(settings.databasePath)",
            "duration_ms": "\((ContinuousClock.now - started).milliseconds)",
        ]
    )
    return store
}

/// The embedded FHIR store as the server's ``PatientRecords``.
struct FHIRPatientRecords: PatientRecords {
    let store: FHIRStore
    let maxImportBytes: Int

    // The store does its SQLite work, parsing and planning included, on GRDB's own queues, so an
    // import never holds one of the few cooperative threads.
    func importPatient(_ body: Data) async throws -> (patientID: String, counts: [String: Int]) {
        do {
            let imported = try await store.importPatient(body, maxBytes: maxImportBytes)
            return (imported.patientID, imported.counts)
        } catch let error as FHIRImportError {
            throw PatientImportError(error)
        }
    }

    func patient(id: String) async throws -> String? {
        try await store.patientRecordJSON(patientID: id)
    }
}

extension Duration {
    /// Whole milliseconds, for logs and the import report.
    var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}

extension PatientImportError {
    /// The server's refusal for an import the FHIR importer refused, with its status and issue code.
    init(_ error: FHIRImportError) {
        self.init(
            status: error.status,
            issueCode: error.code.rawValue,
            message: error.message,
            patientIDs: error.patients,
            resources: error.resources
        )
    }
}
