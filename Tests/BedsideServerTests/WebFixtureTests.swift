import BedsideCore
import BedsideFHIR
import BedsideServer
import BedsideStore
import Foundation
import Testing

/// The web UI's reducer is tested (node --test) over Web/test/fixtures/offline-turn.jsonl, the
/// stored events of one real offline-model turn. This test runs the same turn on a live server
/// and checks that every event still has the shape the fixture has (type, turn status and
/// member order), so the page and the server cannot drift apart unnoticed.
///
/// `BEDSIDE_WRITE_WEB_FIXTURES=1 swift test --filter WebFixtureTests` rewrites the fixture.
@Suite struct WebFixtureTests {
    static let fixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Web/test/fixtures/offline-turn.jsonl")

    /// "turn/completed: type,session_id,seq,…": what must match between fixture and server.
    static func shape(_ line: String) throws -> String {
        let value = try JSONValue.parse(line)
        guard case .object = value else { throw TestFailure("not an object: \(line)") }
        // Member order as written: JSONValue's object may not keep it, so read keys from the text.
        let keys = try NSRegularExpression(pattern: #"[{,]"([a-z_]+)":"#)
            .matches(in: line, range: NSRange(line.startIndex..., in: line))
            .compactMap { Range($0.range(at: 1), in: line).map { String(line[$0]) } }
        let topLevel = keys.prefix { $0 != "arguments" } + (keys.contains("arguments") ? ["arguments"] : [])
        let kind = value.type == "turn" ? "turn/\(value.status ?? "")" : (value.type ?? "?")
        return "\(kind): \(topLevel.joined(separator: ","))"
    }

    @Test func aLiveOfflineTurnHasTheShapesOfTheWebFixture() async throws {
        let fhir = try FHIRStore.inMemory()
        try await SyntheticPopulation.seed(into: fhir, patients: 12)
        let store = InMemoryEventStore()
        let runner = AgentTurnRunner(
            model: OfflineClinicalModel(deltaInterval: .zero),
            tools: FHIRTools(source: EmbeddedFHIRSource(store: fhir), audit: store)
        )
        let server = try await LiveServer.start(store: store, runner: runner)
        let session = "web-fixture-session"
        let socket = try await server.open(session)
        for (index, question) in ["What conditions does Garcia have?", "Summarize the record of Smith"].enumerated() {
            try await socket.send(Frame.message(session, question, id: "c-\(index + 1)"))
            _ = try await socket.receiveTurn()
        }
        try await socket.close()
        // The stored text itself, member order intact: what replay sends byte for byte.
        let lines = try await store.events(in: try #require(SessionID(session)), after: 0, through: nil, limit: 10_000).map(\.json)
        try await server.stop()

        if ProcessInfo.processInfo.environment["BEDSIDE_WRITE_WEB_FIXTURES"] == "1" {
            try (lines.joined(separator: "\n") + "\n").write(to: Self.fixture, atomically: true, encoding: .utf8)
        }
        let fixture = try String(contentsOf: Self.fixture, encoding: .utf8).split(separator: "\n").map(String.init)
        let live = Set(try lines.map(Self.shape))
        let recorded = Set(try fixture.map(Self.shape))
        #expect(live == recorded, "live only: \(live.subtracting(recorded)); fixture only: \(recorded.subtracting(live))")
        #expect(
            Set(lines.compactMap { try? JSONValue.parse($0).type }).isSuperset(of: [
                "user", "turn", "openai_call", "openai_response", "tool_call", "tool_result", "assistant",
            ])
        )
    }
}
