import BedsideCore
import BedsideFHIR
import BedsideTestSupport
import Foundation
import Testing

/// The parent of every FHIR suite, run one test at a time.
///
/// Imports and seeding are CPU-bound; run in parallel they would take every core for seconds and
/// starve the timing-sensitive tests of other targets that share the test process.
@Suite(.serialized) enum FHIRTests {}

/// Fixtures and throwaway stores shared by the FHIR tests.
enum Fixture {
    static let synthea = [
        "patient-margie-hettinger", "patient-lean-davis", "patient-kallie-frami", "patient-carroll-ohara", "patient-cris-rath",
    ]

    static func data(_ name: String, folder: String = "synthea") throws -> Data {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/\(folder)"))
        return try Data(contentsOf: url)
    }

    /// A store holding the hand-written clinic bundle (patient p1) and the bare patient p2.
    static func clinic() async throws -> TemporaryStore {
        let temporary = try TemporaryStore()
        try await temporary.store.importPatient(try data("clinic-bundle", folder: "handwritten"))
        try await temporary.store.importPatient(try data("patient-ana", folder: "handwritten"))
        return temporary
    }

    /// The per-type counts of a bundle's entries, read straight from its JSON.
    static func expectedCounts(_ data: Data) throws -> [String: Int] { try BundleFacts.counts(data) }

    /// The id of the bundle's Patient.
    static func patientID(_ data: Data) throws -> String { try BundleFacts.patientID(data) }
}

/// A file-backed store in a fresh temporary directory, removed when the test ends.
final class TemporaryStore {
    let directory: URL
    let store: FHIRStore

    init(now: @escaping @Sendable () -> Date = { Date(timeIntervalSince1970: 1_700_000_000) }) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bedside-fhir-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try FHIRStore(path: directory.appendingPathComponent("fhir.sqlite").path, now: now)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }
}

extension FHIRStore {
    /// Every stored resource of the usual types, page by page: two stores with equal dumps hold the same data.
    func dumpForTests() async throws -> [String] {
        var lines: [String] = []
        for type in Fixture.types {
            var offset: Int? = 0
            while let current = offset {
                let page = try await search(type: type, parameters: [("_count", "500"), ("_sort", "_id"), ("_offset", String(current))])
                lines += page.resources
                offset = page.nextOffset
            }
        }
        return lines
    }
}

extension Fixture {
    static let types = [
        "Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "AllergyIntolerance", "Procedure", "Immunization",
        "DiagnosticReport", "CarePlan", "CareTeam", "Claim", "ExplanationOfBenefit", "Organization", "Practitioner",
    ]
}

/// JSON text parsed for assertions.
func json(_ text: String) throws -> JSONValue { try FHIRJSON.parse(text) }

/// The `id` of each resource on a page.
func ids(_ result: FHIRSearchResult) throws -> [String] {
    try result.resources.map { try #require(try json($0)["id"]?.stringValue) }
}
