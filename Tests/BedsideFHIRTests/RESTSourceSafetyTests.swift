import BedsideCore
import BedsideFHIR
import Foundation
import Testing

/// What Bedside may do to a FHIR server with its token: read only below the base URL, and write
/// only the imported patient's clinical records and shared resources the server does not have.
@Suite struct RESTSourceSafetyTests {
    let temporary: TemporaryStore
    let lean: String

    init() async throws {
        temporary = try TemporaryStore()
        let data = try Fixture.data("patient-lean-davis")
        try await temporary.store.importPatient(data)
        lean = try Fixture.patientID(data)
    }

    /// Runs `body` against a fake FHIR server over `store`, with a source holding its token; both
    /// are shut down however `body` ends (an HTTP client must be, before it goes).
    func withServer(_ store: FHIRStore, _ body: (FakeFHIRServer, RESTFHIRSource) async throws -> Void) async throws {
        let server = try await FakeFHIRServer(store: store)
        // The server is in-process: what is tested is what is sent, not how fast a loaded machine answers.
        let source = RESTFHIRSource(
            configuration: FHIRServerConfiguration(baseURL: server.baseURL, authentication: .bearer("token-1"), timeout: .seconds(120))
        )
        do {
            try await body(server, source)
        } catch {
            try await source.shutdown()
            await server.stop()
            throw error
        }
        try await source.shutdown()
        await server.stop()
    }

    /// Every request path as it left Bedside stays under `/fhir/`, with no `.` or `..` segment
    /// (before or after percent-decoding).
    static func staysUnderTheBase(_ line: String) -> Bool {
        let path = line.split(separator: " ").dropFirst().first.map { String($0.split(separator: "?", maxSplits: 1)[0]) } ?? ""
        guard path == "/fhir" || path.hasPrefix("/fhir/") else { return false }
        return !path.split(separator: "/", omittingEmptySubsequences: false).contains { segment in
            let decoded = String(segment).removingPercentEncoding ?? String(segment)
            return decoded == "." || decoded == ".." || segment.contains("%2F") || segment.contains("%2f")
        }
    }

    @Test func readsNeverLeaveTheBasePath() async throws {
        try await withServer(temporary.store) { server, source in
            let tools = FHIRTools(source: source)
            let attempts: [(type: String, id: String)] = [
                ("..", "admin"), ("Patient", ".."), ("Patient", "."), ("Patient", "..."), ("..", ".."), (".", "metadata"),
                ("Patient", "../../admin"), ("Patient/..", "x"), ("Patient", "%2e%2e"), ("%2E%2E", "x"), ("Patient", "a/../../b"),
            ]
            for attempt in attempts {
                let output = try await tools.call(
                    "read_resource",
                    arguments: .object(["resource_type": .string(attempt.type), "id": .string(attempt.id)])
                )
                #expect(output.isError, "\(attempt) \(output.content)")
                if (try? await source.resource(type: attempt.type, id: attempt.id)) != nil {
                    Issue.record("\(attempt) read something")
                }
            }
            for patient in ["..", ".", "../admin", "Patient/.."] {
                let output = try await tools.call("patient_summary", arguments: .object(["patient_id": .string(patient)]))
                #expect(output.isError, "\(patient) \(output.content)")
                let search = try await tools.call(
                    "search_clinical",
                    arguments: .object(["patient_id": .string(patient), "resource_type": .string("Condition")])
                )
                #expect(search.isError, "\(patient) \(search.content)")
            }
            await #expect(throws: FHIRServerError.self) { _ = try await source.page(type: "..", parameters: [("x", "1")]) }
            await #expect(throws: FHIRServerError.self) { _ = try await source.page(type: "../admin", parameters: []) }
            // The same tools still read what is there, with '.' inside an id left as it is.
            let read = try await tools.call(
                "read_resource",
                arguments: .object(["resource_type": .string("patient"), "id": .string(lean)])
            )
            #expect(!read.isError && read.content.contains(lean), "\(read.content)")
            #expect(try await source.resource(type: "Observation", id: "a.b-1") == nil)

            let requests = server.requests
            #expect(requests.contains("GET /fhir/Patient/\(lean)"), "\(requests)")
            #expect(requests.contains("GET /fhir/Observation/a.b-1"), "\(requests)")
            #expect(requests.allSatisfy(Self.staysUnderTheBase), "\(requests.filter { !Self.staysUnderTheBase($0) })")
        }
    }

    @Test func pathSegmentsArePercentEncodedAndNeverOnlyDots() {
        #expect(RESTFHIRSource.pathSegment("abc-1.2_x~") == "abc-1.2_x~")
        #expect(RESTFHIRSource.pathSegment("..") == "%2E%2E")
        #expect(RESTFHIRSource.pathSegment(".") == "%2E")
        #expect(RESTFHIRSource.pathSegment("a/../b") == "a%2F..%2Fb")
        #expect(RESTFHIRSource.pathSegment("é?#") == "%C3%A9%3F%23")
    }

    /// A bundle holding a type outside the allow-list sends nothing at all.
    @Test(arguments: ["Subscription", "StructureDefinition", "Consent", "Group", "AuditEvent", "Bundle"])
    func typesOutsideTheAllowListAreRefusedBeforeAnythingIsSent(_ type: String) async throws {
        let remote = try TemporaryStore()
        try await withServer(remote.store) { server, source in
            let body = Data(
                #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"p-1"}},{"resource":{"resourceType":"\#(type)","id":"x-1","patient":{"reference":"Patient/p-1"}}}]}"#
                    .utf8
            )
            let error = try await #require(throws: FHIRImportError.self) { try await source.importPatient(body) }
            #expect(error.status == 422)
            #expect(error.code == .notSupported)
            #expect(error.message.hasPrefix("\(type)/x-1 cannot be imported into the FHIR server at \(server.baseURL)"), "\(error.message)")
            #expect(server.requests.isEmpty, "\(server.requests)")
        }
    }

    /// The audit's finding, against an external server: another patient's Condition in a dummy
    /// patient's bundle never reaches the server, nor does one that reuses her Condition's id.
    @Test func anotherPatientsRecordsOnTheServerAreNotReplaced() async throws {
        let remote = try TemporaryStore()
        try await withServer(remote.store) { server, source in
            try await source.importPatient(try Fixture.data("patient-cris-rath"))
            let victim = "d4519c92-d241-b2b2-7360-291d60be699e"
            let condition = "6c9c829b-157d-3bc5-1793-e3201c71665a"
            let before = try await remote.store.dumpForTests()
            let sent = server.requests.count

            func attack(subject: String) -> Data {
                Data(
                    #"{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","id":"intruder"}},{"resource":{"resourceType":"Condition","id":"\#(condition)","subject":{"reference":"Patient/\#(subject)"},"code":{"text":"See https://evil.example"}}}]}"#
                        .utf8
                )
            }
            let named = try await #require(throws: FHIRImportError.self) { try await source.importPatient(attack(subject: victim)) }
            #expect(named.code == .businessRule)
            #expect(named.message.hasPrefix("Condition/\(condition) belongs to Patient/\(victim) (its subject)"), "\(named.message)")
            #expect(server.requests.count == sent, "nothing is sent")

            let reused = try await #require(throws: FHIRImportError.self) { try await source.importPatient(attack(subject: "intruder")) }
            #expect(reused.status == 422)
            #expect(reused.code == .conflict)
            #expect(
                reused.message
                    == "Condition/\(condition) is already on the FHIR server at \(server.baseURL) as another patient's record, not Patient/intruder's: an import may replace only the imported patient's own resources."
            )
            #expect(reused.patients == ["intruder", victim])
            #expect(server.requests.dropFirst(sent) == ["POST /fhir"], "only the batch read")
            #expect(server.transactions.count == 1)
            #expect(try await remote.store.dumpForTests() == before)
        }
    }

    /// Shared resources go as conditional creates, so the server's own are never overwritten and
    /// two bundles sharing an Organization leave one copy; clinical ones go as PUT.
    @Test func sharedResourcesAreConditionalCreatesAndClinicalOnesAreUpdates() async throws {
        let remote = try TemporaryStore()
        try await withServer(remote.store) { server, source in
            let lean = try Fixture.data("patient-lean-davis")
            let kallie = try Fixture.data("patient-kallie-frami")
            try await source.importPatient(lean)
            let transaction = try #require(server.transactions.first)
            guard case .array(let entries)? = transaction["entry"] else {
                Issue.record("the transaction has no entries")
                return
            }
            for entry in entries {
                let type = entry["resource"]?["resourceType"]?.stringValue ?? ""
                let request = entry["request"]
                if ["Organization", "Practitioner"].contains(type) {
                    #expect(request?["method"] == .string("POST"))
                    #expect(request?["url"] == .string(type))
                    #expect(request?["ifNoneExist"]?.stringValue?.hasPrefix("identifier=") == true, "\(entry)")
                    #expect(entry["resource"]?["id"] == nil)
                    #expect(entry["fullUrl"]?.stringValue?.hasPrefix("urn:uuid:") == true)
                } else {
                    #expect(request?["method"] == .string("PUT"), "\(type)")
                }
            }
            let organizations = try await remote.store.search(type: "Organization", parameters: [])
            #expect(organizations.total == 2)
            // The clinic both patients share (7fb56531…) is found by its identifier, not created again.
            try await source.importPatient(kallie)
            let after = try await remote.store.search(type: "Organization", parameters: [("_count", "100")])
            #expect(after.total == 3)
            #expect(try await remote.store.patientCount() == 2)
            // The second patient's Encounters point at the server's copy of the shared clinic.
            let kallieID = try Fixture.patientID(kallie)
            let encounters = try await remote.store.search(type: "Encounter", parameters: [("patient", kallieID), ("_count", "100")])
            let providers = Set(try encounters.resources.compactMap { try json($0)["serviceProvider"]?["reference"]?.stringValue })
            let stored = Set(try after.resources.compactMap { try json($0)["id"]?.stringValue }.map { "Organization/\($0)" })
            #expect(!providers.isEmpty && providers.isSubset(of: stored), "\(providers)")
        }
    }
}
