import BedsideCore
import BedsideFHIR
import Foundation
import Testing

/// The first question Bedside suggests names a synthetic patient, never an imported one.
@Suite struct ExampleQuestionTests {
    @Test func namesASeededPatientTheOfflineModelCanAnswerAbout() async throws {
        let store = try FHIRStore.inMemory()
        try await SyntheticPopulation.seed(into: store, patients: 8)
        let question = try #require(try await SyntheticPopulation.exampleQuestion(in: store))
        #expect(question.hasPrefix("What conditions does "))
        let name = String(question.dropFirst("What conditions does ".count).dropLast(" have?".count))
        let found = try await FHIRTools(source: EmbeddedFHIRSource(store: store))
            .call("find_patients", arguments: .object(["name": .string(name)]))
        #expect(try FHIRJSON.parse(found.content)["count"] != .integer(0))
    }

    @Test func neverNamesAnImportedPatient() async throws {
        let temporary = try TemporaryStore()
        try await temporary.store.importPatient(try Fixture.data("patient-lean-davis"))
        #expect(try await SyntheticPopulation.exampleQuestion(in: temporary.store) == nil)
    }
}
