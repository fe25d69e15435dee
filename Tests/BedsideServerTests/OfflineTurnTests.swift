import BedsideCore
import BedsideFHIR
import BedsideServer
import BedsideStore
import Foundation
import Testing

/// The product as `swift run bedside` starts it with no model configured: the offline model and
/// the FHIR tools over a seeded embedded store, answering over a live WebSocket.
@Suite struct OfflineTurnTests {
    @Test func aQuestionAboutASeededPatientStreamsAGroundedAnswer() async throws {
        let fhir = try FHIRStore.inMemory()
        try await SyntheticPopulation.seed(into: fhir, patients: 12)
        // Ask about a seeded patient who has conditions.
        let conditions = try await fhir.search(type: "Condition", parameters: [("_count", "1")])
        let condition = try FHIRJSON.parse(try #require(conditions.resources.first))
        let reference = try #require(condition["subject"]?["reference"]?.stringValue)
        let patientID = String(reference.dropFirst("Patient/".count))
        let patient = try FHIRJSON.parse(try #require(try await fhir.read(type: "Patient", id: patientID)))
        let name = try #require(
            patient["name"].flatMap { value -> JSONValue? in
                if case .array(let names) = value { return names.first }
                return nil
            }
        )
        let given = try #require(
            name["given"].flatMap { value -> String? in
                if case .array(let parts) = value { return parts.first?.stringValue }
                return nil
            }
        )
        let family = try #require(name["family"]?.stringValue)

        let store = InMemoryEventStore()
        let runner = AgentTurnRunner(
            model: OfflineClinicalModel(),
            tools: FHIRTools(source: EmbeddedFHIRSource(store: fhir), audit: store)
        )
        let server = try await LiveServer.start(store: store, runner: runner)
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "What conditions does \(given) \(family) have?"))
        let events = try await socket.receiveTurn()
        let types = events.map(\.type)
        #expect(Array(types.prefix(4)) == ["user", "turn", "openai_call", "openai_response"])
        #expect(types.filter { $0 == "tool_call" }.count == 2)
        #expect(types.filter { $0 == "tool_result" }.count == 2)
        #expect(types.filter { $0 == "openai_call" }.count == 3)
        #expect(types.suffix(3) == ["assistant", "openai_response", "turn"])
        #expect(events.first { $0.type == "openai_call" }?["model"]?.stringValue == "bedside-offline")
        #expect(events.first { $0.type == "openai_call" }?["provider"]?.stringValue == "offline")
        let calls = events.filter { $0.type == "tool_call" }
        #expect(calls.map { $0["tool_name"]?.stringValue } == ["find_patients", "search_clinical"])
        #expect(calls[1]["arguments"]?["patient_id"]?.stringValue == patientID)
        let results = events.filter { $0.type == "tool_result" }
        #expect(results.allSatisfy { $0["is_error"] == .bool(false) })
        let deltas = events.filter { $0.type == "assistant" && $0["streaming"] == .bool(true) }
        #expect(deltas.count > 3)
        let answer = try #require(events.last { $0.type == "assistant" }?["content"]?.stringValue)
        #expect(answer.contains("Patient/\(patientID)"))
        #expect(answer.contains("Condition/"))
        let conditionID = try #require(condition["id"]?.stringValue)
        #expect(answer.contains("Condition/\(conditionID)"))
        #expect(events.last?.status == "completed")
        #expect((events.last?["total_tokens"]?.integerValue ?? 0) > 0)

        // The audit lists what the tools read for this session.
        let (status, body) = try await server.get("/sessions/\(session)/audit")
        #expect(status == 200)
        guard case .array(let records)? = try JSONValue.parse(body)["records"] else { throw TestFailure("no records") }
        #expect(records.map { $0["tool"]?.stringValue } == ["find_patients", "search_clinical"])
        #expect(records[1]["patient_ids"] == .array([.string(patientID)]))
        guard case .array(let read)? = records[1]["resources"] else { throw TestFailure("no resources") }
        #expect(read.contains(.string("Condition/\(conditionID)")))
        try await socket.close()
        try await server.stop()
    }
}
