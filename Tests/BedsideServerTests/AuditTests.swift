import BedsideCore
import BedsideServer
import BedsideStore
import Foundation
import Testing

/// Tools learn which session, turn and call they serve, and what they record is served at
/// `GET /sessions/{id}/audit`, for that session only.
@Suite struct AuditTests {
    /// A tool that records the patient it "reads" in the audit, with the context it was given.
    struct AuditingTools: Toolset {
        let audit: any AccessAudit

        func definitions() async throws -> [ToolDefinition] {
            [ToolDefinition(name: "count_conditions", description: "Counts conditions.", parameters: ["type": "object"])]
        }

        func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
            let context = try #require(ToolCallContext.current)
            let patient = arguments["patient"]?.stringValue ?? "?"
            try await audit.record(
                AccessRecord(
                    sessionID: context.sessionID,
                    turnID: context.turnID,
                    toolCallID: context.toolCallID,
                    tool: name,
                    patientIDs: [patient],
                    resources: ["Condition/\(patient)-c1"],
                    timeMicros: 1_764_064_322_123_456
                )
            )
            return ToolOutput(content: #"{"active_conditions":1}"#, isError: false)
        }
    }

    @Test func toolReadsAreAuditedPerSession() async throws {
        let store = InMemoryEventStore()
        let model = ScriptedModel([
            [
                .event(
                    .toolCallDelta(
                        ToolCallDelta(index: 0, id: "call-7", name: "count_conditions", argumentsFragment: #"{"patient":"p-1"}"#)
                    )
                ),
                .event(.finish(FinishReason(rawValue: "tool_calls"))),
            ],
            ScriptedModel.answer("One.", usage: .zero),
        ])
        let server = try await LiveServer.start(store: store, runner: AgentTurnRunner(model: model, tools: AuditingTools(audit: store)))
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "Conditions of p-1?"))
        let events = try await socket.receiveTurn()
        #expect(events.last?.status == "completed")
        let turnID = try #require(events.first?["turn_id"]?.stringValue)

        let (status, body) = try await server.get("/sessions/\(session)/audit")
        #expect(status == 200)
        let audit = try JSONValue.parse(body)
        #expect(audit["session_id"]?.stringValue == session)
        guard case .array(let records)? = audit["records"] else { throw TestFailure("no records array") }
        let expected: JSONValue = .object([
            "time": .string("2025-11-25T09:52:02.123456Z"), "turn_id": .string(turnID), "tool_call_id": .string("call-7"),
            "tool": .string("count_conditions"), "patient_ids": .array([.string("p-1")]),
            "resources": .array([.string("Condition/p-1-c1")]),
        ])
        #expect(records == [expected])
        let (_, otherBody) = try await server.get("/sessions/\(newSessionID())/audit")
        #expect(try JSONValue.parse(otherBody)["records"] == .array([]))
        let (badStatus, badBody) = try await server.get("/sessions/x/audit")
        #expect(badStatus == 400)
        #expect(try JSONValue.parse(badBody)["code"] == "invalid_session_id")
        try await socket.close()
        try await server.stop()
    }
}
