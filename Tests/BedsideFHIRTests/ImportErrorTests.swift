import BedsideCore
import BedsideFHIR
import Foundation
import Testing

extension FHIRTests {
    /// Every class of bad input is refused with the right status and issue code, and stores nothing.
    @Suite struct ImportErrorTests {
        struct Case: Sendable, CustomTestStringConvertible {
            let name: String
            let body: String
            let status: Int
            let code: FHIRImportError.IssueCode
            /// Text the message must contain, naming the problem.
            let mentions: String
            var testDescription: String { name }
        }

        static let patient = #"{"resourceType":"Patient","id":"new-patient"}"#

        static func bundle(_ entries: String..., type: String = "transaction") -> String {
            #"{"resourceType":"Bundle","type":"\#(type)","entry":[\#(entries.joined(separator: ","))]}"#
        }

        static func entry(_ resource: String, fullUrl: String? = nil) -> String {
            let url = fullUrl.map { #""fullUrl":"\#($0)","# } ?? ""
            return #"{\#(url)"resource":\#(resource)}"#
        }

        static let cases: [Case] = [
            Case(name: "not JSON", body: #"{"resourceType": "Patient""#, status: 400, code: .invalid, mentions: "not valid JSON"),
            Case(name: "JSON but not an object", body: "[1, 2]", status: 422, code: .structure, mentions: "array"),
            Case(name: "no resourceType", body: #"{"id":"x"}"#, status: 422, code: .structure, mentions: "resourceType"),
            Case(
                name: "wrong resourceType",
                body: #"{"resourceType":"Observation","id":"o"}"#,
                status: 422,
                code: .invalid,
                mentions: "Observation"
            ),
            Case(
                name: "searchset bundle",
                body: bundle(entry(patient), type: "searchset"),
                status: 422,
                code: .invalid,
                mentions: "searchset"
            ),
            Case(
                name: "no Patient",
                body: bundle(entry(#"{"resourceType":"Observation","id":"o","status":"final"}"#)),
                status: 422,
                code: .invalid,
                mentions: "no Patient"
            ),
            Case(
                name: "two Patients",
                body: bundle(entry(patient), entry(#"{"resourceType":"Patient","id":"second"}"#)),
                status: 422,
                code: .invalid,
                mentions: "2 Patients"
            ),
            Case(
                name: "entry without resource",
                body: bundle(entry(patient), #"{"fullUrl":"urn:uuid:1"}"#),
                status: 422,
                code: .structure,
                mentions: "entry[1]"
            ),
            Case(
                name: "dangling urn:uuid",
                body: bundle(
                    entry(patient, fullUrl: "urn:uuid:aaaa"),
                    entry(#"{"resourceType":"Observation","id":"o","subject":{"reference":"urn:uuid:missing"}}"#)
                ),
                status: 422,
                code: .notFound,
                mentions: "urn:uuid:missing"
            ),
            Case(
                name: "reference to nothing in bundle or store",
                body: bundle(
                    entry(patient),
                    entry(
                        #"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/new-patient"},"performer":[{"reference":"Practitioner/nobody"}]}"#
                    )
                ),
                status: 422,
                code: .notFound,
                mentions: "Practitioner/nobody"
            ),
            Case(
                name: "invalid id",
                body: #"{"resourceType":"Patient","id":"has spaces"}"#,
                status: 422,
                code: .invalid,
                mentions: "invalid id"
            ),
            Case(
                name: "duplicate resource",
                body: bundle(
                    entry(patient),
                    entry(#"{"resourceType":"Observation","id":"o"}"#),
                    entry(#"{"resourceType":"Observation","id":"o"}"#)
                ),
                status: 422,
                code: .invalid,
                mentions: "Observation/o"
            ),
        ]

        @Test(arguments: cases)
        func refusesAndStoresNothing(_ bad: Case) async throws {
            let temporary = try TemporaryStore()
            try await temporary.store.importPatient(try Fixture.data("clinic-bundle", folder: "handwritten"))
            let before = try await temporary.store.statistics()
            let dump = try await temporary.store.dumpForTests()

            let error = try await #require(throws: FHIRImportError.self) {
                try await temporary.store.importPatient(Data(bad.body.utf8))
            }
            #expect(error.status == bad.status)
            #expect(error.code == bad.code)
            #expect(error.message.contains(bad.mentions), "\(error.message)")
            #expect(try await temporary.store.statistics() == before)
            #expect(try await temporary.store.dumpForTests() == dump)
            #expect(try await temporary.store.read(type: "Patient", id: "new-patient") == nil)
        }

        @Test func refusesOversizedInputWith413() async throws {
            let temporary = try TemporaryStore()
            let data = try Fixture.data("patient-margie-hettinger")
            let error = try await #require(throws: FHIRImportError.self) {
                try await temporary.store.importPatient(data, maxBytes: 1_000_000)
            }
            #expect(error.status == 413)
            #expect(error.code == .tooCostly)
            #expect(error.message.contains("1000000"))
            #expect(try await temporary.store.isEmpty)
        }

        @Test func errorRendersAsOperationOutcome() async throws {
            let temporary = try TemporaryStore()
            let error = try await #require(throws: FHIRImportError.self) {
                try await temporary.store.importPatient(Data(#"{"resourceType":"Observation"}"#.utf8))
            }
            let outcome = try json(error.operationOutcome())
            #expect(outcome["resourceType"] == .string("OperationOutcome"))
            let issue = try #require(outcome["issue"].flatMap { if case .array(let issues) = $0 { issues.first } else { nil } })
            #expect(issue["severity"] == .string("error"))
            #expect(issue["code"] == .string("invalid"))
            #expect(issue["diagnostics"] == .string(error.message))
        }

        @Test func referenceToAResourceAlreadyStoredIsAccepted() async throws {
            let temporary = try TemporaryStore()
            try await temporary.store.importPatient(try Fixture.data("clinic-bundle", folder: "handwritten"))
            let body = Self.bundle(
                Self.entry(Self.patient),
                Self.entry(
                    #"{"resourceType":"Observation","id":"linked","subject":{"reference":"Patient/new-patient"},"encounter":{"reference":"Encounter/e1"}}"#
                )
            )
            let result = try await temporary.store.importPatient(Data(body.utf8))
            #expect(result.counts == ["Patient": 1, "Observation": 1])
            let stored = try json(try #require(try await temporary.store.read(type: "Observation", id: "linked")))
            #expect(stored["encounter"]?["reference"] == .string("Encounter/e1"))
        }

        @Test func resourcesWithoutIDsTakeTheURNOrANewID() async throws {
            let temporary = try TemporaryStore()
            let body = Self.bundle(
                Self.entry(#"{"resourceType":"Patient"}"#, fullUrl: "urn:uuid:0f6d3c1e-0000-4000-8000-000000000001"),
                Self.entry(#"{"resourceType":"Observation","subject":{"reference":"urn:uuid:0f6d3c1e-0000-4000-8000-000000000001"}}"#),
                type: "batch"
            )
            let result = try await temporary.store.importPatient(Data(body.utf8))
            #expect(result.patientID == "0f6d3c1e-0000-4000-8000-000000000001")
            let observations = try await temporary.store.search(type: "Observation", parameters: [("patient", result.patientID)])
            #expect(observations.total == 1)
            let observation = try json(try #require(observations.resources.first))
            #expect(observation["id"]?.stringValue?.isEmpty == false)
            #expect(observation["subject"]?["reference"] == .string("Patient/\(result.patientID)"))
        }

        @Test func aBarePatientImports() async throws {
            let temporary = try TemporaryStore()
            let result = try await temporary.store.importPatient(try Fixture.data("patient-ana", folder: "handwritten"))
            #expect(result == ImportResult(patientID: "p2", counts: ["Patient": 1]))
        }
    }
}
