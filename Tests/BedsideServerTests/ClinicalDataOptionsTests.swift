import BedsideFHIR
import Foundation
import Logging
import Testing

@testable import bedside

/// The executable's clinical data options, the start-up seeding and `bedside import`.
@Suite struct ClinicalDataOptionsTests {
    @Test func defaultsApplyWhenNothingIsSet() throws {
        let settings = try Options.parse([]).resolve(environment: [:])
        #expect(
            settings.clinical == ClinicalDataSettings(databasePath: "./bedside-fhir.sqlite", seedPatients: 100, maxImportBytes: 32 << 20)
        )
        #expect(settings.server.maxImportBytes == 32 << 20)
    }

    @Test func aFlagWinsOverTheEnvironment() throws {
        let environment = ["BEDSIDE_SEED_PATIENTS": "7", "BEDSIDE_FHIR_DATABASE": "/tmp/env.sqlite", "BEDSIDE_MAX_IMPORT_BYTES": "1000"]
        let fromEnvironment = try Options.parse([]).resolve(environment: environment).clinical
        #expect(fromEnvironment == ClinicalDataSettings(databasePath: "/tmp/env.sqlite", seedPatients: 7, maxImportBytes: 1000))
        let flags = ["--seed-patients", "0", "--fhir-database", "/tmp/flag.sqlite", "--max-import-bytes", "2000"]
        let fromFlags = try Options.parse(flags).resolve(environment: environment)
        #expect(fromFlags.clinical == ClinicalDataSettings(databasePath: "/tmp/flag.sqlite", seedPatients: 0, maxImportBytes: 2000))
        #expect(fromFlags.server.maxImportBytes == 2000)
    }

    @Test(arguments: [
        (["--seed-patients", "-1"], [String: String]()),
        ([], ["BEDSIDE_SEED_PATIENTS": "many"]),
        (["--max-import-bytes", "0"], [:]),
        ([], ["BEDSIDE_MAX_IMPORT_BYTES": "-5"]),
    ])
    func badValuesAreRefused(_ flags: [String], _ environment: [String: String]) throws {
        #expect(throws: (any Error).self) { try Options.parse(flags).resolve(environment: environment) }
    }

    @Test func anEmptyStoreIsSeededOnceAndZeroSeedsNothing() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var settings = ClinicalDataSettings(databasePath: directory.path + "/fhir.sqlite", seedPatients: 3)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        #expect(try await openClinicalData(settings, logger: logger).patientCount() == 3)
        settings.seedPatients = 5
        #expect(try await openClinicalData(settings, logger: logger).patientCount() == 3)

        let unseeded = ClinicalDataSettings(databasePath: directory.path + "/empty.sqlite", seedPatients: 0)
        #expect(try await openClinicalData(unseeded, logger: logger).isEmpty)
    }

    @Test func importReportsOneLinePerFile() async throws {
        let store = try FHIRStore.inMemory()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let good = directory.path + "/good.json"
        try SyntheaFixture.data("patient-cris-rath").write(to: URL(fileURLWithPath: good))
        let bad = directory.path + "/bad.json"
        try Data(#"{"resourceType":"Observation"}"#.utf8).write(to: URL(fileURLWithPath: bad))

        guard case .success(let line) = await ImportCommand.importFile(good, into: store, maxBytes: 32 << 20) else {
            Issue.record("the good file was refused")
            return
        }
        #expect(line.hasPrefix("patient \(try SyntheaFixture.patientID(SyntheaFixture.data("patient-cris-rath"))): "))
        #expect(line.contains("Condition "))
        #expect(line.hasSuffix(" ms)"))
        guard case .failure(let message) = await ImportCommand.importFile(bad, into: store, maxBytes: 32 << 20) else {
            Issue.record("the bad file was accepted")
            return
        }
        #expect(message.contains("422 invalid"))
        guard case .failure = await ImportCommand.importFile(directory.path + "/missing.json", into: store, maxBytes: 32 << 20) else {
            Issue.record("a missing file was accepted")
            return
        }
        #expect(try await store.patientCount() == 1)
    }
}
