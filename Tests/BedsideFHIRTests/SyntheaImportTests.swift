import BedsideCore
import BedsideFHIR
import Foundation
import Testing

@Suite struct SyntheaImportTests {
    @Test(arguments: Fixture.synthea)
    func importsEveryBundleWithItsCounts(_ name: String) throws {
        let temporary = try TemporaryStore()
        let data = try Fixture.data(name)
        let expected = try Fixture.expectedCounts(data)
        let result = try temporary.store.importPatient(data)
        #expect(result.counts == expected)
        #expect(result.patientID == (try Fixture.patientID(data)))
        // Organizations and Practitioners belong to no patient; everything else is in the compartment.
        var compartment = expected
        compartment["Organization"] = nil
        compartment["Practitioner"] = nil
        #expect(try temporary.store.counts(patientID: result.patientID) == compartment)
        #expect(try temporary.store.patientCount() == 1)
    }

    @Test func largestBundleImportsQuicklyWithKnownCounts() throws {
        let temporary = try TemporaryStore()
        let data = try Fixture.data("patient-margie-hettinger")
        let clock = ContinuousClock()
        var result: ImportResult?
        let elapsed = try clock.measure { result = try temporary.store.importPatient(data) }
        print("import of patient-margie-hettinger.json (\(data.count) bytes): \(elapsed)")
        #expect(result?.counts["Observation"] == 88)
        #expect(result?.counts["Procedure"] == 123)
        #expect(result?.counts["AllergyIntolerance"] == 8)
        #expect(elapsed < .seconds(5))
    }

    @Test func reimportReplacesWithoutDuplicates() throws {
        let temporary = try TemporaryStore()
        let data = try Fixture.data("patient-carroll-ohara")
        let first = try temporary.store.importPatient(data)
        let before = try temporary.store.dumpForTests()
        let rows = try temporary.store.statistics()
        let second = try temporary.store.importPatient(data)
        #expect(first == second)
        #expect(try temporary.store.counts(patientID: first.patientID) == temporary.store.counts(patientID: second.patientID))
        #expect(try temporary.store.dumpForTests() == before)
        #expect(try temporary.store.statistics() == rows)
        #expect(rows.resources == 171)
        let encounters = try temporary.store.search(type: "Encounter", parameters: [("patient", first.patientID)])
        #expect(encounters.total == 14)
        let obesity = try temporary.store.search(type: "Condition", parameters: [("code", "162864005")])
        #expect(obesity.total == 1)
    }

    @Test func urnReferencesBecomeTypeAndID() throws {
        let temporary = try TemporaryStore()
        let data = try Fixture.data("patient-cris-rath")
        let result = try temporary.store.importPatient(data)
        let page = try temporary.store.search(type: "Encounter", parameters: [("patient", result.patientID), ("_count", "1")])
        let encounter = try json(try #require(page.resources.first))
        #expect(encounter["subject"]?["reference"]?.stringValue == "Patient/\(result.patientID)")
        let provider = try #require(encounter["serviceProvider"]?["reference"]?.stringValue)
        #expect(provider.hasPrefix("Organization/"))
        #expect(try temporary.store.read(type: "Organization", id: String(provider.dropFirst(13))) != nil)
        let all = try temporary.store.everything(patientID: result.patientID)
        #expect(!all.contains { $0.contains("urn:uuid:") })
    }

    @Test func containedReferencesStayLocal() throws {
        let temporary = try TemporaryStore()
        let result = try temporary.store.importPatient(try Fixture.data("patient-carroll-ohara"))
        let benefits = try temporary.store.search(
            type: "ExplanationOfBenefit",
            parameters: [("patient", result.patientID), ("_count", "100")]
        )
        #expect(benefits.total == 14)
        #expect(benefits.resources.allSatisfy { $0.contains(##""reference":"#coverage""##) })
        #expect(benefits.resources.allSatisfy { $0.contains(##""reference":"#referral""##) })
    }
}
