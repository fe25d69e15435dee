import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    /// Search parameters, modifiers and prefixes against the hand-written clinic bundle.
    @Suite struct SearchTests {
        let clinic: TemporaryStore
        var store: FHIRStore { clinic.store }

        init() async throws { clinic = try await Fixture.clinic() }

        /// The ids matching a search, sorted so tests compare sets.
        func matches(_ type: String, _ parameters: [(name: String, value: String)]) async throws -> [String] {
            try await ids(store.search(type: type, parameters: parameters)).sorted()
        }

        @Test func patientStringSearchIgnoresCaseAndAccents() async throws {
            #expect(try await matches("Patient", [("name", "jose")]) == ["p1"])
            #expect(try await matches("Patient", [("name", "ANA")]) == ["p2"])
            #expect(try await matches("Patient", [("family", "nunez")]) == ["p1", "p2"])
            #expect(try await matches("Patient", [("family", "NÚÑ")]) == ["p1", "p2"])
            #expect(try await matches("Patient", [("family", "unez")]).isEmpty)  // starts with, not contains
            #expect(try await matches("Patient", [("given", "lu")]) == ["p1"])
            #expect(try await matches("Patient", [("address", "spring")]) == ["p1"])
        }

        @Test func stringModifiers() async throws {
            #expect(try await matches("Patient", [("family:exact", "Núñez")]) == ["p1"])
            #expect(try await matches("Patient", [("family:exact", "nunez")]).isEmpty)
            #expect(try await matches("Patient", [("family:contains", "smith")]) == ["p2"])
            #expect(try await matches("Patient", [("name:contains", "UIS")]) == ["p1"])
            #expect(try await matches("Patient", [("family", "nunez-"), ("given", "ana")]) == ["p2"])
            #expect(try await matches("Patient", [("family", "%")]).isEmpty)  // LIKE wildcards are matched literally
            #expect(try await matches("Patient", [("family", "n_nez")]).isEmpty)
        }

        @Test func patientTokenAndDateParameters() async throws {
            #expect(try await matches("Patient", [("gender", "female")]) == ["p2"])
            #expect(try await matches("Patient", [("gender", "male,female")]) == ["p1", "p2"])
            #expect(try await matches("Patient", [("identifier", "urn:mrn|123")]) == ["p1"])
            #expect(try await matches("Patient", [("identifier", "456")]) == ["p2"])
            #expect(try await matches("Patient", [("identifier", "urn:other|123")]).isEmpty)
            #expect(try await matches("Patient", [("identifier", "urn:mrn|")]) == ["p1", "p2"])
            #expect(try await matches("Patient", [("birthdate", "1980")]) == ["p1"])
            #expect(try await matches("Patient", [("birthdate", "1980-05-15")]) == ["p1"])
            #expect(try await matches("Patient", [("birthdate", "ge1985")]) == ["p2"])
            #expect(try await matches("Patient", [("birthdate", "1990-06")]).isEmpty)  // 1990 is wider than June 1990
            #expect(try await matches("Patient", [("birthdate", "ap1990-06")]) == ["p2"])
            #expect(try await matches("Patient", [("_id", "p2")]) == ["p2"])
            #expect(try await matches("Patient", [("_id", "p1,p2")]) == ["p1", "p2"])
        }

        @Test(arguments: [
            ("2019", ["o1", "o2"]),
            ("eq2019", ["o1", "o2"]),
            ("2019-05", ["o1"]),
            ("2019-05-10", ["o1"]),
            ("ne2019", ["o3", "o4", "o5"]),
            ("gt2019", ["o3", "o5"]),
            ("lt2019", ["o4"]),
            ("ge2019", ["o1", "o2", "o3", "o5"]),
            ("le2019", ["o1", "o2", "o4"]),
            ("sa2019", ["o3", "o5"]),
            ("eb2019-03", ["o4"]),
            ("ap2019-01", ["o4"]),
            ("2020-01-01", ["o3"]),
            ("2021-06-01", ["o5"]),
            ("ge2021-06-01T07:00:00+02:00", ["o5"]),
            ("lt2021-06-01T07:30:00+02:00", ["o1", "o2", "o3", "o4"]),
            ("gt2019-12-31T22:00:00Z", ["o2", "o3", "o5"]),
            ("2019-05,2020", ["o1", "o3"]),
        ])
        func observationDatePrefixes(_ value: String, _ expected: [String]) async throws {
            #expect(try await matches("Observation", [("date", value)]) == expected)
        }

        @Test func repeatedDateParametersAreAnded() async throws {
            #expect(try await matches("Observation", [("date", "ge2019"), ("date", "lt2020")]) == ["o1", "o2"])
        }

        @Test func observationTokens() async throws {
            #expect(try await matches("Observation", [("code", "4548-4")]) == ["o1", "o4"])
            #expect(try await matches("Observation", [("code", "http://loinc.org|4548-4")]) == ["o1", "o4"])
            #expect(try await matches("Observation", [("code", "http://snomed.info/sct|4548-4")]).isEmpty)
            #expect(try await matches("Observation", [("code", "|4548-4")]).isEmpty)  // it has a system
            #expect(try await matches("Observation", [("code", "4548-4,2339-0")]) == ["o1", "o2", "o4"])
            #expect(try await matches("Observation", [("code", "4548-4"), ("code", "2339-0")]).isEmpty)
            #expect(try await matches("Observation", [("category", "laboratory")]) == ["o1", "o2", "o4"])
            #expect(try await matches("Observation", [("category", "vital-signs"), ("date", "2021")]) == ["o5"])
            #expect(try await matches("Observation", [("status", "amended")]) == ["o2"])
        }

        @Test func patientAndSubjectReferences() async throws {
            #expect(try await matches("Observation", [("patient", "p1")]).count == 5)
            #expect(try await matches("Observation", [("subject", "Patient/p1")]).count == 5)
            #expect(try await matches("Observation", [("patient", "p2")]).isEmpty)
            #expect(try await matches("Observation", [("subject", "Group/p1")]).isEmpty)
            #expect(try await matches("Claim", [("patient", "p1")]) == ["cl1"])
        }

        @Test func everyClinicalTypeAnswersItsParameters() async throws {
            #expect(try await matches("Encounter", [("date", "2019-05-10"), ("status", "finished"), ("class", "AMB")]) == ["e1"])
            #expect(try await matches("Encounter", [("type", "162673000")]) == ["e1"])
            #expect(try await matches("Condition", [("code", "http://snomed.info/sct|44054006")]) == ["c1"])
            #expect(try await matches("Condition", [("clinical-status", "active")]) == ["c1"])
            #expect(try await matches("Condition", [("category", "encounter-diagnosis")]) == ["c2"])
            #expect(try await matches("Condition", [("date", "2015")]) == ["c2"])  // recordedDate when there is no onset
            #expect(try await matches("Condition", [("onset-date", "2015")]).isEmpty)
            #expect(try await matches("MedicationRequest", [("status", "active")]) == ["m1"])
            #expect(try await matches("MedicationRequest", [("code", "860975"), ("date", "2019-05")]) == ["m1"])
            #expect(try await matches("MedicationRequest", [("authoredon", "lt2016")]) == ["m2"])
            #expect(try await matches("AllergyIntolerance", [("clinical-status", "active"), ("category", "food")]) == ["a1"])
            #expect(try await matches("AllergyIntolerance", [("criticality", "high"), ("code", "91935009"), ("date", "2018")]) == ["a1"])
            #expect(try await matches("Procedure", [("date", "2019-05-10"), ("code", "73761001"), ("status", "completed")]) == ["pr1"])
            #expect(try await matches("Procedure", [("date", "2019-05-10T09:00")]).isEmpty)  // 09:10–09:40 is not within 09:00–09:00:59
            #expect(
                try await matches("Immunization", [("vaccine-code", "http://hl7.org/fhir/sid/cvx|140"), ("date", "2020-10")]) == ["i1"]
            )
            #expect(try await matches("Immunization", [("code", "140")]) == ["i1"])
            #expect(try await matches("DiagnosticReport", [("category", "LAB"), ("code", "24323-8"), ("date", "2019")]) == ["d1"])
            #expect(try await matches("CarePlan", [("category", "698360004"), ("status", "active")]) == ["cp1"])
            #expect(try await matches("CarePlan", [("date", "ge2024")]) == ["cp1"])  // no end: still running
            #expect(try await matches("CarePlan", [("date", "2019")]).isEmpty)  // not within 2019
            #expect(try await matches("CarePlan", [("date", "ap2030")]) == ["cp1"])
            #expect(try await matches("CarePlan", [("activity-code", "160670007")]) == ["cp1"])
        }

        @Test func sortsByDateFamilyBirthdateAndLastUpdated() async throws {
            let ascending = try await ids(store.search(type: "Observation", parameters: [("_sort", "date")]))
            #expect(ascending == ["o4", "o1", "o2", "o3", "o5"])
            let descending = try await ids(store.search(type: "Observation", parameters: [("_sort", "-date")]))
            #expect(descending == ["o5", "o3", "o2", "o1", "o4"])
            #expect(try await ids(store.search(type: "Patient", parameters: [("_sort", "family")])) == ["p1", "p2"])
            #expect(try await ids(store.search(type: "Patient", parameters: [("_sort", "-family")])) == ["p2", "p1"])
            #expect(try await ids(store.search(type: "Patient", parameters: [("_sort", "-birthdate")])) == ["p2", "p1"])

            let clock = TestClock(seconds: 1_600_000_000)
            let temporary = try TemporaryStore(now: { clock.now })
            try await temporary.store.importPatient(try Fixture.data("patient-ana", folder: "handwritten"))
            clock.seconds -= 86_400
            try await temporary.store.importPatient(try Fixture.data("clinic-bundle", folder: "handwritten"))
            #expect(try await ids(temporary.store.search(type: "Patient", parameters: [("_sort", "_lastUpdated")])) == ["p1", "p2"])
            #expect(try await ids(temporary.store.search(type: "Patient", parameters: [("_sort", "-_lastUpdated")])) == ["p2", "p1"])
            #expect(try await ids(temporary.store.search(type: "Patient", parameters: [("_lastUpdated", "2020-09-13")])) == ["p2"])
        }

        @Test func pagesWithCountAndOffset() async throws {
            let first = try await store.search(type: "Observation", parameters: [("_sort", "date"), ("_count", "2")])
            #expect(try ids(first) == ["o4", "o1"])
            #expect(first.total == 5)
            #expect(first.nextOffset == 2)
            let second = try await store.search(type: "Observation", parameters: [("_sort", "date"), ("_count", "2"), ("_offset", "2")])
            #expect(try ids(second) == ["o2", "o3"])
            #expect(second.nextOffset == 4)
            let last = try await store.search(type: "Observation", parameters: [("_sort", "date"), ("_count", "2"), ("_offset", "4")])
            #expect(try ids(last) == ["o5"])
            #expect(last.nextOffset == nil)
            let countOnly = try await store.search(type: "Observation", parameters: [("_count", "0")])
            #expect(countOnly.resources.isEmpty)
            #expect(countOnly.total == 5)
        }

        @Test func defaultAndMaximumPageSizes() async throws {
            let temporary = try TemporaryStore()
            let patient = try await temporary.store.importPatient(try Fixture.data("patient-lean-davis")).patientID
            let page = try await temporary.store.search(type: "Observation", parameters: [("patient", patient)])
            #expect(page.resources.count == 50)
            #expect(page.total == 298)
            #expect(page.nextOffset == 50)
            let big = try await temporary.store.search(type: "Observation", parameters: [("_count", "10000")])
            #expect(big.resources.count == 298)
            #expect(big.nextOffset == nil)
            let capped = try await temporary.store.search(type: "Claim", parameters: [("_count", "501")])
            #expect(capped.resources.count == 54)
        }

        @Test(arguments: [
            ("Observation", "foo", "bar", FHIRStoreError.Code.unknownParameter),
            ("Condition", "status", "active", .unknownParameter),
            ("Patient", "patient", "p1", .unknownParameter),
            ("Patient", "family:fuzzy", "x", .unknownParameter),
            ("Observation", "code:text", "x", .unknownParameter),
            ("Observation", "_sort", "weight", .unknownParameter),
            ("Observation", "date", "2019-13", .invalidValue),
            ("Observation", "date", "xx2019", .invalidValue),
            ("Observation", "_count", "-1", .invalidValue),
            ("Observation", "_offset", "ten", .invalidValue),
            ("not a type", "_id", "x", .invalidValue),
        ])
        func refusesWhatItCannotAnswer(_ type: String, _ name: String, _ value: String, _ code: FHIRStoreError.Code) async throws {
            let error = try await #require(throws: FHIRStoreError.self) {
                try await store.search(type: type, parameters: [(name, value)])
            }
            #expect(error.code == code)
            #expect(!error.message.isEmpty)
        }

        @Test func unknownParameterErrorListsTheSupportedOnes() async throws {
            let error = try await #require(throws: FHIRStoreError.self) {
                try await store.search(type: "Condition", parameters: [("status", "active")])
            }
            #expect(error.message.contains("clinical-status"))
        }

        @Test func readsByIDAndCountsPerPatient() async throws {
            let patient = try json(try #require(try await store.read(type: "Patient", id: "p1")))
            #expect(patient["birthDate"]?.stringValue == "1980-05-15")
            #expect(try await store.read(type: "Patient", id: "nobody") == nil)
            #expect(try await store.read(type: "Claim", id: "cl1") != nil)
            let counts = try await store.counts(patientID: "p1")
            #expect(counts["Patient"] == 1)
            #expect(counts["Observation"] == 5)
            #expect(counts["Claim"] == 1)
            #expect(try await store.counts(patientID: "p2") == ["Patient": 1])
            #expect(try await store.patientCount() == 2)
            #expect(try await !store.isEmpty)
        }
    }
}

/// A clock tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int

    init(seconds: Int) { value = seconds }

    var seconds: Int {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }

    var now: Date { Date(timeIntervalSince1970: TimeInterval(seconds)) }
}
