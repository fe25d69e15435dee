import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    @Suite struct SyntheticPopulationTests {
        @Test func sameSeedGivesIdenticalStores() async throws {
            let first = try TemporaryStore()
            let second = try TemporaryStore(now: { Date(timeIntervalSince1970: 0) })  // the clock must not matter
            try await SyntheticPopulation.seed(into: first.store, patients: 8, seed: 42)
            try await SyntheticPopulation.seed(into: second.store, patients: 8, seed: 42)
            let dump = try await first.store.dumpForTests()
            #expect(dump.count > 8 * 20)
            #expect(try await second.store.dumpForTests() == dump)
            #expect(try await second.store.statistics() == first.store.statistics())

            // Patient n does not depend on how many come after it.
            let fewer = try TemporaryStore()
            try await SyntheticPopulation.seed(into: fewer.store, patients: 3, seed: 42)
            #expect(Set(try await fewer.store.dumpForTests()).isSubset(of: Set(dump)))

            let other = try TemporaryStore()
            try await SyntheticPopulation.seed(into: other.store, patients: 4, seed: 43)
            #expect(try await other.store.dumpForTests() != dump)
        }

        @Test func hundredPatientsSeedInSeconds() async throws {
            let temporary = try TemporaryStore()
            #expect(try await temporary.store.isEmpty)
            let elapsed = try await ContinuousClock().measure {
                try await SyntheticPopulation.seed(into: temporary.store, patients: 100)
            }
            let statistics = try await temporary.store.statistics()
            #expect(statistics.resources > 100 * 40)
            print("seeding 100 synthetic patients (\(statistics.resources) resources): \(elapsed)")
            #expect(try await temporary.store.patientCount() == 100)
            #expect(try await !temporary.store.isEmpty)
            #expect(elapsed < .seconds(20))
        }

        @Test func seededDiabeticsHaveHbA1cAndMetformin() async throws {
            let temporary = try TemporaryStore()
            try await SyntheticPopulation.seed(into: temporary.store, patients: 25)
            let diabetes = try await temporary.store.search(
                type: "Condition",
                parameters: [("code", "http://snomed.info/sct|44054006"), ("clinical-status", "active")]
            )
            #expect(diabetes.total > 0)
            for resource in diabetes.resources {
                let reference = try #require(try json(resource)["subject"]?["reference"]?.stringValue)
                #expect(reference.hasPrefix("Patient/"))
                let patient = String(reference.dropFirst(8))
                let hba1c = try await temporary.store.search(
                    type: "Observation",
                    parameters: [("patient", patient), ("code", "http://loinc.org|4548-4"), ("_sort", "date")]
                )
                #expect(hba1c.total >= 1)
                let values = try hba1c.resources.map { try #require(try json($0)["valueQuantity"]?["value"]) }
                let percentages = values.compactMap { value -> Double? in
                    switch value {
                    case .number(let number): number
                    case .integer(let number): Double(number)
                    default: nil
                    }
                }
                #expect(percentages.count == values.count)
                #expect(percentages.allSatisfy { $0 > 5 && $0 < 12 })
                #expect(try #require(percentages.max()) >= 6.5)  // diagnosed at or above the diagnostic threshold
                let metformin = try await temporary.store.search(
                    type: "MedicationRequest",
                    parameters: [
                        ("patient", patient), ("code", "http://www.nlm.nih.gov/research/umls/rxnorm|860975"), ("status", "active"),
                    ]
                )
                #expect(metformin.total == 1)
                let summary = try await temporary.store.summary(patientID: patient)
                #expect(summary.activeConditions.contains { $0.code == "44054006" })
                #expect(summary.latestLabs.contains { $0.code == "4548-4" && $0.unit == "%" })
            }
        }

        @Test func everySeededPatientHasAHistory() async throws {
            let temporary = try TemporaryStore()
            try await SyntheticPopulation.seed(into: temporary.store, patients: 10, seed: 7)
            let patients = try await temporary.store.search(type: "Patient", parameters: [("_count", "100")])
            #expect(patients.total == 10)
            for resource in patients.resources {
                let patient = try json(resource)
                let id = try #require(patient["id"]?.stringValue)
                #expect(patient["name"] != nil && patient["birthDate"] != nil && patient["address"] != nil)
                #expect(patient["identifier"] != nil && patient["gender"] != nil)
                let counts = try await temporary.store.counts(patientID: id)
                #expect(counts["Encounter", default: 0] >= 1)
                let summary = try await temporary.store.summary(patientID: id)
                let pressure = try #require(summary.latestVitals.first { $0.code == "85354-9" })
                #expect(Set(pressure.components.map(\.code)) == ["8480-6", "8462-4"])
                #expect(summary.latestVitals.contains { $0.code == "8867-4" && $0.unit == "/min" })
                #expect(summary.latestVitals.contains { $0.code == "39156-5" && $0.unit == "kg/m2" })
                #expect(summary.latestLabs.contains { $0.code == "2339-0" && $0.unit == "mg/dL" })
            }
            let vitals = try await temporary.store.search(type: "Observation", parameters: [("category", "vital-signs"), ("_count", "0")])
            let labs = try await temporary.store.search(type: "Observation", parameters: [("category", "laboratory"), ("_count", "0")])
            #expect(vitals.total > 0 && labs.total > 0)
            #expect(try await temporary.store.search(type: "Immunization", parameters: [("code", "140"), ("_count", "0")]).total > 0)
        }

        @Test func reseedingReplacesRatherThanDuplicates() async throws {
            let temporary = try TemporaryStore()
            try await SyntheticPopulation.seed(into: temporary.store, patients: 5, seed: 9)
            let statistics = try await temporary.store.statistics()
            try await SyntheticPopulation.seed(into: temporary.store, patients: 5, seed: 9)
            #expect(try await temporary.store.statistics() == statistics)
            #expect(try await temporary.store.patientCount() == 5)
        }
    }
}
