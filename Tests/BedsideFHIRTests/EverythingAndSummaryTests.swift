import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    @Suite struct EverythingAndSummaryTests {
        func types(_ resources: [String]) throws -> [String] {
            try resources.map { try #require(try json($0)["resourceType"]?.stringValue) }
        }

        @Test func everythingReturnsThePatientFirstAndTheWholeCompartment() async throws {
            let temporary = try TemporaryStore()
            let data = try Fixture.data("patient-margie-hettinger")
            let patientID = try await temporary.store.importPatient(data).patientID
            let all = try await temporary.store.everything(patientID: patientID)
            #expect(all.count == 455 - 5 - 5)  // Organizations and Practitioners are outside the compartment
            #expect(try types(all).first == "Patient")
            #expect(try types(all).filter { $0 == "Patient" }.count == 1)

            let some = try await temporary.store.everything(patientID: patientID, types: ["Observation", "Condition"])
            #expect(some.count == 88 + 10)
            #expect(Set(try types(some)) == ["Observation", "Condition"])
        }

        @Test func everythingFiltersClinicalResourcesByDate() async throws {
            let clinic = try await Fixture.clinic()
            let in2019 = try await clinic.store.everything(patientID: "p1", types: ["Observation"], start: "2019", end: "2019")
            #expect(Set(try in2019.map { try json($0)["id"]?.stringValue }) == ["o1", "o2", "o4"])

            let from2020 = try await clinic.store.everything(patientID: "p1", start: "2020-01-01")
            let ids = Set(try from2020.map { try json($0)["id"]?.stringValue })
            // The dated resources from 2020 on, the running CarePlan, and the undated Patient and Claim.
            #expect(ids == ["p1", "o3", "o5", "i1", "cp1", "cl1"])

            let until2015 = try await clinic.store.everything(patientID: "p1", types: ["Condition", "MedicationRequest"], end: "2015-12")
            #expect(Set(try until2015.map { try json($0)["id"]?.stringValue }) == ["c2", "m2"])
        }

        @Test func everythingForAnUnknownPatientThrowsNotFound() async throws {
            let clinic = try await Fixture.clinic()
            let error = try await #require(throws: FHIRStoreError.self) { try await clinic.store.everything(patientID: "ghost") }
            #expect(error.code == .notFound)
            let bad = try await #require(throws: FHIRStoreError.self) { try await clinic.store.everything(patientID: "p1", start: "soon") }
            #expect(bad.code == .invalidValue)
        }

        @Test func summaryOfASyntheaPatient() async throws {
            let temporary = try TemporaryStore()
            let patientID = try await temporary.store.importPatient(try Fixture.data("patient-margie-hettinger")).patientID
            let summary = try await temporary.store.summary(patientID: patientID)
            #expect(summary.name == "Margie619 Hettinger594")
            #expect(summary.gender == "female")
            #expect(summary.birthDate == "1995-03-26")
            #expect(summary.deceased == nil)
            #expect(summary.activeConditions.map(\.code) == ["446096008"])
            #expect(summary.activeConditions.first?.display == "Perennial allergic rhinitis")
            #expect(Set(summary.activeMedications.compactMap(\.code)) == ["665078", "1870230", "748879"])
            #expect(summary.allergies.count == 7)  // the wheat allergy is inactive
            #expect(!summary.allergies.contains { $0.code == "420174000" })
            #expect(summary.allergies.allSatisfy { $0.criticality == "low" })

            let weight = try #require(summary.latestVitals.first { $0.code == "29463-7" })
            #expect(weight.value == 71.9)
            #expect(weight.unit == "kg")
            #expect(weight.date == "2020-07-26T17:38:52+00:00")
            let height = try #require(summary.latestVitals.first { $0.code == "8302-2" })
            #expect(height.value == 180.8)
            let pressure = try #require(summary.latestVitals.first { $0.code == "85354-9" })
            #expect(Set(pressure.components.map(\.code)) == ["8480-6", "8462-4"])
            #expect(pressure.components.allSatisfy { $0.unit == "mm[Hg]" && $0.value != nil })
            #expect(summary.latestVitals.count == 7)
            #expect(!summary.latestVitals.contains { $0.code == "72166-2" })  // a survey, not a vital sign

            #expect(summary.latestLabs.count == 11)
            let hemoglobin = try #require(summary.latestLabs.first { $0.code == "718-7" })
            #expect(hemoglobin.value == 14.101)
            #expect(hemoglobin.date == "2017-05-28T17:38:52+00:00")

            let encoded = try JSONEncoder().encode(summary)
            #expect(String(decoding: encoded, as: UTF8.self).contains("Perennial allergic rhinitis"))
        }

        @Test func summaryOfADeceasedPatient() async throws {
            let temporary = try TemporaryStore()
            let patientID = try await temporary.store.importPatient(try Fixture.data("patient-kallie-frami")).patientID
            let summary = try await temporary.store.summary(patientID: patientID)
            #expect(summary.deceased?.hasPrefix("2011-09-07") == true)
            #expect(summary.activeConditions.contains { $0.display.localizedCaseInsensitiveContains("emphysema") })
        }
    }
}
