import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    @Suite struct SyntheaImportTests {
        @Test(arguments: Fixture.synthea)
        func importsEveryBundleWithItsCounts(_ name: String) async throws {
            let temporary = try TemporaryStore()
            let data = try Fixture.data(name)
            let expected = try Fixture.expectedCounts(data)
            let result = try await temporary.store.importPatient(data)
            #expect(result.counts == expected)
            #expect(result.patientID == (try Fixture.patientID(data)))
            // Organizations and Practitioners belong to no patient; everything else is in the compartment.
            var compartment = expected
            compartment["Organization"] = nil
            compartment["Practitioner"] = nil
            #expect(try await temporary.store.counts(patientID: result.patientID) == compartment)
            #expect(try await temporary.store.patientCount() == 1)
        }

        @Test func largestBundleImportsQuicklyWithKnownCounts() async throws {
            let temporary = try TemporaryStore()
            let data = try Fixture.data("patient-margie-hettinger")
            let clock = ContinuousClock()
            var result: ImportResult?
            let elapsed = try await clock.measure { result = try await temporary.store.importPatient(data) }
            print("import of patient-margie-hettinger.json (\(data.count) bytes): \(elapsed)")
            #expect(result?.counts["Observation"] == 88)
            #expect(result?.counts["Procedure"] == 123)
            #expect(result?.counts["AllergyIntolerance"] == 8)
            #expect(elapsed < .seconds(5))
        }

        @Test func reimportReplacesWithoutDuplicates() async throws {
            let temporary = try TemporaryStore()
            let data = try Fixture.data("patient-carroll-ohara")
            let first = try await temporary.store.importPatient(data)
            let before = try await temporary.store.dumpForTests()
            let rows = try await temporary.store.statistics()
            let second = try await temporary.store.importPatient(data)
            #expect(first == second)
            #expect(try await temporary.store.counts(patientID: first.patientID) == temporary.store.counts(patientID: second.patientID))
            #expect(try await temporary.store.dumpForTests() == before)
            #expect(try await temporary.store.statistics() == rows)
            #expect(rows.resources == 171)
            let encounters = try await temporary.store.search(type: "Encounter", parameters: [("patient", first.patientID)])
            #expect(encounters.total == 14)
            let obesity = try await temporary.store.search(type: "Condition", parameters: [("code", "162864005")])
            #expect(obesity.total == 1)
        }

        @Test func urnReferencesBecomeTypeAndID() async throws {
            let temporary = try TemporaryStore()
            let data = try Fixture.data("patient-cris-rath")
            let result = try await temporary.store.importPatient(data)
            let page = try await temporary.store.search(type: "Encounter", parameters: [("patient", result.patientID), ("_count", "1")])
            let encounter = try json(try #require(page.resources.first))
            #expect(encounter["subject"]?["reference"]?.stringValue == "Patient/\(result.patientID)")
            let provider = try #require(encounter["serviceProvider"]?["reference"]?.stringValue)
            #expect(provider.hasPrefix("Organization/"))
            #expect(try await temporary.store.read(type: "Organization", id: String(provider.dropFirst(13))) != nil)
            let all = try await temporary.store.everything(patientID: result.patientID)
            #expect(!all.contains { $0.contains("urn:uuid:") })
        }

        @Test func containedReferencesStayLocal() async throws {
            let temporary = try TemporaryStore()
            let result = try await temporary.store.importPatient(try Fixture.data("patient-carroll-ohara"))
            let benefits = try await temporary.store.search(
                type: "ExplanationOfBenefit",
                parameters: [("patient", result.patientID), ("_count", "100")]
            )
            #expect(benefits.total == 14)
            #expect(benefits.resources.allSatisfy { $0.contains(##""reference":"#coverage""##) })
            #expect(benefits.resources.allSatisfy { $0.contains(##""reference":"#referral""##) })
        }
    }
}
